// The checks CI relies on must pass now and must be able to fail.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import { buildSchema } from 'graphql';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSchemaEngine, pendingSchemaDiff, SCHEMA_PATH } from '../../src/db/schema-engine.js';
import { printedSchema, SCHEMA_FILE, schemaDrift } from '../../src/graphql/print-schema.js';
import { contractMismatches } from '../testkit/contract.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

describe('GraphQL schema drift', () => {
  it('schema/schema.graphql is what the code prints', async () => {
    expect(schemaDrift(await readFile(SCHEMA_FILE, 'utf8'))).toBe('');
  });

  it('the check fails, with a non-zero exit, when the file differs', async () => {
    const stale = printedSchema().replace('type Viewer {', 'type Viewer {\n  removedField: String');
    expect(schemaDrift(stale)).toContain('npm run schema:print');
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'drift-')), 'schema.graphql');
    await writeFile(file, stale);
    const env = { ...process.env };
    delete env.NODE_ENV;
    const failure = await run(process.execPath, ['--import', 'tsx', 'src/cli/schema-print.ts', '--check', file], { cwd: ROOT, env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('differs');
  });

  it('keeps the names and shapes of the public contract for everything built so far', async () => {
    const contract = buildSchema(await readFile(path.join(ROOT, 'schema/api-contract.graphql'), 'utf8'));
    const ours = buildSchema(printedSchema());
    expect(contractMismatches(contract, ours)).toEqual([]);
    expect(Object.keys(ours.getQueryType()!.getFields())).toContain('viewer');
  });

  it('the contract check notices a renamed field, a changed type and a missing argument', () => {
    const contract = buildSchema('type Query { viewer(id: ID!): Viewer! } type Viewer { userId: ID! role: String! }');
    const drifted = buildSchema('type Query { viewer: Viewer! } type Viewer { user: ID! role: Int! }');
    expect(contractMismatches(contract, drifted)).toEqual(['Query.viewer(id:) missing or of another type', 'Viewer.role: Int! (contract: String!)', 'Viewer.userId missing']);
  });
});

describe('migration drift', () => {
  let engine: SchemaEngine;
  beforeAll(async () => {
    engine = await openSchemaEngine(new PrismaPGlite(new PGlite()));
  });
  afterAll(() => engine?.free());

  it('prisma/migrations produce exactly schema.prisma', async () => {
    expect(await pendingSchemaDiff(engine)).toBe('');
  });

  it('a schema change without a migration is reported with its SQL', async () => {
    const schema = await readFile(SCHEMA_PATH, 'utf8');
    const changed = `${schema}\nmodel DriftProbe {\n  id Int @id\n  @@map("drift_probe")\n}\n`;
    expect(await pendingSchemaDiff(engine, changed)).toContain('CREATE TABLE "drift_probe"');
  });
});
