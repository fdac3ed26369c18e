/**
 * kafkajs keeps every topic an admin client looked up offsets for in its metadata "targets" and refreshes them all
 * together; once one of them is deleted (by anyone), every refresh fails with UNKNOWN_TOPIC_OR_PARTITION and the
 * client cannot read offsets of any other topic until it is replaced (kafkajs has no public way to drop a target).
 * This admin replaces its kafkajs client when an offsets call says "unknown topic" for a topic whose metadata (read
 * without targets) says it exists, then retries once. Everything else passes straight through.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import { protocolType } from './errors.js';

const RENEWED = new Set<keyof Admin>(['fetchTopicOffsets', 'fetchTopicOffsetsByTimestamp']);

export function renewingAdmin(create: () => Admin, logger: Logger): Admin {
  let current = create();
  let connected = false;
  let renewing: Promise<void> | undefined;

  async function topicExists(topic: string): Promise<boolean> {
    try {
      const md = await current.fetchTopicMetadata({ topics: [topic] });
      return md.topics.some((t) => t.name === topic);
    } catch {
      return false;
    }
  }

  function renew(): Promise<void> {
    renewing ??= (async () => {
      const fresh = create();
      await fresh.connect();
      const old = current;
      current = fresh;
      logger.info(
        'new admin client: a topic it had read offsets of was deleted, which poisons kafkajs metadata refreshes',
      );
      void old.disconnect().catch(() => {});
    })().finally(() => {
      renewing = undefined;
    });
    return renewing;
  }

  return new Proxy({} as Admin, {
    get(_t, prop: keyof Admin) {
      if (prop === 'connect')
        return async () => {
          await current.connect();
          connected = true;
        };
      if (prop === 'disconnect')
        return async () => {
          connected = false;
          await current.disconnect();
        };
      const value = current[prop];
      if (typeof value !== 'function') return value;
      if (!RENEWED.has(prop)) return (...args: unknown[]) => (current[prop] as (...a: unknown[]) => unknown)(...args);
      return async (...args: unknown[]) => {
        const call = () => (current[prop] as (...a: unknown[]) => Promise<unknown>)(...args);
        try {
          return await call();
        } catch (e) {
          const topic = args[0];
          if (
            !connected ||
            protocolType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION' ||
            typeof topic !== 'string' ||
            !(await topicExists(topic))
          )
            throw e;
          await renew();
          return call();
        }
      };
    },
  });
}
