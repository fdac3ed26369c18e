import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/**
 * One pino logger per process. Secrets never reach it: the redact paths below cover headers and
 * settings that carry credentials, and request logging never prints query strings (WS tokens).
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'kafka-gateway' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["sec-websocket-protocol"]',
        'headers.authorization',
        '*.password',
        '*.token',
        '*.access_token',
      ],
      censor: '[redacted]',
    },
    ...(config.LOG_FORMAT === 'pretty'
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
  });
}

/** A logger that prints nothing (tests that build the app in-process). */
export const silentLogger: Logger = pino({ level: 'silent' });
