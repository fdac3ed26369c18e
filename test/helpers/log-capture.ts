// A pino logger that keeps every line in memory, for tests that assert what the gateway logged
// (startGateway(config, { logger })).
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [k: string]: unknown;
}

export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
  /** Every line as written (to search for secrets). */
  text(): string;
  /** Lines at warn (40) or above. */
  warnings(): LogLine[];
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function captureLog(level: pino.LevelWithSilent = 'debug'): CapturedLog {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) {
        if (!l.trim()) continue;
        raw.push(l);
        try {
          lines.push(JSON.parse(l) as LogLine);
        } catch {
          lines.push({ level: 0, msg: l });
        }
      }
      cb();
    },
  });
  // Synchronous enough for tests: pino writes each line to the stream as it logs.
  const logger = pino({ level, base: { service: 'kafka-gateway' } }, stream);
  return { logger, lines, text: () => raw.join('\n'), warnings: () => lines.filter((l) => l.level >= LEVEL.warn) };
}
