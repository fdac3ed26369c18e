// The README's first promise, run as a user runs it: `npm run dev` starts a local Kafka and the gateway, the README's
// first curl (taken from the README itself) is answered, its record is in Kafka, and Ctrl-C — a SIGINT to the whole
// process group, as a terminal sends it — stops everything it started. The broker takes free ports and a folder of
// its own (DEV_KAFKA_PORTS, DEV_KAFKA_DIR), so a developer's own `npm run dev` and parallel runs are untouched.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/clients.js';
import { readAll } from '../helpers/kafka.js';
import { portsToListenOnLater } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const SLOW = { timeout: 240_000 };

/** The curl under "Then the first thing to type works", joined from its `\`-continued lines. */
function readmeFirstCurl(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /Then the first thing to type works:\n+```sh\n([\s\S]*?)\n```/.exec(readme)?.[1];
  const command = block
    ?.split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\\\n\s*/g, '');
  if (!command?.startsWith('curl ')) throw new Error(`no first curl found in the README (block: ${block})`);
  return command;
}

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it(
  "npm run dev: the README's first curl is answered, its record is in Kafka, and Ctrl-C stops everything",
  SLOW,
  async () => {
    const { KAFKA_BROKERS: _suiteBroker, ...userEnv } = process.env;
    const curl = readmeFirstCurl();
    expect(curl).toContain('localhost:8080/topics/test-topic1');
    const [port] = await portsToListenOnLater(1);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kgw-dev-test-'));
    const kafkaDir = path.join(folder, 'kafka');
    const dev = spawn('npm', ['run', 'dev'], {
      cwd: ROOT,
      // A process group of its own, as a terminal's foreground job: Ctrl-C signals every process in it.
      detached: true,
      // As a developer's shell: no KAFKA_BROKERS (the suite's own broker's address), so it starts a broker.
      env: { ...userEnv, PORT: String(port), DEV_KAFKA_PORTS: 'free', DEV_KAFKA_DIR: kafkaDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    dev.stdout.on('data', (d) => (log += d));
    dev.stderr.on('data', (d) => (log += d));
    const exited = once(dev, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const pgid = dev.pid!;
    try {
      await waitFor(
        'the dev gateway to answer /readyz 200',
        async () => {
          if (dev.exitCode !== null) throw new Error(`npm run dev exited (${dev.exitCode}):\n${log}`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok;
        },
        { timeoutMs: 180_000, intervalMs: 200 },
      );

      const { stdout } = await promisify(execFile)('bash', ['-c', curl.replace('localhost:8080', `localhost:${port}`)]);
      const answer = JSON.parse(stdout) as { offsets: { partition: number; offset: number }[] };
      expect(answer).toMatchObject({
        key_schema_id: null,
        value_schema_id: null,
        offsets: [{ offset: 0, error_code: null, error: null }],
      });

      const bootstrap = /Kafka is up in [\d.]+ s: PLAINTEXT (127\.0\.0\.1:\d+)/.exec(log)?.[1];
      expect(bootstrap, log).toBeDefined();
      expect(bootstrap).not.toBe('127.0.0.1:9092'); // free ports, not the dev ports
      const read = await readAll(bootstrap!, 'test-topic1', 1);
      expect(read.map((r) => [r.partition, r.offset, r.value?.toString()])).toEqual([
        [answer.offsets[0]!.partition, 0, '{"hello":"kafka"}'],
      ]);
      expect(await (await fetch(`http://127.0.0.1:${port}/topics`)).json()).toEqual(['test-topic1']);
      expect(groupAlive(pgid)).toBe(true);
      process.kill(-pgid, 'SIGINT');
      // Everything it started stops: npm, the script, the gateway and the broker (its folder removed).
      // npm ends as a command stopped by Ctrl-C does (by the signal, after passing it on; or 0).
      const end = await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000, 'still running').unref())]);
      expect(
        [
          [null, 'SIGINT'],
          [0, null],
        ],
        log,
      ).toContainEqual(end);
      await waitFor('every process of the dev group to exit', () => !groupAlive(pgid), { timeoutMs: 30_000 });
      expect(log).toContain('[dev] stopping Kafka...');
      expect(log).not.toMatch(/\[dev\] (stopping Kafka )?failed/);
      expect(fs.existsSync(kafkaDir)).toBe(false);
    } finally {
      // Whatever failed above, nothing of it is left running.
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
      fs.rmSync(folder, { recursive: true, force: true });
    }
  },
);
