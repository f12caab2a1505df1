// Process entry: configuration, database, migrations, the app, and signals.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { databaseSource, openDatabase } from './db/client.js';
import { migrate } from './db/migrate.js';
import { createLogger } from './logging/logger.js';
import { createPubSubBus } from './pubsub/pubsub.js';

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

  const startedAt = performance.now();
  const db = await openDatabase(databaseSource(config));
  if (config.migrateOnStart) {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} migration(s)`);
  }
  const bus = await createPubSubBus(config.redisUrl);
  const app = buildApp({ config, db, bus, logger });
  const { url } = await app.start();
  logger.info(
    {
      url: `${url}/graphql`,
      database: db.embedded ? `pglite (${config.dataDir})` : 'postgres',
      pubsub: bus.transport,
      startupMs: Math.round(performance.now() - startedAt),
    },
    `gateway listening on ${url}/graphql`,
  );
  if (!config.production) {
    logger.info('get a development token with: npm run token -- --workspace acme --user alice --role owner');
  }

  const onSignal = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    try {
      await app.stop();
      await Promise.allSettled([bus.close(), db.close()]);
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
