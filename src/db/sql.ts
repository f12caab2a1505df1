// Plain SQL on the same database Prisma uses, for the statements on every
// chat's path and for reports: one round trip, no query engine in between.
// A Prisma model query costs ~820 µs of CPU here and `$queryRaw` ~320 µs; a
// statement through this executor ~150 µs (bench:chat, README).
//
// Both drivers return the same JavaScript types: int8 as bigint, numeric as
// string, timestamptz as Date, bytea as Uint8Array, json as parsed values.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { LockSession } from './lock-session.js';
import type { StatementText } from './statement.js';

export interface Sql {
  /** Runs one statement with `$1…$n` placeholders and returns its rows; a named statement is prepared once per connection. */
  query<Row>(text: string | StatementText, values?: readonly unknown[]): Promise<Row[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
  /**
   * Runs `work` while holding the advisory lock `name`, or returns undefined at once when another session (or
   * another run of this process) holds it: what one instance of several must do alone. `work` uses the ordinary
   * connections. `onLost` is called if the lock's session ends while `work` runs (another instance may then take it).
   */
  exclusively<T>(name: string, work: () => Promise<T>, onLost?: () => void): Promise<T | undefined>;
  /**
   * Runs `work` while holding the advisory lock `name`, waiting first while another session holds it, for at
   * most `wait.ms` (then throws LockWaitTimeout); `wait.onWait` is called once when it has to wait.
   */
  inTurn<T>(name: string, wait: { ms: number; onWait?: () => void }, work: () => Promise<T>): Promise<T>;
}

const INT8 = 20;
const parseInt8 = (value: string) => BigInt(value);

/**
 * The pool's type parsers (int8 as bigint), given to `new pg.Pool({ types })`: statements then pass their text
 * and values as they are (pg clones a query config object on every call). Prisma's adapter passes parsers of
 * its own with each query, so it is not affected.
 */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/**
 * Called with the text of each statement before it is sent, a transaction's BEGIN and COMMIT included: tests
 * count a path's statements with it.
 */
export type StatementListener = (text: string) => void;

/**
 * Postgres, on a pool made with PG_TYPES. Only statements given a name are prepared (once per connection): reports
 * build many distinct texts, which would pile up in every server connection.
 */
export function postgresSql(pool: pg.Pool, locks: LockSession, onStatement?: StatementListener): Sql {
  const on =
    (client: pg.Pool | pg.Client): Sql['query'] =>
    async <Row>(statement: string | StatementText, values: readonly unknown[] = []) => {
      const { text, name } = typeof statement === 'string' ? { text: statement, name: undefined } : statement;
      onStatement?.(text);
      const result = await (name
        ? client.query<Row & pg.QueryResultRow>({ name, text, values: values as unknown[] })
        : client.query<Row & pg.QueryResultRow>(text, values as unknown[]));
      return result.rows;
    };
  return {
    query: on(pool),
    async transaction(work) {
      const client = await pool.connect();
      const query = on(client);
      try {
        await query('BEGIN');
        const result = await work({ query });
        await query('COMMIT');
        return result;
      } catch (error) {
        await query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    exclusively: locks.exclusively,
    inTurn: locks.inTurn,
  };
}

/** PGlite: one connection in-process; a transaction holds it exclusively. Statement names are not used. */
export function pgliteSql(db: PGlite, onStatement?: StatementListener): Sql {
  const options = { parsers: { [INT8]: parseInt8 } };
  const on =
    (target: PGlite | Transaction): Sql['query'] =>
    async <Row>(statement: string | StatementText, values: readonly unknown[] = []) => {
      const text = typeof statement === 'string' ? statement : statement.text;
      onStatement?.(text);
      return (await target.query<Row>(text, values as unknown[], options)).rows;
    };
  return {
    query: on(db),
    async transaction(work) {
      // PGlite sends BEGIN and COMMIT (or ROLLBACK) itself.
      onStatement?.('BEGIN');
      try {
        const result = await db.transaction((tx) => work({ query: on(tx) }));
        onStatement?.('COMMIT');
        return result;
      } catch (error) {
        onStatement?.('ROLLBACK');
        throw error;
      }
    },
    // Only one process can open an embedded database: nothing to take turns with.
    exclusively: (_name, work) => work(),
    inTurn: (_name, _wait, work) => work(),
  };
}
