// One client factory: embedded PGlite (default) or a Postgres server.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory, SqlMigrationAwareDriverAdapterFactory, SqlQuery, SqlQueryable, Transaction } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { createLockSession } from './lock-session.js';
import { PG_TYPES, pgliteSql, postgresSql, type Sql, type StatementListener } from './sql.js';

export type DatabaseSource =
  /** `pool` absent (tools, benchmarks): pg's defaults, 10 connections and no limit on the wait for one. */
  | { kind: 'postgres'; url: string; pool?: { size: number; timeoutMs: number } }
  /** A directory to persist in, or an open PGlite (tests hand in an in-memory one). */
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'pglite'; instance: PGlite };

export interface Database {
  readonly prisma: PrismaClient;
  /** Plain SQL on the same connections, for hot paths and reports. */
  readonly sql: Sql;
  /** What the schema engine needs to migrate this same database. */
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  readonly embedded: boolean;
  /**
   * After a migration: PGlite learns the array types when it opens, so an array of a type a migration just
   * created (an enum array parameter) would be sent as "A,B" until it reads them again. Postgres needs nothing.
   */
  typesChanged(): Promise<void>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function databaseSource(config: Pick<Config, 'databaseUrl' | 'databasePool' | 'dataDir'>): DatabaseSource {
  return config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl, pool: config.databasePool } : { kind: 'pglite', dataDir: path.join(config.dataDir, 'pgdata') };
}

export interface DatabaseOptions {
  /** Told of every statement, Prisma's included; nothing is observed without it. */
  onStatement?: StatementListener;
}

export async function openDatabase(source: DatabaseSource, { onStatement }: DatabaseOptions = {}): Promise<Database> {
  if (source.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: source.url, max: source.pool?.size, connectionTimeoutMillis: source.pool?.timeoutMs, types: PG_TYPES });
    // An idle connection that dies (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const driver = new PrismaPg(pool);
    const prisma = new PrismaClient({ adapter: onStatement ? observedAdapter(driver, onStatement) : driver });
    const locks = createLockSession(pool.options);
    const sql = postgresSql(pool, locks, onStatement);
    return {
      prisma,
      sql,
      adapterFactory: {
        provider: driver.provider,
        adapterName: driver.adapterName,
        connect: async () => {
          const adapter = await driver.connect();
          // @prisma/adapter-pg runs a migration script split at every ";", which cuts a function body
          // apart: send the script whole instead (the simple query protocol takes many statements).
          return Object.assign(adapter, { executeScript: async (script: string) => void (await pool.query(script)) });
        },
        connectToShadowDb: () => driver.connectToShadowDb(),
      },
      embedded: false,
      typesChanged: async () => undefined,
      ping: async () => void (await sql.query('SELECT 1')),
      close: async () => {
        await prisma.$disconnect();
        await locks.close();
        await pool.end();
      },
    };
  }
  const pglite = 'instance' in source ? source.instance : await PGlite.create(source.dataDir);
  const adapterFactory = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter: onStatement ? observedAdapter(adapterFactory, onStatement) : adapterFactory });
  const sql = pgliteSql(pglite, onStatement);
  return {
    prisma,
    sql,
    adapterFactory,
    embedded: true,
    typesChanged: () => pglite.refreshArrayTypes(),
    ping: async () => void (await sql.query('SELECT 1')),
    close: async () => {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * Prisma's driver adapter, telling `onStatement` of each statement Prisma runs through it. Both adapters send a
 * transaction's BEGIN themselves; Postgres' sends its COMMIT or ROLLBACK through executeRaw, PGlite's (a "phantom
 * query") within commit() or rollback().
 */
function observedAdapter(factory: SqlDriverAdapterFactory, onStatement: StatementListener): SqlDriverAdapterFactory {
  // The queryable with its two statement methods told of; every other member is the queryable's own, its
  // methods called on it (not on the proxy), so private fields and state stay where the adapter keeps them.
  const observed = <T extends SqlQueryable>(queryable: T, overrides: Partial<T> = {}): T => {
    const replaced: Partial<SqlQueryable> = {
      queryRaw: (query: SqlQuery) => (onStatement(query.sql), queryable.queryRaw(query)),
      executeRaw: (query: SqlQuery) => (onStatement(query.sql), queryable.executeRaw(query)),
      ...overrides,
    };
    return new Proxy(queryable, {
      get(target, key) {
        if (key in replaced) return replaced[key as keyof SqlQueryable];
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  const transaction = (tx: Transaction) =>
    observed(tx, tx.options.usePhantomQuery ? { commit: () => (onStatement('COMMIT'), tx.commit()), rollback: () => (onStatement('ROLLBACK'), tx.rollback()) } : {});
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      return observed(adapter, { startTransaction: async (isolationLevel) => (onStatement('BEGIN'), transaction(await adapter.startTransaction(isolationLevel))) });
    },
  };
}
