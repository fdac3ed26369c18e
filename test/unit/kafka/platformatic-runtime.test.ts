// @platformatic/kafka needs Node ≥ 22.22 (docs/runtime.md). A gateway on it started on an older Node stops at once
// with a message that names KAFKA_CLIENT=kafkajs as the way out, instead of loading the library and failing later;
// on kafkajs the same Node still starts. The end-to-end cases run `src/main.ts` in a child process whose
// process.versions.node is made to read 22.21.1 before anything loads (the only way to be that Node here).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MIN_NODE } from '../../../scripts/node-runtime.mjs';
import { PLATFORMATIC_MIN_NODE, platformaticRuntimeProblem } from '../../../src/kafka/platformatic-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OLD_NODE = '22.21.1';
const pretendNode = (v: string) =>
  `data:text/javascript,Object.defineProperty(process.versions,'node',{value:${JSON.stringify(v)}})`;

describe('platformaticRuntimeProblem', () => {
  it.each(['22.22.0', '22.23.5', '23.0.0', '24.0.0', '24.22.3', '26.1.0'])('%s runs the library', (v) => {
    expect(platformaticRuntimeProblem(v)).toBeUndefined();
  });

  it.each(['22.21.1', '22.15.0', '20.20.2', '18.0.0'])('%s does not, and the message says what to do', (v) => {
    const problem = platformaticRuntimeProblem(v);
    expect(problem).toContain(`this is ${v}`);
    expect(problem).toContain('22.22');
    expect(problem).toContain('KAFKA_CLIENT=kafkajs');
  });

  it("is the project's floor too (the default client): every Node the scripts accept runs the library", () => {
    expect(PLATFORMATIC_MIN_NODE).toBe(MIN_NODE);
    expect(platformaticRuntimeProblem(MIN_NODE)).toBeUndefined();
  });

  it("is the library's own floor (its package.json `engines`)", () => {
    const engines = JSON.parse(readFileSync(join(root, 'node_modules/@platformatic/kafka/package.json'), 'utf8'))
      .engines.node as string;
    expect(engines.split('||')[0]!.trim()).toBe(`>= ${PLATFORMATIC_MIN_NODE}`);
  });
});

/** Runs src/main.ts as if on `node` (KAFKA_BROKERS points nowhere: nothing here needs Kafka). */
function startMain(node: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', pretendNode(node), '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: '127.0.0.1:9',
      HOST: '127.0.0.1',
      PORT: '0',
      AUTH_MODE: 'none',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

describe(`a gateway started on Node ${OLD_NODE}`, () => {
  it('on @platformatic/kafka: exits 1 before listening, naming KAFKA_CLIENT=kafkajs', async () => {
    const { child, output } = startMain(OLD_NODE, { KAFKA_CLIENT: 'platformatic' });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, output()).toBe(1);
    expect(output()).toContain(`kafka-gateway: failed to start: ${platformaticRuntimeProblem(OLD_NODE)}`);
    expect(output()).not.toContain('gateway listening');
  }, 30_000);

  it('on kafkajs: starts and listens (the way out works)', async () => {
    const { child, output } = startMain(OLD_NODE, { KAFKA_CLIENT: 'kafkajs' });
    try {
      const exited = once(child, 'exit').then(() => 'exited');
      const deadline = Date.now() + 25_000;
      while (!output().includes('gateway listening') && Date.now() < deadline) {
        const r = await Promise.race([exited, new Promise((res) => setTimeout(res, 100, 'waiting'))]);
        if (r === 'exited') break;
      }
      expect(output()).toContain('gateway listening');
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
