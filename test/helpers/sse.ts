// A small Server-Sent Events test client over node:http: parses the stream as the WHATWG spec says (fields, comments,
// multi-line data, ids), records everything, and waits on events (never on sleeps). `paused` opens a stream that is
// never read (a slow reader).
import http from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
  /** The last event id in force when this event was dispatched (EventSource's lastEventId). */
  id: string;
}

export interface SseRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: { name: string; value: string | null }[];
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  lastEventId = '';
  ended = false;
  private buf = '';
  private dataLines: string[] | undefined;
  private eventType = '';
  /** The spec's "last event ID buffer": it becomes lastEventId only when an event is dispatched (a cut event never). */
  private idBuffer = '';
  private waiters: Array<() => void> = [];

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly res: http.IncomingMessage,
    /** The body when the answer is not a stream (errors). */
    readonly text: Promise<string>,
  ) {}

  /** GET `url`; resolves once the response head arrived (an error answer: `status` ≠ 200 and its body in `text`). */
  static open(url: string, opts: { headers?: Record<string, string>; paused?: boolean } = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { Accept: 'text/event-stream', ...opts.headers } }, (res) => {
        let body = '';
        let resolveText!: (s: string) => void;
        const text = new Promise<string>((r) => (resolveText = r));
        const c = new SseClient(res.statusCode ?? 0, res.headers, res, text);
        res.setEncoding('utf8');
        const done = () => {
          c.ended = true;
          resolveText(body);
          c.wake();
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
        if (res.statusCode !== 200) res.on('data', (d: string) => (body += d));
        else if (opts.paused) res.pause();
        else res.on('data', (d: string) => c.feed(d));
        resolve(c);
      });
      req.on('error', reject);
    });
  }

  get records(): SseRecord[] {
    return this.events.filter((e) => e.event === 'record').map((e) => JSON.parse(e.data) as SseRecord);
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer;
      if (this.dataLines !== undefined)
        this.events.push({ event: this.eventType || 'message', data: this.dataLines.join('\n'), id: this.lastEventId });
      this.dataLines = undefined;
      this.eventType = '';
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') (this.dataLines ??= []).push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id') this.idBuffer = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `cond()` holds (checked after every chunk), or fails after `timeoutMs` saying what it waited for. */
  async until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `SSE: timed out waiting for ${what} (${this.records.length} records, ${this.events.length} events, ended: ${this.ended})`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  waitRecords(n: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.records.length >= n, `${n} records`, timeoutMs);
  }

  /** Start reading a stream opened `paused`. */
  resume(): void {
    this.res.on('data', (d: string) => this.feed(d));
    this.res.resume();
  }

  close(): void {
    this.res.destroy();
  }
}
