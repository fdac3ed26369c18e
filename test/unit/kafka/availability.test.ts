// The availability tracker answers what Kafka can do: 503 50302 means no broker answers. A send that could not
// reach one broker (one of three dead) only asks for a check; one failed check is confirmed before requests are
// refused; a check that failed while the event loop stalled (CPU-starved machine) is not counted; a configuration
// problem (SASL/TLS) counts at once.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Availability } from '../../../src/kafka/availability.js';
import { until } from '../../helpers/produce-history.js';

const refused = () =>
  Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9093'), {
    name: 'KafkaJSConnectionError',
    code: 'ECONNREFUSED',
  });
const saslFailure = () =>
  Object.assign(new Error('SASL SCRAM SHA256 authentication failed: Authentication failed during authentication'), {
    name: 'KafkaJSSASLAuthenticationError',
  });

const trackers: Availability[] = [];
afterEach(() => {
  for (const a of trackers.splice(0)) a.close();
});

/** A tracker whose probe answers from `script` (true = the cluster answered), then keeps answering the last one. */
async function upTracker(script: Array<true | Error | (() => Promise<void>)>) {
  const calls = { n: 0 };
  const a = new Availability({
    logger: pino({ level: 'silent' }),
    intervalMs: 20,
    probe: async () => {
      const step = script[Math.min(calls.n++, script.length - 1)]!;
      if (step === true) return;
      if (step instanceof Error) throw step;
      await step();
    },
  });
  trackers.push(a);
  await a.start();
  expect(a.isUp).toBe(true);
  return { a, calls };
}

describe('Availability', () => {
  it('a send that could not reach one broker does not refuse requests while the cluster answers', async () => {
    const { a, calls } = await upTracker([true]);
    let down = 0;
    a.on('down', () => down++);
    a.suspect(refused());
    await until('the check ran', () => calls.n >= 2, 2000);
    expect(a.isUp).toBe(true);
    expect(down).toBe(0);
  });

  it('one failed check is confirmed before requests are refused; two in a row refuse them', async () => {
    const { a, calls } = await upTracker([true, refused(), true]);
    let down = 0;
    a.on('down', () => down++);
    a.suspect(refused());
    await until('the confirming check ran', () => calls.n >= 3, 2000);
    expect(a.isUp).toBe(true);
    expect(down).toBe(0);

    const b = (await upTracker([true, refused()])).a;
    b.suspect(refused());
    await until('down after two failed checks', () => !b.isUp, 3000);
    expect(b.lastError).toMatch(/ECONNREFUSED/);
  });

  it('a check that failed while the event loop stalled is not counted', async () => {
    const stallThenFail = async () => {
      const end = Date.now() + 1300;
      while (Date.now() < end) {
        /* the CPU-starved machine: nothing else runs */
      }
      await new Promise((r) => setTimeout(r, 30));
      throw Object.assign(new Error('Request Produce(key: 0, version: 7) timed out'), {
        name: 'KafkaJSRequestTimeoutError',
      });
    };
    const { a, calls } = await upTracker([true, stallThenFail, stallThenFail, true]);
    a.suspect(refused());
    await until('the checks ran', () => calls.n >= 4, 10_000);
    expect(a.isUp).toBe(true);
  }, 15_000);

  it('an authentication failure refuses requests at once, with a reason naming it', async () => {
    const { a } = await upTracker([true]);
    a.suspect(saslFailure());
    expect(a.isUp).toBe(false);
    expect(a.lastError).toMatch(/SASL authentication failed/);
    // A refused client is told the cause it can recognise, without the settings /readyz names for the operator.
    expect(a.refusal).toBe(
      'The gateway cannot authenticate to Kafka (Kafka refused its credentials); nothing was sent.',
    );
  });

  it('refuses with "no broker is reachable" when that is the cause', async () => {
    const { a } = await upTracker([true, refused()]);
    a.suspect(refused());
    await until('down after two failed checks', () => !a.isUp, 3000);
    expect(a.refusal).toBe('No Kafka broker is reachable; nothing was sent.');
  });
});
