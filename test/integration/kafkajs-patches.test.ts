// The integration process runs kafkajs exactly as production does: a produce through the gateway goes through the
// gateway's O(n) grouping (src/kafka/kafkajs-patches.ts), not kafkajs's original, even though the test helpers
// import kafkajs themselves.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { JSON_V2, post, startTestGateway } from '../helpers/gateway.js';
import { createTopic, uniqueTopic } from '../helpers/kafka.js';
import { captureLog } from '../helpers/log-capture.js';

/** The patch module's own counter, read without importing it (that import would put it first by itself). */
const patchedGroupingCalls = () =>
  (globalThis as Record<symbol, { groupingCalls: number } | undefined>)[Symbol.for('kafka-gateway.kafkajs-patches')]
    ?.groupingCalls ?? 0;

let gw: Gateway;
const log = captureLog('info');
const topic = uniqueTopic('patches');

beforeAll(async () => {
  await createTopic(inject('kafkaBrokers'), topic, 2);
  // About kafkajs: pinned to it even when KGW_TEST_KAFKA_CLIENT runs the files on the other library.
  gw = await startTestGateway({ KAFKA_CLIENT: 'kafkajs' }, { options: { logger: log.logger } });
});
afterAll(() => gw?.close());

it('a produce through the gateway is grouped by the patched grouping', async () => {
  const before = patchedGroupingCalls();
  const res = await post(gw, `/topics/${topic}`, JSON_V2, { records: [{ value: 1 }, { value: 2, partition: 1 }] });
  expect(res.status).toBe(200);
  expect(res.body.offsets.map((o: { error_code: unknown }) => o.error_code)).toEqual([null, null]);
  expect(patchedGroupingCalls()).toBeGreaterThan(before);
});

it('says at start-up which patches applied, to which kafkajs', () => {
  const line = log.lines.find((l) => l.msg === 'kafkajs patches applied');
  expect(line).toMatchObject({
    kafkajs: '2.2.4',
    patches: [
      'O(n) record grouping',
      'wake on resume',
      'quiet request queue',
      'record decoding with numbers',
      'idle connections release their last response',
      'commits stay in their generation',
    ],
  });
});
