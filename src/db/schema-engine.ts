// Prisma's schema engine compiled to WASM, driven through a driver adapter.
// The native engine cannot be downloaded on our machines; this one ships in npm.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const require = createRequire(import.meta.url);

export const SCHEMA_PATH = path.resolve(import.meta.dirname, '../../prisma/schema.prisma');
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations');
export const NO_FILTERS = { externalTables: [], externalEnums: [] };

type EngineModule = typeof import('@prisma/schema-engine-wasm');
let wasmModule: Promise<EngineModule> | undefined;

// Node 20 cannot `import` a .wasm file, so the wasm-bindgen glue is wired by hand.
function loadWasm() {
  wasmModule ??= (async () => {
    const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = await import(bgPath);
    const bytes = await readFile(path.join(path.dirname(bgPath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
    return bg as EngineModule;
  })();
  return wasmModule;
}

/** The shadow database for diffs is always a throwaway in-memory PGlite. */
function withThrowawayShadow(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => factory.connect(),
    connectToShadowDb: () => new PrismaPGlite(new PGlite()).connect(),
  };
}

export async function openSchemaEngine(factory: SqlMigrationAwareDriverAdapterFactory): Promise<SchemaEngine> {
  const wasm = await loadWasm();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const bound = bindMigrationAwareSqlAdapterFactory(withThrowawayShadow(factory));
  return wasm.SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema]] }, () => {}, bound);
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationList> {
  const names = (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const lockPath = path.join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: await readFile(lockPath, 'utf8').catch(() => null) },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(path.join(dir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

/** The SQL that would bring the migrations to the schema; empty when they match. */
export async function pendingSchemaDiff(engine: SchemaEngine, schemaText?: string, migrationsDir = MIGRATIONS_DIR): Promise<string> {
  const content = schemaText ?? (await readFile(SCHEMA_PATH, 'utf8'));
  const result = await engine.diff({
    from: { tag: 'migrations', ...(await readMigrations(migrationsDir)) },
    to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content }] },
    script: true,
    exitCode: null,
    filters: NO_FILTERS,
  });
  const sql = result.stdout ?? '';
  return sql.includes('This is an empty migration.') ? '' : sql;
}
