/**
 * Every kafkajs (and Node TLS/socket) error the gateway meets is classified here, once: what category it is, whether
 * a retry can help, whether it means the cluster could not be reached, whether Kafka refused a write (so nothing
 * was written), the HTTP answer for a client and, for connection problems, the one-line reason an operator can act
 * on (`explainKafkaError`, used by the availability tracker and /readyz). Routes never look at kafkajs errors; they
 * get a GatewayError or a per-record code (50003 unknown outcome, 50002 refused) from here.
 */
import { ErrorCodes, GatewayError } from '../errors.js';

interface KafkaJsErrorLike {
  name?: string;
  type?: string;
  code?: unknown;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  /** KafkaJSAggregateError (e.g. admin.createTopics): the per-topic errors. */
  errors?: unknown[];
}

type Code = (typeof ErrorCodes)[keyof typeof ErrorCodes];

interface ProtocolAnswer {
  status: number;
  code: Code;
  refusedWrite?: true;
  /** Said after the Kafka error's name, for a client that cannot act on the name alone. */
  says?: string;
}

const membership = (says: string): ProtocolAnswer => ({
  status: 409,
  code: ErrorCodes.CONSUMER_ILLEGAL_STATE,
  says: `${says}; nothing was committed`,
});

/**
 * Kafka protocol errors (by kafkajs's `type`, the Kafka error name) with their own answer. `refusedWrite`: a
 * produce answered with it was not written (the broker refused these records for what they are, so an earlier try
 * of the same records cannot have been written either); every other produce failure has an unknown outcome.
 */
const PROTOCOL_ERRORS: Record<string, ProtocolAnswer> = {
  TOPIC_ALREADY_EXISTS: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_TOPIC_EXCEPTION: { status: 422, code: ErrorCodes.INVALID_TOPIC_NAME, refusedWrite: true },
  INVALID_PARTITIONS: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REPLICATION_FACTOR: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REPLICA_ASSIGNMENT: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_CONFIG: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  POLICY_VIOLATION: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  INVALID_REQUEST: { status: 400, code: ErrorCodes.KAFKA_ADMIN_REFUSED },
  UNKNOWN_TOPIC_OR_PARTITION: { status: 404, code: ErrorCodes.TOPIC_NOT_FOUND },
  TOPIC_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN, refusedWrite: true },
  GROUP_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN },
  CLUSTER_AUTHORIZATION_FAILED: { status: 403, code: ErrorCodes.FORBIDDEN, refusedWrite: true },
  MESSAGE_TOO_LARGE: { status: 413, code: ErrorCodes.TOO_LARGE, refusedWrite: true },
  RECORD_LIST_TOO_LARGE: { status: 413, code: ErrorCodes.TOO_LARGE, refusedWrite: true },
  INVALID_RECORD: { status: 500, code: ErrorCodes.KAFKA_ERROR, refusedWrite: true },
  CORRUPT_MESSAGE: { status: 500, code: ErrorCodes.KAFKA_ERROR, refusedWrite: true },
  INVALID_TIMESTAMP: { status: 500, code: ErrorCodes.KAFKA_ERROR, refusedWrite: true },
  INVALID_REQUIRED_ACKS: { status: 500, code: ErrorCodes.KAFKA_ERROR, refusedWrite: true },
  // Group membership (a commit, mostly): Kafka refused the request for who is in the group now, as Java's
  // CommitFailedException. Nothing was committed; 409 40903 like a commit whose partitions moved during the rebalance.
  ILLEGAL_GENERATION: membership('the consumer group rebalanced since this member joined'),
  REBALANCE_IN_PROGRESS: membership('the consumer group is rebalancing'),
  UNKNOWN_MEMBER_ID: membership(
    'the consumer group does not count this consumer as a member (it was removed, or the group has members and this consumer is not one of them)',
  ),
  FENCED_INSTANCE_ID: membership('another consumer took this static member id'),
};

/** Error names meaning "we could not talk to the cluster" (kafkajs's, and its retrier's wrapper around them). */
const CONNECTIVITY = new Set([
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNonRetriableError',
  'KafkaJSSASLAuthenticationError',
  'KafkaJSLockTimeout',
]);

/** The error and what it wraps (kafkajs wraps: retries exceeded → connection error → Node's error). */
function chain(e: unknown): KafkaJsErrorLike[] {
  const out: KafkaJsErrorLike[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur !== undefined && cur !== null; i++) {
    if (typeof cur === 'string') {
      out.push({ message: cur });
      break;
    }
    if (typeof cur !== 'object') break;
    const err = cur as KafkaJsErrorLike;
    out.push(err);
    cur = err.originalError ?? err.cause ?? (Array.isArray(err.errors) ? err.errors[0] : undefined);
  }
  return out;
}

interface Flat {
  messages: string[];
  codes: string[];
}

function flatten(e: unknown): Flat {
  const c = chain(e);
  return {
    messages: c.flatMap((x) => (typeof x.message === 'string' ? [x.message] : [])),
    codes: c.flatMap((x) => (typeof x.code === 'string' ? [x.code] : [])),
  };
}

