// A small kgw.v1 WebSocket test client: records every frame, waits on frames (never on sleeps), and a gateway
// factory with consumer timings short enough for group rebalances to take about a second.
import WebSocket from 'ws';
import type { Gateway } from '../../src/server.js';
import { startTestGateway } from './gateway.js';
import { waitFor } from './wait.js';

/** Consumer timings for tests (production defaults are 30 s / 3 s / 500 ms). The broker's minimum session is 6 s. */
export const FAST_CONSUMERS = {
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
  KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS: '300',
  KAFKA_CONSUMER_MAX_WAIT_MS: '100',
};

export function startWsGateway(env: Record<string, string> = {}): Promise<Gateway> {
  return startTestGateway({ ...FAST_CONSUMERS, ...env });
}

export function wsUrl(gw: Gateway | string, pathAndQuery = '/ws'): string {
  const base = typeof gw === 'string' ? gw : gw.url;
  return base.replace(/^http/, 'ws') + pathAndQuery;
}

// Frames are untyped JSON in tests.
export type Frame = Record<string, any>;

export interface RecordFrame extends Frame {
  type: 'record';
  id: string;
  topic: string;
  partition: number;
  offset: number;
  key: unknown;
  value: unknown;
}

export class WsClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? { type: '(binary)' } : (JSON.parse(data.toString()) as Frame));
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.wake();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => {});
  }

  /** Opens a socket (subprotocol kgw.v1 unless `protocols` says otherwise). */
  static open(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WsClient> {
    const ws = new WebSocket(url, opts.protocols ?? ['kgw.v1'], {
      headers: opts.headers ?? {},
      perMessageDeflate: false,
    });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          reject(
            Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers }),
          ),
        );
      });
      ws.once('error', reject);
    });
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame matching `pred` (already received or arriving within the timeout). */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 30_000, what = 'frame'): Promise<Frame> {
    let found: Frame | undefined;
    await this.until(() => (found = this.frames.find(pred)) !== undefined, timeoutMs, what);
    return found!;
  }

  /** Resolves once `cond()` holds (re-checked on every frame and on close). */
  until(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** Sends a subscribe frame and waits for its `subscribed` (or throws with its `error`). */
  async subscribe(frame: Frame, timeoutMs = 60_000): Promise<Frame> {
    this.send({ type: 'subscribe', ...frame });
    const reply = await this.waitFor(
      (f) => f.id === frame.id && (f.type === 'subscribed' || f.type === 'error'),
      timeoutMs,
      `subscribed ${frame.id}`,
    );
    if (reply.type === 'error') throw Object.assign(new Error(`${reply.code}: ${reply.message}`), { frame: reply });
    return reply;
  }

  records(id?: string): RecordFrame[] {
    return this.frames.filter((f): f is RecordFrame => f.type === 'record' && (id === undefined || f.id === id));
  }

  errors(): Frame[] {
    return this.frames.filter((f) => f.type === 'error');
  }

  /** The newest assignment of subscription `id` (from `subscribed`, then `assignment` frames). */
  assignment(id: string): Array<{ topic: string; partition: number }> {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.id !== id) continue;
      if (f.type === 'assignment') return f.current;
      if (f.type === 'subscribed') return f.assignment;
    }
    return [];
  }

  ack(id: string, r: { topic: string; partition: number; offset: number }): void {
    this.send({ type: 'ack', id, topic: r.topic, partition: r.partition, offset: r.offset });
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
    return this.closed;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Polls `cond` (for state that frames do not signal, e.g. gateway stats); throws after `timeoutMs`. See ./wait.ts. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  await waitFor(what, cond, { timeoutMs, intervalMs: 25 });
}
