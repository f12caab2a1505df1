// The budgets whose forecast is due: the SQL of budget-forecast.ts.
import type { Sql } from '../../db/sql.js';
import type { LimitKey } from './guards.js';

export interface Forecast {
  workspaceId: string;
  scope: string;
  limit: LimitKey;
  budgetMicros: bigint;
  spentMicros: bigint;
  /** The provider whose budget it is; null for the workspace's and an API key's. */
  providerId: string | null;
  /** The provider's label or the API key's name; null for the workspace's. */
  name: string | null;
  timezone: string;
  period: string;
  projectedAt: Date;
}

/**
 * The budgets set, each with this month's counter in its workspace's zone, whose forecast is due and not yet
 * raised. The projection is compared as elapsed × budget < month × spent (exact numerics: no interval overflows
 * for a budget a million times its spend), then computed in seconds, not days (a day added across a change of
 * clocks is not 24 hours).
 */
const DUE = `WITH budgets AS (
    -- Each budget's counter scope, named as limits/counter-scopes.ts names it (a platform provider has no budget).
    SELECT workspace_id, 'workspace:' || workspace_id AS scope, 'WORKSPACE_MONTHLY_BUDGET' AS limit_key, workspace_monthly_budget_micros AS budget_micros,
      NULL::uuid AS provider_id, NULL::uuid AS api_key_id, NULL::text AS name
    FROM preferences WHERE workspace_monthly_budget_micros IS NOT NULL
    UNION ALL
    SELECT workspace_id, 'provider:' || id, 'PROVIDER_MONTHLY_BUDGET', monthly_budget_micros, id, NULL, label
    FROM providers WHERE monthly_budget_micros IS NOT NULL AND deleted_at IS NULL
    UNION ALL
    -- A key revoked or expired spends no more: its forecast would only be noise.
    SELECT workspace_id, 'apikey:' || id, 'API_KEY_MONTHLY_BUDGET', monthly_budget_micros, NULL, id, name
    FROM api_keys WHERE monthly_budget_micros IS NOT NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)
  ), zoned AS (
    SELECT b.*, z.timezone, date_trunc('month', $1::timestamptz AT TIME ZONE z.timezone) AS local_month
    FROM budgets b LEFT JOIN preferences p ON p.workspace_id = b.workspace_id, LATERAL (SELECT COALESCE(p.timezone, 'UTC') AS timezone) z
  ), months AS (
    SELECT zoned.*, to_char(local_month, 'YYYY-MM') AS period, local_month AT TIME ZONE timezone AS starts_at,
      extract(epoch FROM $1::timestamptz - (local_month AT TIME ZONE timezone)) AS elapsed_s,
      extract(epoch FROM ((local_month + interval '1 month') AT TIME ZONE timezone) - (local_month AT TIME ZONE timezone)) AS month_s
    FROM zoned
  ), spent AS (
    -- A call in flight holds its whole allowance on the counter until it ends: that is no spend yet, and a few large
    -- ones just past the evidence bound would project a date that, once raised, stands for the month.
    SELECT m.*, c.cost_micros - COALESCE(f.micros, 0) AS spent_micros
    FROM months m JOIN usage_counters c ON c.scope = m.scope AND c.period = m.period
    LEFT JOIN LATERAL (
      SELECT sum(e.reserved_micros) AS micros FROM usage_events e
      WHERE e.status = 'RESERVED' AND e.created_at >= m.starts_at AND e.workspace_id = m.workspace_id
        AND (m.provider_id IS NULL OR e.provider_id = m.provider_id) AND (m.api_key_id IS NULL OR e.api_key_id = m.api_key_id)
    ) f ON true
    WHERE m.elapsed_s >= $2
  ), due AS (
    SELECT * FROM spent
    WHERE spent_micros > 0 AND spent_micros < budget_micros AND elapsed_s * budget_micros < month_s * spent_micros
      AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.workspace_id = spent.workspace_id AND a.dedupe_key = 'BUDGET_FORECAST:' || spent.scope || ':' || spent.period)
  )
  SELECT workspace_id AS "workspaceId", scope, limit_key AS "limit", budget_micros AS "budgetMicros", spent_micros AS "spentMicros",
    provider_id::text AS "providerId", name, timezone, period,
    starts_at + make_interval(secs => (elapsed_s * budget_micros / spent_micros)::float8) AS "projectedAt"
  FROM due ORDER BY "projectedAt", scope LIMIT $3`;

/** The forecasts due at `at`, from `minElapsedS` seconds into a budget's month, `limit` at most (the earliest projected first). */
export function dueForecasts(sql: Sql, at: Date, minElapsedS: number, limit: number): Promise<Forecast[]> {
  return sql.query<Forecast>(DUE, [at, minElapsedS, limit]);
}
