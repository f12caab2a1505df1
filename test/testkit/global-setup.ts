// Once per run: build the console and the server bundle (what `npm start` runs), and migrate a template database. With DATABASE_URL that is the
// Postgres database itself; otherwise an in-memory PGlite whose data directory
// is dumped to a file that every test server loads (fresh, already migrated).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { buildServer } from '../../src/build-server.js';
import { buildConsole } from '../../src/console/build.js';
import { openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  // The console the gateway serves at /console/ (the browser tests open it).
  await Promise.all([buildConsole(), buildServer()]);
  const url = process.env.DATABASE_URL;
  if (url) {
    const db = await openDatabase({ kind: 'postgres', url });
    await migrate(db);
    await db.close();
    project.provide('pgliteTemplate', '');
    return;
  }
  const pglite = new PGlite();
  const db = await openDatabase({ kind: 'pglite', instance: pglite });
  await migrate(db);
  const dump = await pglite.dumpDataDir('none');
  const file = path.join(tmpdir(), `gateway-template-${process.pid}.tar`);
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  await db.close();
  project.provide('pgliteTemplate', file);
}
