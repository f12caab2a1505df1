// Applies prisma/migrations exactly as `prisma migrate deploy` would (same
// `_prisma_migrations` bookkeeping), through the WASM schema engine.
import { DEFAULT_MIGRATE_LOCK_TIMEOUT_MS } from '../config.js';
import { StartupError } from '../errors.js';
import type { Database } from './client.js';
import { LockWaitTimeout } from './lock-session.js';
import { NO_FILTERS, openSchemaEngine, readMigrations } from './schema-engine.js';

const MIGRATION_LOCK = 'gateway:migrations';

export interface MigrateOptions {
  /** How long to wait for another instance that is applying migrations (MIGRATE_LOCK_TIMEOUT_MS). */
  lockWaitMs?: number;
  /** Called once when another instance is applying migrations and this one waits for it. */
  onWait?: () => void;
}

/** Names of migrations in the folder that the database has not finished applying. */
async function unappliedMigrations(db: Database): Promise<string[]> {
  const folder = (await readMigrations()).migrationDirectories.map((dir) => dir.path);
  const [{ exists }] = await db.prisma.$queryRaw<{ exists: boolean }[]>`
    SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`;
  if (!exists) return folder;
  const applied = await db.prisma.$queryRaw<{ migration_name: string }[]>`
    SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  const done = new Set(applied.map((row) => row.migration_name));
  return folder.filter((name) => !done.has(name));
}

/**
 * Applies what is pending and returns the names applied. Opening the schema
 * engine costs seconds (WASM compile), so an up-to-date database skips it.
 * Instances started together take turns under an advisory lock of our own: the
 * first applies, the others wait for it, then find nothing left to apply. (The
 * schema engine's own lock gives up after 10 s with P1002, and applying every
 * migration can take longer than that.)
 */
export async function migrate(db: Database, { lockWaitMs = DEFAULT_MIGRATE_LOCK_TIMEOUT_MS, onWait }: MigrateOptions = {}): Promise<string[]> {
  if ((await unappliedMigrations(db)).length === 0) return [];
  try {
    return await db.sql.inTurn(MIGRATION_LOCK, { ms: lockWaitMs, onWait }, async () => ((await unappliedMigrations(db)).length === 0 ? [] : applyMigrations(db)));
  } catch (error) {
    if (!(error instanceof LockWaitTimeout)) throw error;
    throw new StartupError(
      `Another instance has been applying migrations for over ${lockWaitMs} ms (MIGRATE_LOCK_TIMEOUT_MS): start again once it is done, or raise MIGRATE_LOCK_TIMEOUT_MS.`,
    );
  }
}

async function applyMigrations(db: Database): Promise<string[]> {
  const engine = await openSchemaEngine(db.adapterFactory);
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: await readMigrations(),
      filters: NO_FILTERS,
    });
    if (appliedMigrationNames.length > 0) await db.typesChanged();
    return appliedMigrationNames;
  } finally {
    engine.free();
  }
}
