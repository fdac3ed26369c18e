/**
 * What every @platformatic/kafka client of the gateway shares (KAFKA_CLIENT=platformatic): the connection options
 * (brokers, TLS, SASL; built from the same settings as kafkajs's in client.ts), the lazy load of the library, and
 * the translation of its errors into the shape errors.ts classifies (kafkajs's names and `type`s), so there is
 * still one classification of Kafka errors.
 */
import { createRequire } from 'node:module';
import type { BaseOptions, ConnectionOptions } from '@platformatic/kafka';
import { type KafkaSettings, saslOptions, tlsOptions } from './client.js';
import { protocolType } from './errors.js';

export type PlatformaticLibrary = typeof import('@platformatic/kafka');

/** The oldest Node @platformatic/kafka supports (its `engines`: `>= 22.22.0 || >= 24.6.0`; every 23+ meets the first). */
export const PLATFORMATIC_MIN_NODE = '22.22.0';

/**
 * Why this Node cannot run the library, or undefined when it can. Checked when the gateway starts on it rather than
 * left to the library: on an older Node it loads and may seem to work, or fail later on an API that Node lacks,
 * far from the setting that chose it. The message names the way out.
 */
export function platformaticRuntimeProblem(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = PLATFORMATIC_MIN_NODE.split('.').map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return (
    `@platformatic/kafka (KAFKA_CLIENT=platformatic) needs Node.js ${PLATFORMATIC_MIN_NODE} or newer, this is ` +
    `${version}: upgrade Node.js (22.22+ or 24 LTS), or set KAFKA_CLIENT=kafkajs to run on kafkajs instead`
  );
}

/**
 * The library, loaded on first use rather than at import: a gateway on kafkajs never loads it (memory, and its
 * Node ≥ 22.22 requirement).
 */
export function loadPlatformatic(): Promise<PlatformaticLibrary> {
  return import('@platformatic/kafka');
}

/** Connection options of a client (TLS files are read and OAuth providers built here, once per call). */
export function platformaticConnection(s: KafkaSettings): BaseOptions & ConnectionOptions {
  const tls = tlsOptions(s);
  const sasl = saslOptions(s);
  return {
    clientId: s.KAFKA_CLIENT_ID,
    bootstrapBrokers: s.KAFKA_BROKERS,
    autocreateTopics: false,
    connectTimeout: s.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: s.KAFKA_REQUEST_TIMEOUT_MS,
    ...(tls === undefined || tls === true || tls === false ? {} : { tls }),
    ...(sasl === undefined ? {} : { sasl: platformaticSasl(sasl) }),
  };
}

type KafkaJsSasl = NonNullable<ReturnType<typeof saslOptions>>;

/** Our SASL settings (built once, in client.ts) in the library's words. */
function platformaticSasl(sasl: KafkaJsSasl): NonNullable<ConnectionOptions['sasl']> {
  if (sasl.mechanism === 'oauthbearer') {
    const provider = sasl.oauthBearerProvider;
    return { mechanism: 'OAUTHBEARER', token: async () => (await provider()).value };
  }
  const { username, password } = sasl as { username: string; password: string };
  const mechanism =
    sasl.mechanism === 'plain' ? 'PLAIN' : sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  return { mechanism, username, password };
}

