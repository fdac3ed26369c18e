// The SSE stream's own logic, without Kafka or sockets: the bytes it writes, ids that follow the position, flow
// control against a reader that pulls (or not), and how it ends.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumedRecord, TopicPartitionOffset } from '../../../src/kafka/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { decodeEventId } from '../../../src/sse/event-id.js';
import { dataLines, type RecordSource, SseStream, type SseStreamOptions } from '../../../src/sse/stream.js';

class FakeSession implements RecordSource {
  readonly pausable: boolean = true;
  paused = false;
  closed = false;
  pauses = 0;
  constructor(readonly positions: TopicPartitionOffset[]) {}
  pause() {
    this.paused = true;
    this.pauses++;
  }
  resume() {
    this.paused = false;
  }
  async close() {
    this.closed = true;
  }
}

const rec = (partition: number, offset: number, value = 'v', key: string | null = 'k'): ConsumedRecord => ({
  topic: 't',
  partition,
  offset,
  timestamp: 1,
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from(value),
  headers: [],
});

function make(opts: Partial<SseStreamOptions> = {}) {
  const closed: string[] = [];
  const stream = new SseStream({
    topic: 't',
    format: 'string',
    match: () => true,
    heartbeatMs: 60_000,
    retryMs: 1500,
    highWaterBytes: 4096,
    slowClientMs: 1000,
    logger: silentLogger,
    onClosed: (r) => closed.push(r),
    ...opts,
  });
  const session = new FakeSession([
    { topic: 't', partition: 0, offset: 10 },
    { topic: 't', partition: 1, offset: 0 },
  ]);
  return { stream, session, sink: stream.sink(), closed };
}

