// Plain SQL on the same database Prisma uses, for the statements on every
// chat's path and for reports: one round trip, no query engine in between.
// A Prisma model query costs ~820 µs of CPU here and `$queryRaw` ~320 µs; a
// statement through this executor ~150 µs (bench:chat, README).
//
// Both drivers return the same JavaScript types: int8 as bigint, numeric as
// string, timestamptz as Date, bytea as Uint8Array, json as parsed values.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { StatementText } from './statement.js';

export interface Sql {
  /** Runs one statement with `$1…$n` placeholders and returns its rows; a named statement is prepared once per connection. */
  query<Row>(text: string | StatementText, values?: readonly unknown[]): Promise<Row[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
  /**
   * Runs `work` while holding the advisory lock `name`, or returns undefined at once when another
   * session holds it: what one instance of several must do alone. `work` uses the ordinary connections.
   */
  exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined>;
  /**
   * Runs `work` while holding the advisory lock `name`, waiting first while another session holds it, for at
   * most `wait.ms` (then throws LockWaitTimeout); `wait.onWait` is called once when it has to wait.
   */
  inTurn<T>(name: string, wait: { ms: number; onWait?: () => void }, work: () => Promise<T>): Promise<T>;
}

export class LockWaitTimeout extends Error {
  constructor(
    readonly lockName: string,
    readonly waitedMs: number,
  ) {
    super(`waited ${waitedMs} ms for the advisory lock "${lockName}"`);
    this.name = 'LockWaitTimeout';
  }
}

/** Postgres' SQLSTATE when `lock_timeout` passes. */
const LOCK_NOT_AVAILABLE = '55P03';

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
export function postgresSql(pool: pg.Pool, onStatement?: StatementListener): Sql {
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
  /**
   * Runs `use` on a connection of its own, outside the pool, closed after: a session lock is held there while the
   * work under it takes pooled connections (held on a pooled one, it would starve that work with a small pool: a
   * pool of one could not even migrate). Closing the session releases its locks.
   */
  const onLockSession = async <T>(use: (query: Sql['query']) => Promise<T>): Promise<T> => {
    const client = new pg.Client(pool.options);
    // A connection lost while the work goes on must not end the process: the work's own statements will say so.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await use(on(client));
    } finally {
      await client.end().catch(() => undefined);
    }
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
    exclusively: (name, work) => onLockSession(async (query) => ((await tryLock(query, name)) ? await work() : undefined)),
    inTurn: (name, { ms, onWait }, work) =>
      onLockSession(async (query) => {
        if (!(await tryLock(query, name))) {
          onWait?.();
          // lock_timeout bounds the wait (the session is this lock's alone and ends with it).
          await query("SELECT set_config('lock_timeout', $1, false)", [`${ms}ms`]);
          try {
            await query('SELECT pg_advisory_lock(hashtext($1))', [name]);
          } catch (error) {
            throw (error as { code?: string }).code === LOCK_NOT_AVAILABLE ? new LockWaitTimeout(name, ms) : error;
          }
        }
        return await work();
      }),
  };
}

/** Takes the session lock `name` if no other session holds it. */
async function tryLock(query: Sql['query'], name: string): Promise<boolean> {
  const [row] = await query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
  return row.locked;
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
