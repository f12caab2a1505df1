// A call whose process died between reserve and finalize leaves a RESERVED
// row and its estimate on the counters. This job turns RESERVED rows older
// than the bound into ABANDONED ones (no tokens, no cost) and takes their
// estimates back off the counters they were reserved on: a batch in one
// statement, and, should that fail, row by row, so that one row that cannot
// be swept holds up no other (it is reported, and tried again next run).
import type { Sql } from '../db/sql.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { rollupUpserts } from '../modules/usage/ledger.js';
import { forEachItem, type Job } from './scheduler.js';

/** Rows swept per run at most; the rest wait for the next run. */
const BATCH = 10_000;

export function sweepReservationsJob(sql: Sql, options: { olderThanMs: number; everyMs: number; clock: () => Date }): Job {
  async function sweep(ids: string[], now: Date): Promise<number> {
    const [{ swept }] = await sql.query<{ swept: bigint }>(
      `WITH swept AS (
        UPDATE usage_events SET status = 'ABANDONED', error_code = 'ABANDONED', finished_at = $1
        WHERE id = ANY($2::uuid[]) AND status = 'RESERVED'
        RETURNING *
      ), finished AS (
        -- The counters it was reserved on: its day and month in the workspace's time zone; a provider not in
        -- the providers table is a platform provider, counted per workspace (limits/counter-scopes.ts).
        SELECT s.*, COALESCE(p.timezone, 'UTC') AS tz,
          CASE WHEN EXISTS (SELECT 1 FROM providers WHERE providers.id = s.provider_id) THEN 'provider:' || s.provider_id
            ELSE 'platform:' || s.provider_id || ':' || s.workspace_id END AS provider_scope
        FROM swept s LEFT JOIN preferences p ON p.workspace_id = s.workspace_id
      ), corrections AS (
        -- In the guard order (limits/guards.ts), each counter's turn its place in it, as reserve and finalize lock them.
        SELECT c.scope, c.period, min(c.turn) AS turn, min(workspace_id) AS workspace_id, sum(reserved_tokens)::int8 AS tokens,
          sum(reserved_micros)::int8 AS micros, count(*) AS calls
        FROM finished, LATERAL (VALUES
          (provider_scope, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD'), 0), (provider_scope, to_char(created_at AT TIME ZONE tz, 'YYYY-MM'), 1),
          ('workspace:' || workspace_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD'), 2), ('workspace:' || workspace_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM'), 3),
          -- A call made with a gateway API key was reserved on the key's counters too (NULL scopes for the others).
          ('apikey:' || api_key_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD'), 4), ('apikey:' || api_key_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM'), 5)
        ) AS c(scope, period, turn)
        WHERE c.scope IS NOT NULL
        GROUP BY 1, 2
      ), counters AS (
        -- Locked in the guard order, then by name, as finalize locks them (an upsert's rows are written in its
        -- SELECT's order; the reservation made each row, so none is inserted here).
        INSERT INTO usage_counters AS u (scope, period, workspace_id, tokens, cost_micros, requests)
        SELECT scope, period, workspace_id, -tokens, -micros, calls FROM corrections ORDER BY turn, scope, period
        ON CONFLICT (scope, period) DO UPDATE SET tokens = u.tokens + EXCLUDED.tokens, cost_micros = u.cost_micros + EXCLUDED.cost_micros,
          requests = u.requests + EXCLUDED.requests
        RETURNING 1
      ), ${rollupUpserts('tz')}
      -- The counters are written by this query, the rollups after it: as in finalize, counter rows are locked
      -- before rollup rows (a sweep and a finalize locking them in opposite orders could deadlock).
      SELECT (SELECT count(*) FROM counters) AS corrected, (SELECT count(*) FROM swept) AS swept`,
      [now, ids],
    );
    return Number(swept);
  }

  return {
    name: 'sweep-reservations',
    everyMs: options.everyMs,
    async run(itemFailed) {
      const now = options.clock();
      const stale = await sql.query<{ id: string }>(`SELECT id::text FROM usage_events WHERE status = 'RESERVED' AND created_at < $1 ORDER BY created_at LIMIT ${BATCH}`, [
        new Date(now.getTime() - options.olderThanMs),
      ]);
      const ids = stale.map((row) => row.id);
      if (ids.length === 0) return { swept: 0 };
      try {
        return { swept: await sweep(ids, now) };
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        let swept = 0;
        const failed = await forEachItem(
          ids,
          (id) => `usage_events ${id}`,
          async (id) => void (swept += await sweep([id], now)),
          itemFailed,
        );
        return { swept, failed };
      }
    },
  };
}