async function readText(stream: SseStream, chunks: number): Promise<string> {
  const reader = stream.body.getReader();
  let text = '';
  for (let i = 0; i < chunks; i++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  reader.releaseLock();
  return text;
}

afterEach(() => vi.useRealTimers());

describe('SseStream', () => {
  it('refuses records until it began (the reader fetches them again), then resumes its session', () => {
    const { stream, session, sink } = make();
    expect(sink.onRecord(rec(0, 10))).toBe(false);
    session.paused = true; // the reader paused itself on the refusal
    stream.begin(session, false);
    expect(session.paused).toBe(false);
    expect(sink.onRecord(rec(0, 10))).toBe(true);
  });

  it('writes retry once, subscribed with the start id, then records whose ids carry every partition', async () => {
    const { stream, session, sink } = make();
    stream.begin(session, true);
    sink.onRecord(rec(0, 10, 'a'));
    sink.onRecord(rec(1, 0, 'b'));
    const text = await readText(stream, 1);
    const blocks = text.split('\n\n').filter(Boolean);
    expect(blocks[0]).toBe('retry: 1500');
    expect(blocks[1]).toMatch(/^id: 1\.\S+\nevent: subscribed\ndata: \{"topic":"t","resumed":true,"positions":/);
    const ids = blocks.map((b) => /^id: (\S+)/.exec(b)?.[1]).filter(Boolean) as string[];
    expect(ids.map((id) => Object.fromEntries(decodeEventId('t', id)))).toEqual([
      { 0: 10, 1: 0 },
      { 0: 11, 1: 0 },
      { 0: 11, 1: 1 },
    ]);
    expect(blocks[2]).toContain('event: record\ndata: {"topic":"t","partition":0,"offset":10');
    expect(blocks[2]).toContain('"value":"a"');
  });

  it('skips a record below the position (a refetch) and moves the position past a filtered one', async () => {
    const { stream, session, sink } = make({ match: (k) => k?.toString() === 'yes' });
    stream.begin(session, false);
    expect(sink.onRecord(rec(0, 9, 'old', 'yes'))).toBe(true);
    expect(sink.onRecord(rec(0, 10, 'skip', 'no'))).toBe(true);
    expect(sink.onRecord(rec(0, 11, 'keep', 'yes'))).toBe(true);
    const text = await readText(stream, 1);
    expect(text).not.toContain('"old"');
    expect(text).not.toContain('"skip"');
    const last = [...text.matchAll(/^id: (\S+)$/gm)].at(-1)![1]!;
    expect(decodeEventId('t', last).get(0)).toBe(12);
  });

  it('pauses its session above the high water, resumes at half, and cuts a reader that stays above', async () => {
    vi.useFakeTimers();
    let destroyed = 0;
    const { stream, session, sink, closed } = make({ destroyConnection: () => destroyed++ });
    stream.begin(session, false);
    const big = 'x'.repeat(1500);
    let i = 10;
    while (!session.paused) expect(sink.onRecord(rec(0, i++, big))).toBe(true);
    expect(stream.queuedBytes).toBeGreaterThan(4096);
    // Paused: the session delivers nothing more (a record offered anyway is refused, to be fetched again).
    expect(sink.onRecord(rec(0, i, big))).toBe(false);
    // The reader pulls: below half the high water the session resumes and the slow timer is off.
    await readText(stream, 1);
    expect(stream.queuedBytes).toBeLessThanOrEqual(2048);
    expect(session.paused).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect(closed).toEqual([]);
    // Above again and nobody reads: cut after slowClientMs, connection dropped, session closed.
    while (!session.paused) sink.onRecord(rec(0, i++, big));
    await vi.advanceTimersByTimeAsync(999);
    expect(closed).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(closed).toEqual(['slow']);
    expect(destroyed).toBe(1);
    expect(session.closed).toBe(true);
    expect(stream.queuedBytes).toBe(0);
  });

  it('sends a keep-alive comment every heartbeatMs', async () => {
    vi.useFakeTimers();
    const { stream, session } = make({ heartbeatMs: 100 });
    stream.begin(session, false);
    await vi.advanceTimersByTimeAsync(350);
    const text = await readText(stream, 1);
    expect(text.match(/^: keep-alive$/gm)).toHaveLength(3);
  });

  it('ends gracefully: what is queued is still read, then the body ends and the session is closed', async () => {
    const { stream, session, sink, closed } = make();
    stream.begin(session, false);
    sink.onRecord(rec(0, 10, 'last'));
    stream.end('shutdown');
    expect(session.closed).toBe(true);
    const reader = stream.body.getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    expect(text).toContain('"value":"last"');
    expect(closed).toEqual(['shutdown']);
  });

  it('closes a session that arrives after the client left', async () => {
    const { stream, session, closed } = make();
    await stream.body.cancel();
    expect(closed).toEqual(['client']);
    stream.begin(session, false);
    expect(session.closed).toBe(true);
  });
});

describe('SseStream on the shared reader (cannot pause)', () => {
  class Shared extends FakeSession {
    override readonly pausable = false;
  }

  it('replays what arrived before it began, keeps only its partitions, and ends (not pauses) past its allowance', async () => {
    const { stream, closed } = make({ sharedOverflowBytes: 3000 });
    const shared = new Shared([{ topic: 't', partition: 0, offset: 5 }]);
    const sink = stream.sharedSink();
    sink.onRecord(rec(0, 5, 'early'));
    stream.begin(shared, false);
    sink.onRecord(rec(1, 0, 'other partition'));
    const big = 'x'.repeat(1500);
    let i = 6;
    // Over the high water (4096) it still takes records, up to 3000 bytes more: a fetch arrives all at once.
    while (stream.queuedBytes <= 4096) sink.onRecord(rec(0, i++, big));
    expect(shared.closed).toBe(false);
    while (stream.queuedBytes <= 4096 + 3000) sink.onRecord(rec(0, i++, big));
    expect(shared.closed).toBe(true); // ended: the shared reader went on for the others
    sink.onRecord(rec(0, 12, 'after the end'));
    const reader = stream.body.getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    expect(text).toContain('"value":"early"');
    expect(text).not.toContain('other partition');
    expect(text).not.toContain('after the end');
    // Its last id says where its own reader goes on after the reconnect: right after the last event sent.
    const offsets = [...text.matchAll(/"offset":(\d+)/g)].map((m) => Number(m[1]));
    const last = [...text.matchAll(/^id: (\S+)$/gm)].at(-1)![1]!;
    expect(decodeEventId('t', last).get(0)).toBe(offsets.at(-1)! + 1);
    expect(closed).toEqual(['slow']);
  });
});

describe('SseStream: more early records than it holds', () => {
  it('ends after its subscribed event instead of leaving a gap (the reconnect reads from that id)', async () => {
    const { stream, closed } = make();
    const shared = new (class extends FakeSession {
      override readonly pausable = false;
    })([{ topic: 't', partition: 0, offset: 0 }]);
    const sink = stream.sharedSink();
    for (let i = 0; i <= 10_000; i++) sink.onRecord(rec(0, i));
    stream.begin(shared, false);
    const reader = stream.body.getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    expect(text).toContain('event: subscribed');
    expect(text).not.toContain('event: record');
    expect(closed).toEqual(['slow']);
  });
});

describe('dataLines', () => {
  it('splits a multi-line payload into data lines that SSE joins back with \\n', () => {
    expect(dataLines('{"a":1}')).toBe('{"a":1}');
    expect(dataLines('{\r\n  "a": 1\n}')).toBe('{\ndata:   "a": 1\ndata: }');
  });
});
