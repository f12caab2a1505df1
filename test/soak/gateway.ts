// The gateway as the soaks run it: in their own process (started with
// --expose-gc, so that the heap can be read after a full GC), on a database of
// its own (DATABASE_URL, else an embedded one in a temporary directory), with
// REDIS_URL as the gateway takes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPubSubBus } from '../../src/pubsub/pubsub.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** The heap in use after three full collections: what the process holds on to. */
export function settledMemory(): { rss: number; heapUsed: number } {
  if (!gc) throw new Error('run with node --expose-gc (the soak npm scripts do)');
  for (let i = 0; i < 3; i++) gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

export const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export async function startSoakGateway(env: Record<string, string>) {
  settledMemory();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'soak-'));
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    JWT_SECRET: 'soak-jwt-secret-that-is-at-least-32-bytes-long',
    ENCRYPTION_KEYS: `soak:${Buffer.alloc(32, 3).toString('base64')}`,
    LOG_LEVEL: 'warn',
    ...env,
  });
  const db = await openDatabase(config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir });
  await migrate(db);
  const logger = createLogger(config.logLevel);
  const bus = await createPubSubBus(config.redisUrl, logger);
  const app = buildApp({ config, db, bus, logger });
  const { url } = await app.start();
  return {
    config,
    db,
    bus,
    app,
    url,
    async stop(): Promise<void> {
      await app.stop();
      await bus.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
