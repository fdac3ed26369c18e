// Gateway replicas as separate processes (what `npx tsx src/main.ts` runs) and a round-robin load balancer of the
// tests' own in front of them: no stickiness, each request (and each WebSocket upgrade) goes to the next live replica.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { YOUNG_GENERATION_FLAG } from '../../src/young-generation.js';
import { testKafkaClientEnv } from './kafka-client-choice.js';
import { waitFor } from './wait.js';

export interface Replica {
  url: string;
  child: ChildProcess;
  /** Every JSON log line the replica printed so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM (graceful) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the replica dies with whatever it held. */
  kill(): Promise<void>;
}

/**
 * Starts `src/main.ts` (or `entry`, a built gateway, run as it ships) in a child process with `env` on top of the
 * test environment; resolves once it listens and its /readyz answers 200 (it reached Kafka).
 */
export async function spawnReplica(env: Record<string, string>, timeoutMs = 60_000, entry?: string): Promise<Replica> {
  const args = entry ? [YOUNG_GENERATION_FLAG, entry] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...testKafkaClientEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit');
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  try {
    const url = await listening(child, lines, logs, timeoutMs);
    await waitFor(
      `replica ${url} to answer /readyz 200`,
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok,
      {
        timeoutMs,
        intervalMs: 100,
      },
    );
    return { url, child, logs, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
  } catch (e) {
    // Not started as asked: never leave the process running (it would keep vitest from exiting).
    await end('SIGKILL');
    throw e;
  }
}

/** The URL the replica's "gateway listening" line names; rejects if it exits or is silent for `timeoutMs`. */
function listening(
  child: ChildProcess,
  lines: ReturnType<typeof createInterface>,
  logs: Record<string, unknown>[],
  timeoutMs: number,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start in ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code} before listening`));
    });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // not a log line
      }
      logs.push(entry);
      if (entry.msg === 'gateway listening' && typeof entry.url === 'string') {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
}

/**
 * Starts one replica per `env`, all at once. If any fails to start, the ones that did are stopped before the error
 * is thrown (a replica left running kept vitest from exiting after a failed beforeAll).
 */
export async function spawnReplicas(envs: Record<string, string>[]): Promise<Replica[]> {
  const started = await Promise.allSettled(envs.map((env) => spawnReplica(env)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<Replica>).value);
}

export interface RoundRobinProxy {
  url: string;
  /** How many requests each target got, by target URL. */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

/**
 * An ordinary round-robin load balancer: every request goes to the next target (no cookies, no affinity); a target
 * that refuses the connection is skipped for that request (like a health-checked balancer), so a killed replica's
 * callers land on the others. A request whose connection was reset before an answer came is passed on to the next
 * target too, as nginx does for a GET; with `retryAfterReset: false` the caller's connection is cut instead (the
 * request may have reached the replica: a `GET records` there has already advanced its instance). Streams bodies
 * both ways (SSE included) and tunnels WebSocket upgrades: when either end of a tunnel closes, the other is closed
 * once what it was sent is written, and close() ends every tunnel still open.
 */
export async function roundRobinProxy(
  targets: string[],
  { retryAfterReset = true }: { retryAfterReset?: boolean } = {},
): Promise<RoundRobinProxy> {
  let next = 0;
  const counts = new Map<string, number>();
  const pick = (skip: Set<string>): string | undefined => {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(next + i) % targets.length]!;
      if (!skip.has(t)) {
        next = (next + i + 1) % targets.length;
        return t;
      }
    }
    return undefined;
  };
  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, tried: Set<string>) => {
    const target = pick(tried);
    if (!target) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 502, message: 'no replica reachable' }));
      return;
    }
    tried.add(target);
    const u = new URL(target);
    const out = http.request(
      { host: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        counts.set(target, (counts.get(target) ?? 0) + 1);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        res.on('close', () => up.destroy());
        // A replica that dies mid-answer (a stream) drops the client's connection too, as a real balancer does;
        // pipe() alone would leave the client waiting forever on a response that never ends.
        up.on('close', () => {
          if (!up.complete) res.destroy();
        });
      },
    );
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (!res.headersSent && (e.code === 'ECONNREFUSED' || (retryAfterReset && e.code === 'ECONNRESET')))
        forward(req, body, res, tried);
      else res.destroy();
    });
    out.end(body);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, new Set()));
  });
  // Upgraded connections leave the HTTP server's bookkeeping (closeAllConnections does not see them), yet
  // server.close() waits for them: close() ends them itself.
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex, head) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const target = pick(new Set());
    if (!target) return socket.destroy();
    const u = new URL(target);
    const out = http.request({
      host: u.hostname,
      port: u.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    out.on('upgrade', (up, upSocket, upHead) => {
      const head0 = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2) head0.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      socket.write(`${head0.join('\r\n')}\r\n\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      upSocket.on('error', () => socket.destroy());
      socket.on('error', () => upSocket.destroy());
      // A pipe only ends the other side's writing: the client's side, no longer read once the replica's side
      // closed, would stay half-open for good (and keep close() waiting). Close each side when the other is gone.
      upSocket.on('close', () => closeAfterWrites(socket));
      socket.on('close', () => closeAfterWrites(upSocket));
    });
    out.on('response', (r) => {
      socket.write(`HTTP/1.1 ${r.statusCode} ${r.statusMessage}\r\nconnection: close\r\n\r\n`);
      closeAfterWrites(socket);
    });
    out.on('error', () => socket.destroy());
    out.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: async () => {
      server.closeAllConnections();
      for (const t of tunnels) t.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Ends `socket` and destroys it once what was written to it has gone out (its peer may never end its side). */
function closeAfterWrites(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end(() => socket.destroy());
}
