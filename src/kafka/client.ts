/**
 * Builds the one kafkajs `Kafka` instance of the process from config: brokers, TLS and SASL options are
 * assembled once here (the TLS and SASL options serve @platformatic/kafka too: platformatic-client.ts). Nothing
 * outside src/kafka/ imports kafkajs, and this file only its types: createKafka loads it (kafkajs-library.ts).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions, Kafka as KafkaClient } from 'kafkajs';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { kafkajs } from './kafkajs-library.js';
import { createOAuthTokenProvider } from './oauth.js';

export type KafkaSettings = Pick<
  Config,
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SSL_CERT_FILE'
  | 'KAFKA_SSL_KEY_FILE'
  | 'KAFKA_SSL_KEY_PASSWORD'
  | 'KAFKA_SSL_REJECT_UNAUTHORIZED'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
  | 'KAFKA_OAUTH_TOKEN_URL'
  | 'KAFKA_OAUTH_CLIENT_ID'
  | 'KAFKA_OAUTH_CLIENT_SECRET'
  | 'KAFKA_OAUTH_SCOPE'
  | 'KAFKA_CONNECTION_TIMEOUT_MS'
  | 'KAFKA_REQUEST_TIMEOUT_MS'
>;

/**
 * TLS to the brokers: on when KAFKA_SSL or any KAFKA_SSL_*_FILE is set. KAFKA_SSL_CA_FILE replaces the system CAs;
 * cert + key = mTLS (the key may be encrypted: KAFKA_SSL_KEY_PASSWORD). Verification stays on unless
 * KAFKA_SSL_REJECT_UNAUTHORIZED=false. Files are read once, here: an unreadable one stops the start-up.
 */
export function tlsOptions(c: KafkaSettings): ConnectionOptions | boolean | undefined {
  const anyFile = c.KAFKA_SSL_CA_FILE || c.KAFKA_SSL_CERT_FILE || c.KAFKA_SSL_KEY_FILE;
  if (!anyFile && !c.KAFKA_SSL) return undefined;
  const opts: ConnectionOptions = { rejectUnauthorized: c.KAFKA_SSL_REJECT_UNAUTHORIZED };
  if (c.KAFKA_SSL_CA_FILE) opts.ca = [readPem('KAFKA_SSL_CA_FILE', c.KAFKA_SSL_CA_FILE)];
  if (c.KAFKA_SSL_CERT_FILE) opts.cert = readPem('KAFKA_SSL_CERT_FILE', c.KAFKA_SSL_CERT_FILE);
  if (c.KAFKA_SSL_KEY_FILE) opts.key = readPem('KAFKA_SSL_KEY_FILE', c.KAFKA_SSL_KEY_FILE);
  if (c.KAFKA_SSL_KEY_PASSWORD) opts.passphrase = c.KAFKA_SSL_KEY_PASSWORD;
  if (opts.key !== undefined && /ENCRYPTED/.test(String(opts.key)) && !c.KAFKA_SSL_KEY_PASSWORD)
    throw new ConfigError(
      'KAFKA_SSL_KEY_FILE: the key is encrypted; set KAFKA_SSL_KEY_PASSWORD (or KAFKA_SSL_KEY_PASSWORD_FILE)',
    );
  if (opts.key !== undefined) {
    // A wrong passphrase or a key that does not match the certificate would otherwise fail every connection later.
    try {
      createSecureContext({
        cert: opts.cert,
        key: opts.key,
        ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
      });
    } catch (e) {
      throw new ConfigError(
        `KAFKA_SSL_KEY_FILE: cannot use the client key and certificate (${(e as Error).message.split('\n')[0]})`,
      );
    }
  }
  return opts;
}

function readPem(name: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${name}: cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(`${name}: '${file}' is not a PEM file`);
  return text;
}

export function saslOptions(c: KafkaSettings): SASLOptions | undefined {
  switch (c.KAFKA_SASL_MECHANISM) {
    case undefined:
      return undefined;
    case 'oauthbearer': {
      const provider = createOAuthTokenProvider({
        tokenUrl: c.KAFKA_OAUTH_TOKEN_URL!,
        clientId: c.KAFKA_OAUTH_CLIENT_ID!,
        clientSecret: c.KAFKA_OAUTH_CLIENT_SECRET!,
        scope: c.KAFKA_OAUTH_SCOPE,
      });
      return { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await provider() }) };
    }
    default:
      return {
        mechanism: c.KAFKA_SASL_MECHANISM,
        username: c.KAFKA_SASL_USERNAME!,
        password: c.KAFKA_SASL_PASSWORD!,
      } as SASLOptions;
  }
}

/**
 * kafkajs's errors while connecting (TLS, SASL, OAuth, refused or closed connections) repeat at every retry; the
 * availability tracker says why the cluster is unreachable in one line instead, so these are debug lines.
 */
const CONNECT_FAILURE =
  /^(Connection error|Connection timeout|Failed to connect|Closed connection|Connection closed by the server)|authentication failed|^OAuth token request failed|SASL state/;

/** kafkajs log levels → pino; kafkajs is chatty at INFO, so only its warnings and errors are kept. */
function kafkaLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const { logLevel } = kafkajs();
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      // kafkajs puts SASL/broker details in these entries; drop anything credential-shaped.
      delete (rest as Record<string, unknown>).sasl;
      // kafkajs logs every error *response* (unknown topic, coordinator loading...) at ERROR and then retries it;
      // what finally fails reaches us as an error value, so these are debug lines. Retries of the idempotent
      // producer are bounded on purpose: PRODUCE_TIMEOUT_MS and the availability tracker decide, not kafkajs.
      if (message.startsWith('Response ') || message.startsWith('Limiting retries') || CONNECT_FAILURE.test(message))
        log.debug(rest, message);
      else if (level === logLevel.ERROR) log.error(rest, message);
      else if (level === logLevel.WARN) log.warn(rest, message);
      else log.debug(rest, message);
    };
}

export function createKafka(c: KafkaSettings, logger: Logger): KafkaClient {
  const ssl = tlsOptions(c);
  const sasl = saslOptions(c);
  const { Kafka, logLevel } = kafkajs();
  return new Kafka({
    clientId: c.KAFKA_CLIENT_ID,
    brokers: c.KAFKA_BROKERS,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: c.KAFKA_CONNECTION_TIMEOUT_MS,
    authenticationTimeout: c.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: c.KAFKA_REQUEST_TIMEOUT_MS,
    // Our own availability tracker answers 503 quickly; kafkajs's retries stay short so a dead cluster is noticed.
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}
