/**
 * Assign mode: exactly the named partitions, from a start position (earliest, latest, an offset, a time).
 * No group balancing and no commits; `ack`/`window` still bound what is in flight.
 */
import { WsError } from '../close-codes.js';
import { DEFAULTS, type SubscribeAssign } from '../protocol.js';
import { PumpedSubscription } from './pump.js';
import { checkTopics } from './types.js';

export class AssignSubscription extends PumpedSubscription<SubscribeAssign> {
  readonly mode = 'assign' as const;

  async start(): Promise<void> {
    const partitions = this.frame.partitions;
    const keys = new Set(partitions.map((p) => `${p.partition}:${p.topic}`));
    if (keys.size !== partitions.length) throw new WsError('BAD_MESSAGE', 'partitions lists a partition twice.');
    await checkTopics(this.deps, this.frame);
    const session = await this.deps.consumers.assign(
      { partitions, from: this.frame.from ?? DEFAULTS.from },
      this.sink(),
    );
    this.session = session;
    if (this.closed || !this.deps.port.open) {
      await session.close();
      return;
    }
    this.deps.port.send(
      JSON.stringify({
        type: 'subscribed',
        id: this.id,
        mode: 'assign',
        assignment: partitions.map(({ topic, partition }) => ({ topic, partition })),
        positions: session.positions,
      }),
    );
    this.markStarted();
  }

  protected acknowledged(): void {
    // Nothing to commit: an assign reader keeps no group position.
  }
}
