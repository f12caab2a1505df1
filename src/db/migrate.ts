// Applies prisma/migrations exactly as `prisma migrate deploy` would (same
// `_prisma_migrations` bookkeeping), through the WASM schema engine.
import type { Database } from './client.js';
import { NO_FILTERS, openSchemaEngine, readMigrations } from './schema-engine.js';

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
 */
export async function migrate(db: Database): Promise<string[]> {
  if ((await unappliedMigrations(db)).length === 0) return [];
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
