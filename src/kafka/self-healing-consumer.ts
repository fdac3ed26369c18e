/**
 * What a group session and a private reader share around their one kafkajs consumer: wiring its events,
 * replacing it when kafkajs fails internally (see SELF_RESTARTS), failing for good otherwise, and keeping
 * its paused state in step with the session's.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import { feedBatch, firstJoin, isClientBug, RestartBudget, type ConsumerContext } from './consumer-common.js';
import type { ConsumedRecord, RecordSink } from './consumer-types.js';
import { describeKafkaError, toGatewayError } from './errors.js';

export abstract class SelfHealingConsumer {
  /** Set by the subclass's constructor (`this.consumer = this.spawn()`) once what `newConsumer` needs is there. */
  protected consumer!: Consumer;
  protected started = false;
  protected pausedInKafka = false;
  protected closed = false;
  /** Paused because the sink refused a record; lifted when the sink has room again (RecordSink.room). */
  protected flowPaused = false;
  /** Paused by the session's owner (`pause()`), until `resume()`. */
  protected userPaused = false;
  private readonly restarts = new RestartBudget();

  protected constructor(
    protected readonly ctx: ConsumerContext,
    protected readonly sink: RecordSink,
    protected readonly log: Logger,
    /** What `pause`/`resume` apply to in kafkajs. */
    private readonly pauseTopics: readonly string[],
    /** The log message when the consumer stops for good. */
    private readonly stoppedMessage: string,
  ) {}

  /** A new kafkajs consumer (group id, assigners) for `spawn`. */
  protected abstract newConsumer(): Consumer;
  protected abstract onJoin(memberAssignment: Record<string, number[]>): void;
  /** Connects, subscribes and runs `this.consumer` (with `feed`). */
  protected abstract run(): Promise<void>;
  /** Puts kafkajs's paused state in step with the session's (the owner's pause, `flowPaused`, and its own). */
  protected abstract applyPause(): void;
  abstract close(): Promise<void>;

  get paused(): boolean {
    return this.userPaused;
  }

  pause(): void {
    this.userPaused = true;
    this.applyPause();
  }

  resume(): void {
    this.userPaused = false;
    this.applyPause();
  }

  /**
   * Runs `this.consumer`, handing each fetched record to `offer` (true: taken). At a refusal the session waits
   * inside the fetched batch for the sink's room (RecordSink.room, bounded by feedBatch; only while
   * RecordSink.roomSoon), then pauses in Kafka until the sink has room; a sink without `room` is paused until its
   * owner resumes it.
   */
  protected async feed(offer: (r: ConsumedRecord) => boolean): Promise<void> {
    const room = this.sink.room ? () => this.sink.room!() : undefined;
    const roomSoon = this.sink.roomSoon ? () => this.sink.roomSoon!() : undefined;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const refused = await feedBatch(
          payload,
          (r) => !this.closed && offer(r),
          () => this.closed || this.pausedInKafka,
          this.log,
          room,
          roomSoon,
        );
        if (refused) this.refused();
      },
    });
  }

  private refused(): void {
    if (!this.sink.room) return this.pause();
    if (this.flowPaused || this.closed) return;
    this.flowPaused = true;
    this.applyPause();
    void this.sink.room().then(() => {
      this.flowPaused = false;
      this.applyPause();
    });
  }

  /** Runs the consumer and resolves once it joined (and `afterFirstJoin` resolved). */
  async start(): Promise<void> {
    const joined = firstJoin(this.consumer);
    joined.catch(() => {});
    await this.run();
    await joined;
    await this.afterFirstJoin();
    this.started = true;
  }

  /** What else `start` waits for after the first join (a group session: its first assignment announced). */
  protected afterFirstJoin(): Promise<void> {
    return Promise.resolve();
  }

  /** A kafkajs consumer wired to this session (events of a replaced one are ignored). */
  protected spawn(): Consumer {
    const c = this.newConsumer();
    c.on(c.events.GROUP_JOIN, (e) => {
      if (c === this.consumer) this.onJoin(e.payload.memberAssignment);
    });
    c.on(c.events.CRASH, (e) => {
      if (c === this.consumer && !e.payload.restart && !this.closed) this.onCrash(e.payload.error);
    });
    return c;
  }

  private onCrash(error: Error): void {
    if (this.started && isClientBug(error) && this.restarts.take()) {
      this.log.warn({ err: error.message, stack: error.stack }, 'kafkajs consumer failed internally; replacing it');
      this.pausedInKafka = false;
      this.consumer = this.spawn();
      void this.run().catch((e: unknown) => this.fail(e));
      return;
    }
    this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.log.warn(
      { err: describeKafkaError(error), stack: error instanceof Error ? error.stack : undefined },
      this.stoppedMessage,
    );
    const err = toGatewayError(error);
    void this.close().then(() => this.sink.onFatal?.(err));
  }

  protected setKafkaPaused(want: boolean, force = false): void {
    if (this.closed || (want === this.pausedInKafka && !force)) return;
    const topics = this.pauseTopics.map((topic) => ({ topic }));
    try {
      if (want) this.consumer.pause(topics);
      else this.consumer.resume(topics);
      this.pausedInKafka = want;
    } catch {
      // Not running (yet, or any more): the next join applies the state again.
    }
  }
}
