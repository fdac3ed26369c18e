/**
 * Production entry (`npm start`): needs KAFKA_BROKERS, never starts a broker.
 */
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './server.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kafka-gateway: bad configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const gw = await startGateway(config);
  gw.logger.info({ url: gw.url, brokers: config.KAFKA_BROKERS, auth: config.AUTH_MODE }, 'gateway listening');

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      gw.logger.warn('second signal: exiting now');
      process.exit(1);
    }
    gw.logger.info({ signal }, 'shutting down');
    gw.close().then(
      () => process.exit(0),
      (e: unknown) => {
        gw.logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`kafka-gateway: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
