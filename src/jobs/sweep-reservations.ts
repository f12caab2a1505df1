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
        SELECT c.scope, c.period, sum(reserved_tokens)::int8 AS tokens, sum(reserved_micros)::int8 AS micros, count(*) AS calls
        FROM finished, LATERAL (VALUES
          (provider_scope, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD')), (provider_scope, to_char(created_at AT TIME ZONE tz, 'YYYY-MM')),
          ('workspace:' || workspace_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD')), ('workspace:' || workspace_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM')),
          -- A call made with a gateway API key was reserved on the key's counters too (NULL scopes for the others).
          ('apikey:' || api_key_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM-DD')), ('apikey:' || api_key_id, to_char(created_at AT TIME ZONE tz, 'YYYY-MM'))
        ) AS c(scope, period)
        WHERE c.scope IS NOT NULL
        GROUP BY 1, 2
      ), counters AS (
        UPDATE usage_counters u SET tokens = u.tokens - c.tokens, cost_micros = u.cost_micros - c.micros, requests = u.requests + c.calls
        FROM corrections c WHERE u.scope = c.scope AND u.period = c.period
      ), ${rollupUpserts('tz')}
      SELECT count(*) AS swept FROM swept`,
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
