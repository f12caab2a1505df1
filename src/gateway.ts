// One gateway process's parts, started in order: database (migrated when
// configured), pub/sub, the app listening. Used by `npm start` and `npm run demo`.
import { type App, buildApp } from './app.js';
import type { Config } from './config.js';
import { databaseSource, openDatabase } from './db/client.js';
import { migrate } from './db/migrate.js';
import { databaseUnavailableCode } from './db/unavailable.js';
import { StartupError } from './errors.js';
import type { Logger } from './logging/logger.js';
import { createPubSubBus } from './pubsub/pubsub.js';

export interface RunningGateway {
  app: App;
  /** e.g. http://localhost:4000 */
  url: string;
  /** Graceful stop, then the database and pub/sub closed. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const startedAt = performance.now();
  const db = await openDatabase(databaseSource(config));
  if (config.migrateOnStart) {
    const applied = await migrate(db, {
      lockWaitMs: config.migrateLockTimeoutMs,
      onWait: () => logger.info('another instance is applying migrations: waiting for it (MIGRATE_LOCK_TIMEOUT_MS)'),
    }).catch((error: unknown) => {
      const code = databaseUnavailableCode(error);
      if (code === undefined) throw error;
      throw new StartupError(`DATABASE_URL: the database does not answer (${code}), so its migrations cannot be applied: start it, or check the URL`);
    });
    if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} migration(s)`);
  }
  const bus = await createPubSubBus(config.redisUrl, logger);
  const app = buildApp({ config, db, bus, logger });
  const { url } = await app.start().catch((error: unknown) => {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    throw new StartupError(`PORT: ${config.host}:${config.port} is in use: stop what holds it, or set PORT to another port`);
  });
  logger.info(
    {
      url: `${url}/graphql`,
      database: db.embedded ? `pglite (${config.dataDir})` : 'postgres',
      pubsub: bus.transport,
      startupMs: Math.round(performance.now() - startedAt),
    },
    `gateway listening on ${url}/graphql`,
  );
  return {
    app,
    url,
    stop: async () => {
      await app.stop();
      await Promise.allSettled([bus.close(), db.close()]);
    },
  };
}
