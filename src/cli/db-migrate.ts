// `npm run db:migrate`: apply pending migrations to the configured database.
// `npm run db:migration -- <name>`: write the next migration from the schema diff.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { loadConfig } from '../config.js';
import { databaseSource, openDatabase } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { MIGRATIONS_DIR, openSchemaEngine, pendingSchemaDiff } from '../db/schema-engine.js';

async function applyCommand(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(databaseSource(config));
  try {
    const applied = await migrate(db, {
      lockWaitMs: config.migrateLockTimeoutMs,
      onWait: () => console.log('Another instance is applying migrations: waiting for it.'),
    });
    console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date.');
  } finally {
    await db.close();
  }
}

async function createCommand(name: string | undefined): Promise<void> {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    throw new Error('Usage: npm run db:migration -- <name>   (lowercase letters, digits and _)');
  }
  // The diff runs against throwaway databases; no server is needed.
  const engine = await openSchemaEngine(new PrismaPGlite(new PGlite()));
  try {
    const sql = await pendingSchemaDiff(engine);
    if (!sql) {
      console.log('schema.prisma and prisma/migrations agree: no migration written.');
      return;
    }
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'migration.sql'), sql);
    console.log(`Wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
  } finally {
    engine.free();
  }
}

const [command, name] = process.argv.slice(2);
try {
  await (command === 'create' ? createCommand(name) : applyCommand());
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
