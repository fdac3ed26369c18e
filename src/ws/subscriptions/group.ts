/**
 * Group mode: this subscription is one member of Kafka consumer group `group`. Its partitions come and go with
 * rebalances (each change → an `assignment` frame); offsets are committed only for acknowledged records
 * (manual ack) or records written to the socket (auto): at-least-once.
 */
import type { GroupSession, TopicPartition } from '../../kafka/index.js';
import { DEFAULTS, type SubscribeGroup } from '../protocol.js';
import { PumpedSubscription } from './pump.js';
import { checkTopics } from './types.js';

export class GroupSubscription extends PumpedSubscription<SubscribeGroup> {
  readonly mode = 'group' as const;
  private group: GroupSession | undefined;

  async start(): Promise<void> {
    const { group, topics } = this.frame;
    await checkTopics(this.deps, this.frame);
    const sink = this.sink();
    const session = await this.deps.consumers.group(
      { group, topics: [...new Set(topics)], from: this.frame.from ?? DEFAULTS.from },
      {
        ...sink,
        onAssignment: (change) => {
          // Revoked partitions go to other members (redelivered there from the last commit); kept ones go on.
          this.window.reassign(change.current);
          if (this.started && !this.closed)
            this.deps.port.send(JSON.stringify({ type: 'assignment', id: this.id, ...change }));
          this.flowChanged();
        },
      },
    );
    this.group = session;
    this.session = session;
    if (this.closed || !this.deps.port.open) {
      await session.close();
      return;
    }
    this.deps.port.send(
      JSON.stringify({ type: 'subscribed', id: this.id, mode: 'group', assignment: session.assignment }),
    );
    this.markStarted();
  }

  protected acknowledged(tp: TopicPartition, commit: number): void {
    this.group?.commit({ ...tp, offset: commit });
  }

  override async drain(): Promise<void> {
    await super.drain();
    await this.group?.flushCommits();
  }
}
