import { describe, expect, it } from 'vitest';
import { parseSseQuery } from '../../../src/sse/query.js';

const parse = (q: string) => parseSseQuery(new URLSearchParams(q));
const status = (q: string) => {
  try {
    parse(q);
    return 200;
  } catch (e) {
    return (e as { status: number }).status;
  }
};

describe('GET /sse query', () => {
  it('defaults: every partition, from latest, format json, no filter', () => {
    expect(parse('topic=orders')).toEqual({
      topic: 'orders',
      partitions: undefined,
      from: 'latest',
      format: 'json',
      filter: undefined,
      lastEventId: undefined,
    });
  });

  it('reads partition, from (earliest, offset, time), format, key filters and lastEventId', () => {
    expect(parse('topic=t&partition=0,2&from=earliest&format=base64&keyPrefix=eu&lastEventId=1.x')).toMatchObject({
      partitions: [0, 2],
      from: 'earliest',
      format: 'base64',
      filter: { keyPrefix: 'eu' },
      lastEventId: '1.x',
    });
    expect(parse('topic=t&from=42').from).toEqual({ offset: 42 });
    expect(parse('topic=t&from=@2026-11-25T10:00:00Z').from).toEqual({ timestamp: Date.parse('2026-11-25T10:00:00Z') });
    expect(parse('topic=t&key=k').filter).toEqual({ key: 'k' });
    // `from` without `partition` is a stream's start on every partition (the /ws shortcut refuses it for broadcast).
    expect(parse('topic=t&from=@1732550000000').from).toEqual({ timestamp: 1732550000000 });
  });

  it.each([
    '',
    'partition=0',
    'topic=a,b',
    'topic=',
    'topic=t&partition=',
    'topic=t&partition=0,0',
    'topic=t&partition=-1',
    'topic=t&from=soon',
    'topic=t&format=xml',
    'topic=t&key=a&keyPrefix=b',
    'topic=t&group=g',
    'topic=t&ack=manual',
    'topic=t&window=5',
    'topic=t&what=1',
    'topic=t&from=earliest&from=latest',
  ])('400 for %s', (q) => {
    expect(status(q)).toBe(400);
  });

  it('access_token belongs to authentication and is not part of the query result', () => {
    expect(parse('topic=t&access_token=abc')).not.toHaveProperty('access_token');
  });
});
