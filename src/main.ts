// Process entry: configuration, the gateway, and signals.
import { ConfigError, loadConfig } from './config.js';
import { StartupError } from './errors.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logging/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  for (const notice of config.notices) logger.info(notice);

  let gateway;
  try {
    gateway = await startGateway(config, logger);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  logger.info(`console at ${gateway.url}/console/`);
  if (!config.production) {
    logger.info('get a development token with: npm run token -- --workspace acme --user alice --role owner');
  }

  const onSignal = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    try {
      await gateway.stop();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

await main();
