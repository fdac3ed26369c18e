// A v3 streaming produce client of the tests' own, on node:http: writes record objects into one chunked request
// while reading the reports as they come (full duplex), and can stop reading or hang up on purpose.
import http from 'node:http';

export interface StreamClient {
  /** Writes one chunk; resolves when the socket took it (waits for 'drain' when the gateway holds back). */
  write(text: string): Promise<void>;
  /** Ends the request body. */
  end(): void;
  /** Reports parsed so far, in arrival order. */
  readonly reports: Record<string, unknown>[];
  /** Resolves with the HTTP status once the response headers arrived. */
  readonly status: Promise<number>;
  /** Resolves when the response ended (or the connection closed). */
  readonly done: Promise<void>;
  /** Stops reading the response (the socket's receive buffer then fills up). */
  pauseReading(): void;
  resumeReading(): void;
  /** Hangs up: destroys the connection. */
  destroy(): void;
  /** Resolves once `n` reports arrived (or rejects after `timeoutMs`). */
  waitReports(n: number, timeoutMs?: number): Promise<void>;
}

export function openStream(url: string, path: string, headers: Record<string, string> = {}): StreamClient {
  const reports: Record<string, unknown>[] = [];
  let pending = '';
  let waiters: { n: number; resolve: () => void }[] = [];
  const req = http.request(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', ...headers },
  });
  let res: http.IncomingMessage | undefined;
  /** pauseReading() may come before the response headers do (they wait for the first record's report). */
  let paused = false;
  const status = new Promise<number>((resolve, reject) => {
    req.once('response', (r) => {
      res = r;
      resolve(r.statusCode ?? 0);
    });
    req.once('error', reject);
  });
  status.catch(() => {});
  const done = new Promise<void>((resolve) => {
    req.once('close', () => resolve());
    req.once('response', (r) => {
      r.setEncoding('utf8');
      r.on('data', (d: string) => {
        pending += d;
        let i = pending.indexOf('\r\n');
        while (i >= 0) {
          const line = pending.slice(0, i);
          pending = pending.slice(i + 2);
          if (line.trim() !== '') reports.push(JSON.parse(line) as Record<string, unknown>);
          i = pending.indexOf('\r\n');
        }
        waiters = waiters.filter((w) => {
          if (reports.length >= w.n) w.resolve();
          return reports.length < w.n;
        });
      });
      if (paused) r.pause();
      r.on('end', () => {
        if (pending.trim() !== '') reports.push(JSON.parse(pending) as Record<string, unknown>);
        resolve();
      });
      r.on('error', () => resolve());
    });
  });
  req.on('error', () => {});
  return {
    reports,
    status,
    done,
    write: (text) =>
      new Promise((resolve, reject) => {
        if (req.write(text)) return resolve();
        const onDrain = () => {
          req.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          req.off('drain', onDrain);
          reject(new Error('connection closed while writing'));
        };
        req.once('drain', onDrain).once('close', onClose);
      }),
    end: () => req.end(),
    pauseReading: () => {
      paused = true;
      res?.pause();
    },
    resumeReading: () => {
      paused = false;
      res?.resume();
    },
    destroy: () => req.destroy(),
    waitReports: (n, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (reports.length >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`only ${reports.length} of ${n} reports after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}
