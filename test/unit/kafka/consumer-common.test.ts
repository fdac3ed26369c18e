import { describe, expect, it } from 'vitest';
import {
  diffPartitions,
  flattenAssignment,
  flattenHeaders,
  isClientBug,
  keptPosition,
  RestartBudget,
  startPositions,
  SELF_RESTART_WINDOW_MS,
  SELF_RESTARTS,
} from '../../../src/kafka/consumer-common.js';

describe('consumer helpers', () => {
  it('a TypeError anywhere in the cause chain is a client bug; Kafka errors are not', () => {
    const wrapped = Object.assign(new Error("Cannot read properties of undefined (reading '0')"), {
      name: 'KafkaJSNonRetriableError',
      cause: new TypeError("Cannot read properties of undefined (reading '0')"),
    });
    expect(isClientBug(wrapped)).toBe(true);
    expect(isClientBug(new TypeError('x'))).toBe(true);
    expect(
      isClientBug(
        Object.assign(new Error('Not authorized'), {
          name: 'KafkaJSProtocolError',
          type: 'GROUP_AUTHORIZATION_FAILED',
        }),
      ),
    ).toBe(false);
    expect(isClientBug(Object.assign(new Error('Connection refused'), { name: 'KafkaJSConnectionError' }))).toBe(false);
    expect(isClientBug(undefined)).toBe(false);
  });

  it('restarts are budgeted per window', () => {
    const b = new RestartBudget();
    for (let i = 0; i < SELF_RESTARTS; i++) expect(b.take(1000 + i)).toBe(true);
    expect(b.take(1000 + SELF_RESTARTS)).toBe(false);
    expect(b.take(1000 + SELF_RESTART_WINDOW_MS + SELF_RESTARTS)).toBe(true);
  });

  it('flattens assignments (sorted) and headers (repeated names kept, strings as bytes)', () => {
    expect(flattenAssignment({ b: [1, 0], a: [2] })).toEqual([
      { topic: 'a', partition: 2 },
      { topic: 'b', partition: 0 },
      { topic: 'b', partition: 1 },
    ]);
    expect(
      diffPartitions(
        [
          { topic: 'a', partition: 0 },
          { topic: 'a', partition: 1 },
        ],
        [{ topic: 'a', partition: 1 }],
      ),
    ).toEqual([{ topic: 'a', partition: 0 }]);
    expect(flattenHeaders({ t: [Buffer.from('1'), '2'], n: undefined })).toEqual([
      { name: 't', value: Buffer.from('1') },
      { name: 't', value: Buffer.from('2') },
      { name: 'n', value: null },
    ]);
  });

  it('a member that holds a partition again goes on after what it delivered, unless the group committed further', () => {
    expect(keptPosition(120, undefined)).toBe(120); // never committed
    expect(keptPosition(120, 100)).toBe(120); // its socket got 100..119, not yet acknowledged
    expect(keptPosition(120, 120)).toBe(120);
    expect(keptPosition(120, 370)).toBe(370); // another member read and committed on meanwhile
  });

  it('starts a new assignment: kept partitions after what was delivered (or the commit, if further), others at the commit, the rest fresh', () => {
    const t = 't';
    const carried = new Map([
      ['0:t', 50], // kept, commit behind
      ['1:t', 50], // kept, commit ahead
      ['2:t', 50], // kept, never committed
    ]);
    const commits: Record<number, number | undefined> = { 0: 40, 1: 90, 2: undefined, 3: 7, 4: undefined };
    const { positions, fresh } = startPositions(
      [0, 1, 2, 3, 4].map((partition) => ({ topic: t, partition })),
      carried,
      (tp) => commits[tp.partition],
    );
    expect(positions).toEqual([
      { topic: t, partition: 0, offset: 50 },
      { topic: t, partition: 1, offset: 90 },
      { topic: t, partition: 2, offset: 50 },
      { topic: t, partition: 3, offset: 7 },
    ]);
    expect(fresh).toEqual([{ topic: t, partition: 4 }]);
  });
});
