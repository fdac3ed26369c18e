/**
 * Is the cluster reachable? Requests are refused with 503 50302 at once while it is not, instead of each
 * waiting out kafkajs's retries. A failed send or connect marks it down; a background probe brings it back.
 * Why it is down is said once, in one line (`Kafka unreachable: <reason>`), and answered by /readyz: TLS and SASL
 * failures are named as such, with the setting to check, instead of kafkajs's raw messages.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger.js';

export interface AvailabilityOptions {
  /** A cheap round-trip to the cluster (e.g. describeCluster); rejects when unreachable. */
  probe: () => Promise<void>;
  /** Called after a successful probe that ends an outage (e.g. reconnect the producer). */
  onRecover?: () => Promise<void>;
  intervalMs?: number;
  logger: Logger;
}

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

interface Flat {
  messages: string[];
  codes: string[];
}

/** The messages and codes of an error and its causes (kafkajs wraps: retries exceeded → connection error → cause). */
function flatten(e: unknown): Flat {
  const out: Flat = { messages: [], codes: [] };
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && cur !== undefined && cur !== null; depth++) {
    if (typeof cur === 'string') {
      out.messages.push(cur);
      break;
    }
    if (typeof cur !== 'object') break;
    const o = cur as { message?: unknown; code?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof o.message === 'string') out.messages.push(o.message);
    if (typeof o.code === 'string') out.codes.push(o.code);
    cur = o.cause ?? o.originalError;
  }
  return out;
}

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

export class Availability extends EventEmitter {
  private up = false;
  private reason = 'not connected yet';
  private rank = -1;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: AvailabilityOptions) {
    super();
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Why the cluster is not reachable (the most specific reason seen during this outage). */
  get lastError(): string {
    return this.reason;
  }

  markUp(): void {
    if (!this.up) {
      this.up = true;
      this.rank = -1;
      this.opts.logger.info('Kafka reachable');
      this.emit('up');
    }
  }

  /** A send or connect failed: refuse requests until a probe succeeds. `cause`: an error or its message. */
  markDown(cause: unknown): void {
    if (this.closed) return;
    const wasUp = this.up;
    this.up = false;
    this.note(explainKafkaError(cause), wasUp);
    this.emit('down', this.reason);
    this.schedule();
  }

  /** Probe now (start-up), then keep probing while down. */
  async start(): Promise<void> {
    await this.probeOnce();
  }

  /** Records a problem; logs one line when the outage starts or its reason changes. */
  private note(problem: KafkaProblem, wasUp: boolean): void {
    if (!wasUp && problem.rank < this.rank) return; // keep the more specific cause
    const changed = wasUp || problem.reason !== this.reason;
    this.reason = problem.reason;
    this.rank = problem.rank;
    if (changed && !this.closed)
      this.opts.logger.warn(
        { reason: problem.reason, kind: problem.kind },
        `Kafka unreachable: ${problem.reason}; refusing requests with 503 until it answers`,
      );
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probeOnce();
    }, this.intervalMs);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.opts.probe();
      if (!this.up) await this.opts.onRecover?.();
      this.markUp();
    } catch (e) {
      const wasUp = this.up;
      this.up = false;
      this.note(explainKafkaError(e), wasUp);
      this.schedule();
    } finally {
      this.probing = false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
