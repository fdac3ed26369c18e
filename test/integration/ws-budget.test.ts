// The process-wide send budget (WS_SEND_BUDGET_BYTES) against the real broker: many sockets whose clients stop
// reading would each fill their own send bound; together they stay near the budget, the ones holding the most are
// closed with 4408 after the grace, and the total falls back under the budget; a socket that keeps up is neither held
// nor closed for the laggards' sake.
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';
import { eventually, startWsGateway, WsClient, wsUrl } from '../helpers/ws.js';

const brokers = inject('kafkaBrokers');
let producer: Producer;
const open: WsClient[] = [];

beforeAll(async () => {
  producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});
afterAll(async () => {
  for (const c of open) c.ws.terminate();
  await producer?.disconnect();
});

describe('send budget', () => {
  it('lagging sockets together stay within twice the budget (plus one frame each); the largest are closed with 4408', async () => {
    const highWater = 256 * 1024;
    const budget = 768 * 1024;
    const sockets = 6;
    const graceMs = 1500;
    let g: Gateway | undefined;
    try {
      g = await startWsGateway({
        WS_SEND_HIGH_WATER_BYTES: String(highWater),
        WS_SEND_BUDGET_BYTES: String(budget),
        WS_SLOW_CLIENT_MS: String(graceMs),
      });
      const gw = g;
      const t = uniqueTopic('wsbudget');
      await createTopic(brokers, t, 1);
      const value = 'x'.repeat(32 * 1024);
      const frameBytes = value.length + 512;
      // ~13 MB: more than the kernel's socket buffers on both ends hold, so each socket's own buffer fills.
      const total = 400;
      for (let i = 0; i < total; i += 25)
        await producer.send({ topic: t, acks: -1, messages: Array.from({ length: 25 }, () => ({ value })) });
      // On their own, these sockets could hold sockets × (high water + one frame): well over the budget.
      expect(sockets * highWater).toBeGreaterThan(budget * 1.5);

      const queuedNow = () =>
        gw.ws
          .stats()
          .sockets.reduce((sum, s) => sum + (s.closeCode === null ? s.bufferedAmount + s.queuedBytes : 0), 0);
      let maxQueued = 0;
      let maxHeld = 0;
      const sampler = setInterval(() => {
        maxQueued = Math.max(maxQueued, queuedNow());
        maxHeld = Math.max(maxHeld, gw.ws.stats().budget.held);
      }, 10);
      try {
        for (let i = 0; i < sockets; i++) {
          const c = await WsClient.open(wsUrl(gw));
          open.push(c);
          await c.subscribe({
            id: 'f',
            mode: 'assign',
            partitions: [{ topic: t, partition: 0 }],
            from: 'earliest',
            format: 'string',
          });
          c.ws.pause(); // stop reading: TCP backs up into the gateway's send buffer
        }
        // Every socket is either held by the budget or full on its own, or closed already.
        await eventually(
          () =>
            gw.ws
              .stats()
              .sockets.every((s) => s.closeCode !== null || s.overHighWater || s.subscriptions[0]?.paused === true),
          60_000,
          'every socket stopped taking records',
        );
        // After the grace over the budget, the sockets holding the most were closed (largest first) until it fit.
        await eventually(() => gw.ws.stats().budget.evicted > 0, 30_000, 'an eviction');
        await eventually(() => gw.ws.stats().budget.queuedBytes <= budget, 30_000, 'back under the budget');
      } finally {
        clearInterval(sampler);
      }
      const stats = gw.ws.stats();
      expect(maxHeld).toBeGreaterThan(0);
      // The bound: the budget, plus what sockets within their even share of it (budget ÷ sockets: they are not held)
      // added after the total went over, plus the one frame with which each socket crossed its share.
      expect(maxQueued).toBeLessThanOrEqual(2 * budget + sockets * frameBytes);
      // Far below what they would hold on their own.
      expect(maxQueued).toBeLessThan(sockets * highWater);
      expect(stats.budget.queuedBytes).toBeLessThanOrEqual(budget);
      // The evicted sockets were closed as slow consumers; the others stay open.
      const closed = stats.sockets.filter((s) => s.closeCode !== null);
      for (const s of closed) expect(s.closeCode).toBe(4408);
      expect(stats.budget.evicted).toBeLessThan(sockets);
    } finally {
      for (const c of open.splice(0)) c.ws.terminate();
      await g?.close();
    }
  }, 120_000);

  it('a socket that keeps up gets every record, in time, while laggards fill the budget and are closed', async () => {
    const budget = 512 * 1024;
    const graceMs = 1500;
    let g: Gateway | undefined;
    try {
      g = await startWsGateway({
        WS_SEND_HIGH_WATER_BYTES: String(256 * 1024),
        WS_SEND_BUDGET_BYTES: String(budget),
        WS_SLOW_CLIENT_MS: String(graceMs),
      });
      const gw = g;
      const backlog = uniqueTopic('wsbudget-lag');
      const live = uniqueTopic('wsbudget-live');
      await createTopic(brokers, backlog, 1);
      await createTopic(brokers, live, 1);
      const value = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 400; i += 25)
        await producer.send({ topic: backlog, acks: -1, messages: Array.from({ length: 25 }, () => ({ value })) });

      const healthy = await WsClient.open(wsUrl(gw));
      open.push(healthy);
      await healthy.subscribe({ id: 'live', mode: 'broadcast', topics: [live], format: 'string' });
      const laggards: WsClient[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await WsClient.open(wsUrl(gw));
        open.push(c);
        laggards.push(c);
        await c.subscribe({
          id: 'lag',
          mode: 'assign',
          partitions: [{ topic: backlog, partition: 0 }],
          from: 'earliest',
          format: 'string',
        });
        c.ws.pause();
      }
      // While the laggards hold the budget and until some are evicted: the healthy socket's records keep coming.
      let sent = 0;
      let heldHealthy = false;
      const healthyConn = () => gw.ws.stats().sockets.find((s) => s.subscriptions[0]?.id === 'live');
      while (gw.ws.stats().budget.evicted === 0 && sent < 200) {
        await producer.send({ topic: live, acks: -1, messages: [{ value: `live-${sent++}` }] });
        heldHealthy ||= healthyConn()?.overHighWater === true;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(gw.ws.stats().budget.evicted).toBeGreaterThan(0);
      expect(gw.ws.stats().budget.queuedBytes).toBeGreaterThan(0);
      await healthy.until(() => healthy.records('live').length === sent, 10_000, `all ${sent} live records`);
      expect(healthy.records('live').map((r) => r.value)).toEqual(Array.from({ length: sent }, (_, i) => `live-${i}`));
      expect(heldHealthy).toBe(false);
      expect(healthy.closeCode).toBeUndefined();
      expect(healthyConn()?.closeCode).toBeNull();
      // The ones closed were laggards, as slow consumers.
      const closed = gw.ws.stats().sockets.filter((s) => s.closeCode !== null);
      expect(closed.length).toBeGreaterThan(0);
      for (const s of closed) expect([s.closeCode, s.subscriptions[0]?.id ?? 'lag']).toEqual([4408, 'lag']);
    } finally {
      for (const c of open.splice(0)) c.ws.terminate();
      await g?.close();
    }
  }, 120_000);
});
