/**
 * The consumer instances this replica holds, by (group, name): creation under the per-replica and per-caller
 * limits, lookup for their owner only, idle expiry, and the shutdown that commits what auto-commit owes.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import type { KafkaGateway } from '../kafka/index.js';
import type { Logger } from '../observability/logger.js';
import { ConsumerInstance, type InstanceConfig, notFound } from './instance.js';

export type RegistrySettings = Pick<
  Config,
  'CONSUMER_MAX_INSTANCES' | 'CONSUMER_MAX_INSTANCES_PER_CALLER' | 'CONSUMER_BUFFER_BYTES'
>;

/** How often idle instances are looked for. */
const SWEEP_MS = 500;
/** Retry-After (s) for a refusal over a limit: instances free up as others are deleted or expire. */
const LIMIT_RETRY_AFTER_S = 5;

/** Names a client may choose: they go into URLs as they are. */
export const INSTANCE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

const id = (group: string, name: string) => `${group}\u0000${name}`;
const ANONYMOUS = '\u0000anonymous';

export type Presence = 'none' | 'owned' | 'taken';

export class InstanceRegistry {
  private readonly instances = new Map<string, ConsumerInstance>();
  private readonly perCaller = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly kafka: KafkaGateway,
    private readonly settings: RegistrySettings,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get size(): number {
    return this.instances.size;
  }

  /** `GET records` calls waiting for records right now. */
  pollsWaiting(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.waiting) n++;
    return n;
  }

  /** Is (group, name) here, and whose is it? */
  presence(group: string, name: string, sub: string | null): Presence {
    const i = this.instances.get(id(group, name));
    if (!i) return 'none';
    return i.owner === sub ? 'owned' : 'taken';
  }

  /** The instance, for its owner only: anyone else is told it does not exist (40403). */
  get(group: string, name: string, sub: string | null): ConsumerInstance | undefined {
    const i = this.instances.get(id(group, name));
    return i && i.owner === sub && !i.closed ? i : undefined;
  }

  require(group: string, name: string, sub: string | null): ConsumerInstance {
    const i = this.get(group, name, sub);
    if (!i) throw notFound(group, name);
    return i;
  }

  /** Checks the limits and that the name is free here; the caller checked the peers. */
  create(group: string, name: string | undefined, sub: string | null, config: InstanceConfig): ConsumerInstance {
    if (this.closing) throw overloaded('The gateway is shutting down; create the consumer again.');
    const chosen = name ?? `kgw-${randomBytes(12).toString('base64url')}`;
    if (this.instances.has(id(group, chosen))) throw exists(chosen);
    if (this.instances.size >= this.settings.CONSUMER_MAX_INSTANCES)
      throw overloaded('This gateway holds its maximum of consumer instances (CONSUMER_MAX_INSTANCES).');
    const caller = sub ?? ANONYMOUS;
    const mine = this.perCaller.get(caller) ?? 0;
    if (mine >= this.settings.CONSUMER_MAX_INSTANCES_PER_CALLER)
      throw new GatewayError(
        429,
        ErrorCodes.RATE_LIMITED,
        `Too many consumer instances for this caller (CONSUMER_MAX_INSTANCES_PER_CALLER = ${this.settings.CONSUMER_MAX_INSTANCES_PER_CALLER}); delete some first.`,
        { retriable: true, headers: { 'Retry-After': String(LIMIT_RETRY_AFTER_S) } },
      );
    const instance = new ConsumerInstance(
      group,
      chosen,
      sub,
      config,
      this.kafka,
      { bufferBytes: this.settings.CONSUMER_BUFFER_BYTES },
      this.log,
    );
    this.instances.set(id(group, chosen), instance);
    this.perCaller.set(caller, mine + 1);
    return instance;
  }

  /** Forget and close (commits what auto-commit owes, leaves the group). */
  async remove(instance: ConsumerInstance): Promise<void> {
    const k = id(instance.group, instance.name);
    if (this.instances.get(k) !== instance) return;
    this.instances.delete(k);
    const caller = instance.owner ?? ANONYMOUS;
    const n = (this.perCaller.get(caller) ?? 1) - 1;
    if (n <= 0) this.perCaller.delete(caller);
    else this.perCaller.set(caller, n);
    await instance.close();
  }

  private sweep(): void {
    const now = Date.now();
    for (const i of this.instances.values())
      if (i.idle(now)) {
        this.log.info({ group: i.group, instance: i.name }, 'consumer instance expired (idle)');
        void this.remove(i).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'expiry failed'));
      }
  }

  /** Shutdown begins: no new instances, and waiting `GET records` calls answer at once. */
  interrupt(): void {
    this.closing = true;
    for (const i of this.instances.values()) i.interrupt();
  }

  /** SIGTERM: every instance commits what auto-commit owes and leaves its group. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.instances.values()].map((i) => this.remove(i)));
  }
}

export function exists(name: string): GatewayError {
  return new GatewayError(
    409,
    ErrorCodes.CONSUMER_EXISTS,
    `Consumer instance with the specified name '${name}' already exists.`,
  );
}

function overloaded(message: string): GatewayError {
  return new GatewayError(503, ErrorCodes.OVERLOADED, message, {
    retriable: true,
    headers: { 'Retry-After': String(LIMIT_RETRY_AFTER_S) },
  });
}