/**
 * kafkajs's admin.setOffsets refuses by itself while the group has members, where Kafka would answer
 * UNKNOWN_MEMBER_ID (what @platformatic/kafka gets): the same error either way.
 */
const KAFKAJS_GROUP_NOT_EMPTY = /^The consumer group must have no running instances/;

export function protocolType(e: unknown): string | undefined {
  const c = chain(e);
  return (
    c.find((x) => typeof x.type === 'string')?.type ??
    (c.some((x) => KAFKAJS_GROUP_NOT_EMPTY.test(x.message ?? '')) ? 'UNKNOWN_MEMBER_ID' : undefined)
  );
}

/** True when the error says the cluster could not be reached (not that it refused something). */
export function isConnectivityError(e: unknown): boolean {
  return chain(e).some((x) => {
    if (x.name && CONNECTIVITY.has(x.name)) {
      // KafkaJSNonRetriableError wraps both; only count it when what it wraps is a connection problem.
      return (
        x.name !== 'KafkaJSNonRetriableError' ||
        chain(x.originalError ?? x.cause).some((y) => y.name && CONNECTIVITY.has(y.name))
      );
    }
    return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection timeout|Closed connection/i.test(x.message ?? '');
  });
}

export function isRetriable(e: unknown): boolean {
  return chain(e).some((x) => x.retriable === true) || isConnectivityError(e);
}

/** A short, safe description (no broker internals beyond the Kafka error name). */
export function describeKafkaError(e: unknown): string {
  const type = protocolType(e);
  const first = chain(e)[0];
  return type ? `Kafka error ${type}` : (first?.message ?? 'Kafka error').slice(0, 300);
}

export type KafkaErrorCategory = 'refused' | 'authentication' | 'tls' | 'unreachable' | 'transient' | 'other';

export interface KafkaErrorClass {
  category: KafkaErrorCategory;
  retriable: boolean;
  /** The cluster (or a broker) could not be reached. */
  connectivity: boolean;
  /** Kafka answered and refused the records: nothing was written. */
  refusedWrite: boolean;
  /** What a client is told (no secrets, no broker internals beyond the Kafka error name). */
  message: string;
}

/** The one classification; the functions around it are views of it. */
export function classifyKafkaError(e: unknown): KafkaErrorClass {
  const type = protocolType(e);
  const known = type ? PROTOCOL_ERRORS[type] : undefined;
  const connectivity = isConnectivityError(e);
  const retriable = isRetriable(e);
  const problem = connectivity || !type ? explainKafkaError(e) : undefined;
  const category: KafkaErrorCategory = known
    ? 'refused'
    : problem?.kind === 'sasl' || problem?.kind === 'oauth'
      ? 'authentication'
      : problem?.kind.startsWith('tls')
        ? 'tls'
        : connectivity
          ? 'unreachable'
          : retriable
            ? 'transient'
            : 'other';
  const message =
    category === 'authentication' || category === 'tls' ? `Kafka: ${problem!.reason}` : describeKafkaError(e);
  return { category, retriable, connectivity, refusedWrite: known?.refusedWrite === true, message };
}

/**
 * What a client is told when Kafka cannot be used (no period: callers add what was or was not sent): that the
 * gateway cannot authenticate to Kafka or set up TLS with it when that is why (the client cannot fix it, an
 * operator must; /readyz and the log name the setting), else that no broker answers. Never a setting or a secret.
 */
export function unreachableText(kind: KafkaProblemKind): string {
  if (kind === 'sasl' || kind === 'oauth')
    return 'The gateway cannot authenticate to Kafka (Kafka refused its credentials)';
  if (kind.startsWith('tls')) return 'The gateway cannot set up TLS with Kafka';
  return 'No Kafka broker is reachable';
}

/** Map an admin/metadata failure to the HTTP answer. */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const type = protocolType(e);
  const known = type ? PROTOCOL_ERRORS[type] : undefined;
  if (known)
    return new GatewayError(
      known.status,
      known.code,
      known.says ? `${describeKafkaError(e)}: ${known.says}.` : describeKafkaError(e),
      { cause: e },
    );
  if (isConnectivityError(e))
    return new GatewayError(503, ErrorCodes.KAFKA_UNAVAILABLE, `${unreachableText(explainKafkaError(e).kind)}.`, {
      cause: e,
      retriable: true,
      headers: { 'Retry-After': '1' },
    });
  return isRetriable(e)
    ? new GatewayError(500, ErrorCodes.KAFKA_RETRIABLE, describeKafkaError(e), { cause: e, retriable: true })
    : new GatewayError(500, ErrorCodes.KAFKA_ERROR, describeKafkaError(e), { cause: e });
}

// Connection problems, explained for operators (the availability tracker's one line and /readyz).

export type KafkaProblemKind =
  | 'sasl'
  | 'oauth'
  | 'tls-client-cert'
  | 'tls-untrusted'
  | 'tls'
  | 'network'
  | 'closed'
  | 'other';

