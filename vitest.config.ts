import { defineConfig } from 'vitest/config';

// Two suites: pure logic (no broker) and integration against a real Kafka broker started by globalSetup.
export default defineConfig({
  test: {
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    // kafkajs is patched before anything loads it, in every test process, as src/kafka/ does in production.
    setupFiles: ['test/setup/kafkajs-patches.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Pure logic first and fast; projects with different worker counts need their own group.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/kafka.global.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // 2 cores and one shared broker: a couple of files at once is the sweet spot.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