interface PlatformaticErrorLike {
  code?: unknown;
  message?: string;
  apiId?: string;
  canRetry?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * The library's errors in the shape errors.ts classifies (kafkajs's names and `type`s), so there is still one
 * classification: a Kafka protocol error keeps its Kafka name (`type`), a network failure reads as a connection
 * error (with Node's error as its cause), a SASL failure as one, and an aggregate as its most telling member.
 */
export function kafkaJsShaped(e: unknown, saslMechanism?: string, depth = 0): unknown {
  if (typeof e !== 'object' || e === null || depth > 5) return e;
  const x = e as PlatformaticErrorLike;
  if (typeof x.code !== 'string' || !x.code.startsWith('PLT_KFK_')) return e;
  if (Array.isArray(x.errors) && x.errors.length > 0) {
    const members = x.errors as PlatformaticErrorLike[];
    const telling = members.find((m) => m?.code === 'PLT_KFK_PROTOCOL') ?? members[0];
    return kafkaJsShaped(telling, saslMechanism, depth + 1);
  }
  // A plaintext client on a TLS listener: the library sees the TLS record, drops the connection and says so.
  if (x.code === 'PLT_KFK_USER' && /^Broker requires TLS/.test(x.message ?? ''))
    return { name: 'KafkaJSConnectionError', message: `Closed connection: ${x.message}`, retriable: true };
  // The library's metadata turns Kafka's UNKNOWN_TOPIC_OR_PARTITION into a UserError naming the topic.
  if (x.code === 'PLT_KFK_USER' && /^Unknown topic /.test(x.message ?? ''))
    return { name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', message: x.message, retriable: true };
  const cause = x.cause === undefined ? undefined : kafkaJsShaped(x.cause, saslMechanism, depth + 1);
  const base = { message: x.message ?? 'Kafka error', ...(cause === undefined ? {} : { cause }) };
  switch (x.code) {
    case 'PLT_KFK_PROTOCOL':
      return { ...base, name: 'KafkaJSProtocolError', type: x.apiId, retriable: x.canRetry === true };
    case 'PLT_KFK_NETWORK':
      return { ...base, name: 'KafkaJSConnectionError', retriable: true };
    case 'PLT_KFK_TIMEOUT':
      return { ...base, name: 'KafkaJSRequestTimeoutError', retriable: true };
    case 'PLT_KFK_AUTHENTICATION':
      // The library says "Cannot find a suitable SASL mechanism." whenever its SaslHandshake request failed, for
      // whatever cause. Only the broker's UNSUPPORTED_SASL_MECHANISM is about the mechanism; a connection dropped
      // or timed out during the handshake (or any other cause) is explained as that cause, never as a refused
      // credential or token, so it cannot hide the specific reason of an outage (CI once reported "the broker
      // refused the OAuth token" while the token endpoint was what refused).
      if (/^Cannot find a suitable SASL mechanism/.test(base.message) && cause !== undefined) {
        if (protocolType(cause) !== 'UNSUPPORTED_SASL_MECHANISM') return cause;
        return {
          ...base,
          name: 'KafkaJSSASLAuthenticationError',
          message: `SASL mechanism ${saslMechanism ?? 'PLAIN'} not supported by the broker (UNSUPPORTED_SASL_MECHANISM)`,
        };
      }
      return {
        ...base,
        name: 'KafkaJSSASLAuthenticationError',
        // explainKafkaError reads "SASL <mechanism> authentication failed: <detail>" (kafkajs's wording).
        message: `SASL ${saslMechanism ?? 'PLAIN'} authentication failed: ${base.message}`,
      };
    default:
      return { ...base, name: 'KafkaJSError' };
  }
}

/**
 * CRC32C over a view of a Buffer, without copying it: the library's optional native `@node-rs/crc32` (which its
 * own `crc32c` wraps, copying a plain Buffer first), resolved from the library's place, else the library's
 * `crc32c` (native or its WASM fallback). Used by platformatic-produce-encoder.ts.
 */
export function platformaticCrc32c(lib: PlatformaticLibrary): (bytes: Uint8Array) => number {
  try {
    const fromLibrary = createRequire(createRequire(import.meta.url).resolve('@platformatic/kafka'));
    const native = (fromLibrary('@node-rs/crc32') as { crc32c?: (b: Uint8Array) => number }).crc32c;
    if (typeof native === 'function') return native;
  } catch {
    // Not installed (it is optional): the library's own below.
  }
  return lib.crc32c as (bytes: Uint8Array) => number;
}
