// Budget forecasts: a monthly budget the month's run rate will reach before the
// month ends raises BUDGET_FORECAST, with the projected moment, once per budget
// per month. A scheduled job (one instance at a time) asks, not the chat path:
// a warm chat keeps its two statements. One statement a run finds the budgets
// due (budget-forecast.repository.ts), from the budgets themselves (the workspace's, its providers', its API
// keys'), each joined to this month's counter in the workspace's time zone;
// the alerts' unique dedupe key makes each one alert across runs and instances.
import type { Sql } from '../../db/sql.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';
import { microsToUsd } from '../../money.js';
import type { AlertDraft, AlertService } from '../alerts/alerts.service.js';
import { dueForecasts, type Forecast } from './budget-forecast.repository.js';
import { capitalize, LIMIT_DESCRIPTION, usdText } from './guards.js';
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
      const due = await dueForecasts(deps.sql, deps.clock(), FORECAST_MIN_ELAPSED_MS / 1000, FORECASTS_PER_RUN);
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
