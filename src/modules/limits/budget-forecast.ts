// Budget forecasts: a monthly budget the month's run rate will reach before the
// month ends raises BUDGET_FORECAST, with the projected moment, once per budget
// per month. A scheduled job (one instance at a time) asks, not the chat path:
// a warm chat keeps its two statements. One statement a run finds the budgets
// due, from the budgets themselves (the workspace's, its providers', its API
// keys'), each joined to this month's counter in the workspace's time zone;
// the alerts' unique dedupe key makes each one alert across runs and instances.
import type { Sql } from '../../db/sql.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';
import { microsToUsd } from '../../money.js';
import type { AlertDraft, AlertService } from '../alerts/alerts.service.js';
import { capitalize, LIMIT_DESCRIPTION, type LimitKey, usdText } from './guards.js';
import { dayKey } from './periods.js';

/**
 * The month's first 24 hours are no evidence: a morning's calls extrapolated over a month cry wolf on the 1st of
 * every month. A whole day holds a working day and its night, the shortest period whose rate says something of
 * the month's; a budget spent faster than that meets BUDGET_WARNING and BUDGET_REACHED anyway.
 */
const FORECAST_MIN_ELAPSED_MS = 24 * 60 * 60_000;

/** Forecasts raised per run at most (the earliest projected first); the rest wait for the next run. */
const FORECASTS_PER_RUN = 1_000;

/** The rule as the API describes BUDGET_FORECAST. */
export const BUDGET_FORECAST_RULE =
  "A monthly budget (the workspace's, a provider's or an API key's) will be reached before the month ends at this month's rate. " +
  "With elapsed = now - the month's start in the workspace's time zone and spent = the month's spend on the budget, " +
  "projected = month start + budget × elapsed / spent; raised when projected is before the month's end and spent is still under the budget, " +
  'from 24 hours into the month (checked every BUDGET_FORECAST_INTERVAL_MS), once per budget per month. ' +
  'data: limit, scope, period, budgetUsd, spentUsd, projectedAt.';

interface Forecast {
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

function draftOf(forecast: Forecast): AlertDraft {
  const { limit, budgetMicros, spentMicros, projectedAt, period } = forecast;
  const message =
    `${capitalize(LIMIT_DESCRIPTION[limit])} (${usdText(budgetMicros)}) will be reached around ${dayKey(projectedAt, forecast.timezone)} ` +
    `at this month's rate (${usdText(spentMicros)} spent in ${period} so far)`;
  return {
    kind: 'BUDGET_FORECAST',
    severity: 'WARNING',
    providerId: forecast.providerId,
    message: forecast.name === null ? message : `${forecast.name}: ${message}`,
    data: {
      limit,
      scope: forecast.scope,
      period,
      budgetUsd: microsToUsd(budgetMicros),
      spentUsd: microsToUsd(spentMicros),
      projectedAt: projectedAt.toISOString(),
    },
    dedupeKey: `BUDGET_FORECAST:${forecast.scope}:${period}`,
  };
}

export function createBudgetForecast(deps: { sql: Sql; alerts: Pick<AlertService, 'raise'>; clock: () => Date }) {
  return {
    /** Raises the forecasts due now; one workspace's failure is reported and holds up no other. */
    async raiseDue(itemFailed: ItemFailed): Promise<Record<string, unknown>> {
      const due = await deps.sql.query<Forecast>(DUE, [deps.clock(), FORECAST_MIN_ELAPSED_MS / 1000, FORECASTS_PER_RUN]);
      const byWorkspace = new Map<string, Forecast[]>();
      for (const forecast of due) byWorkspace.set(forecast.workspaceId, [...(byWorkspace.get(forecast.workspaceId) ?? []), forecast]);
      let raised = 0;
      const failed = await forEachItem(
        byWorkspace,
        ([workspaceId]) => `workspace ${workspaceId}`,
        async ([workspaceId, forecasts]) => void (raised += await deps.alerts.raise(workspaceId, forecasts.map(draftOf))),
        itemFailed,
      );
      return { due: due.length, raised, ...(failed ? { failed } : {}) };
    },
  };
}

export type BudgetForecast = ReturnType<typeof createBudgetForecast>;
