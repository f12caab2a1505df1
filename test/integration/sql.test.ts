// The plain-SQL executor returns the same types on PGlite and on Postgres,
// and its transactions commit or roll back as a whole.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { openTestDatabase, testConfig } from '../testkit/server.js';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase(testConfig());
});
afterAll(() => db.close());

describe('sql executor', () => {
  it('returns int8 as bigint (past 2^53), timestamps as Date, bytea as bytes, json parsed', async () => {
    const [row] = await db.sql.query<{ big: bigint; at: Date; bytes: Uint8Array; doc: unknown; small: number }>(
      `SELECT $1::int8 AS big, $2::timestamptz AS at, $3::bytea AS bytes, '{"a":[1]}'::jsonb AS doc, 7::int4 AS small`,
      [9_007_199_254_740_993n, new Date('2026-03-08T07:00:00.123Z'), new Uint8Array([0, 255])],
    );
    expect(row.big).toBe(9_007_199_254_740_993n);
    expect(row.at).toEqual(new Date('2026-03-08T07:00:00.123Z'));
    expect([...row.bytes]).toEqual([0, 255]);
    expect(row.doc).toEqual({ a: [1] });
    expect(row.small).toBe(7);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const scope = `sql-test:${randomUUID()}`;
    const insert = 'INSERT INTO usage_counters (scope, period, workspace_id, tokens) VALUES ($1, $2, $3, 1)';
    await db.sql.transaction(async (tx) => {
      await tx.query(insert, [scope, 'kept', 'ws-sql']);
    });
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query(insert, [scope, 'dropped', 'ws-sql']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const rows = await db.sql.query<{ period: string }>('SELECT period FROM usage_counters WHERE scope = $1', [scope]);
    expect(rows.map((r) => r.period)).toEqual(['kept']);
  });

  it('reports a bad statement as an error and stays usable', async () => {
    await expect(db.sql.query('SELECT no_such_column FROM usage_counters')).rejects.toThrow(/no_such_column/);
    expect(await db.sql.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
