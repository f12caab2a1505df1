// One client factory: embedded PGlite (default) or a Postgres server.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';

export type DatabaseSource =
  | { kind: 'postgres'; url: string }
  /** A directory to persist in, or an open PGlite (tests hand in an in-memory one). */
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'pglite'; instance: PGlite };

export interface Database {
  readonly prisma: PrismaClient;
  /** What the schema engine needs to migrate this same database. */
  readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  readonly embedded: boolean;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function databaseSource(config: { databaseUrl?: string; dataDir: string }): DatabaseSource {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl }
    : { kind: 'pglite', dataDir: path.join(config.dataDir, 'pgdata') };
}

export async function openDatabase(source: DatabaseSource): Promise<Database> {
  if (source.kind === 'postgres') {
    const adapterFactory = new PrismaPg({ connectionString: source.url, connectionTimeoutMillis: 5_000 });
    const prisma = new PrismaClient({ adapter: adapterFactory });
    return {
      prisma,
      adapterFactory,
      embedded: false,
      ping: async () => void (await prisma.$queryRaw`SELECT 1`),
      close: () => prisma.$disconnect(),
    };
  }
  const pglite = 'instance' in source ? source.instance : await PGlite.create(source.dataDir);
  const adapterFactory = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter: adapterFactory });
  return {
    prisma,
    adapterFactory,
    embedded: true,
    ping: async () => void (await prisma.$queryRaw`SELECT 1`),
    close: async () => {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}