export interface KafkaProblem {
  kind: KafkaProblemKind;
  /** One line, no secrets: what failed and which setting to check. */
  reason: string;
  /**
   * How specific the reason is: 2 = a configuration problem (credentials, TLS trust), 1 = the network,
   * 0 = an opaque symptom (a closed connection). During one outage a less specific reason never replaces a more
   * specific one: kafkajs reports the follow-up symptoms of a failed handshake (e.g. "Request is not valid given
   * the current SASL state" after a failed OAuth token request), which would hide the cause.
   */
  rank: 0 | 1 | 2;
}

const MAX_REASON = 300;

/** Node's certificate verification failures (the broker's certificate is not trusted). */
const UNTRUSTED_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** `807C…:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/…` → `sslv3 alert bad certificate`. */
function opensslReason(message: string): string {
  const m = /SSL routines:[^:]*:([^:]+)/.exec(message);
  return (m ? m[1]! : message).trim();
}

const clip = (s: string) => (s.length > MAX_REASON ? `${s.slice(0, MAX_REASON - 1)}…` : s);

/** Why a connect, probe or send failed, in words an operator can act on (KafkaJS errors, Node TLS errors, ours). */
export function explainKafkaError(e: unknown): KafkaProblem {
  const { messages, codes } = flatten(e);
  const all = messages.join(' | ');
  const first = (messages[0] ?? 'unknown error').replace(/\s+/g, ' ').trim();

  // Our OAuth client's own failures carry their explanation (src/kafka/oauth.ts).
  const oauth = messages.find((m) => m.startsWith('OAuth token request failed'));
  if (oauth) return { kind: 'oauth', rank: 2, reason: clip(oauth) };

  const sasl = /SASL (\S+(?: SHA\d+)?) authentication failed: (.*)/s.exec(all);
  if (sasl) {
    const mechanism = sasl[1]!.replace(/^SCRAM SHA(\d+)$/, 'SCRAM-SHA-$1');
    const detail = sasl[2]!.split(' | ')[0]!.replace(/\s+/g, ' ').trim();
    const hint =
      mechanism === 'OAUTHBEARER'
        ? "the broker refused the OAuth token (check KAFKA_OAUTH_* and the broker's expected issuer/audience)"
        : 'check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD';
    return { kind: 'sasl', rank: 2, reason: clip(`SASL authentication failed (${mechanism}): ${detail} — ${hint}`) };
  }
  if (
    /does not support the requested SASL mechanism|SASL mechanism .* not supported|UNSUPPORTED_SASL_MECHANISM/i.test(
      all,
    )
  )
    return {
      kind: 'sasl',
      rank: 2,
      reason: clip(
        `SASL: the broker does not offer this mechanism on this listener — check KAFKA_SASL_MECHANISM (${first})`,
      ),
    };

  const tlsAlert = codes.find((c) =>
    /^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN)$/.test(c),
  );
  if (tlsAlert || /alert (bad certificate|certificate required|unknown ca|certificate unknown)/i.test(all)) {
    const what = opensslReason(messages.find((m) => /alert/i.test(m)) ?? first);
    return {
      kind: 'tls-client-cert',
      rank: 2,
      reason: clip(
        `TLS: the broker refused our client certificate (${what}): it requires one its CA trusts — check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`,
      ),
    };
  }
  const untrusted = codes.find((c) => UNTRUSTED_CODES.has(c));
  if (
    untrusted ||
    /self[- ]signed certificate|unable to (verify|get local issuer)|certificate has expired|altnames/i.test(all)
  ) {
    const node = (messages.find((m) => /certificate|altnames/i.test(m)) ?? first)
      .replace(/^Connection error: /, '')
      .trim();
    const hint =
      untrusted === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altnames/i.test(node)
        ? "the broker's certificate does not name the host in KAFKA_BROKERS"
        : "the broker's certificate is not trusted — set KAFKA_SSL_CA_FILE to the CA that signed it";
    return { kind: 'tls-untrusted', rank: 2, reason: clip(`TLS: ${node} — ${hint}`) };
  }
  if (
    codes.some((c) => c.startsWith('ERR_SSL_')) ||
    /SSL routines|wrong version number|packet length too long/i.test(all)
  ) {
    const what = opensslReason(messages.find((m) => /SSL|version|packet/i.test(m)) ?? first);
    return {
      kind: 'tls',
      rank: 2,
      reason: clip(`TLS handshake failed: ${what} — is this listener TLS? (KAFKA_SSL_*)`),
    };
  }

  const net =
    codes.find((c) => NETWORK_CODES.has(c)) ??
    /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/.exec(all)?.[1];
  if (net || /Connection timeout/i.test(all))
    return {
      kind: 'network',
      rank: 1,
      reason: clip(`cannot connect to the brokers in KAFKA_BROKERS: ${net ?? 'connection timeout'}`),
    };

  if (/Closed connection|Connection closed by the server|ECONNRESET|socket hang up/i.test(all))
    return {
      kind: 'closed',
      rank: 0,
      reason:
        'the broker closed the connection during the handshake — does the listener expect TLS or SASL? (KAFKA_SSL_*, KAFKA_SASL_MECHANISM)',
    };
  return { kind: 'other', rank: 0, reason: clip(first) };
}
