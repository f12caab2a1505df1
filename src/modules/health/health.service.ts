// Provider health, from the ledger itself: the calls of the last window give
// the error share (upstream rate limits counted apart), the median latency and
// the last error. A workspace's figures count its own calls only: a platform
// provider serves every workspace, and one must not see another's traffic. Status moves by conditional updates, so exactly one caller
// makes each transition and raises its alert: a refused key → INVALID at once;
// an error share at or above the threshold over enough calls → DEGRADED; back
// under it → ACTIVE (RECOVERED); a successful test → ACTIVE.
import type { Sql } from '../../db/sql.js';
import type { ProviderStatus } from '../../generated/prisma/enums.js';
import type { AlertService } from '../alerts/alerts.service.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';

export interface HealthPolicy {
  windowMs: number;
  minCalls: number;
  /** 0..1: at or above this share of failed calls, a provider is DEGRADED. */
  degradedErrorRate: number;
}

/** A provider as one workspace sees it. */
interface ProviderRef {
  id: string;
  workspaceId: string;
}

export interface HealthWindow {
  requests: number;
  failed: number;
  rateLimited: number;
  errorRate: number;
  latencyP50Ms: number | null;
  lastCallAt: Date | null;
}

type Transition = { to: 'DEGRADED' | 'INVALID' | 'ACTIVE'; from: ProviderStatus[]; alert: 'PROVIDER_DEGRADED' | 'PROVIDER_INVALID' | 'PROVIDER_RECOVERED' };
const TO_DEGRADED: Transition = { to: 'DEGRADED', from: ['ACTIVE'], alert: 'PROVIDER_DEGRADED' };
const TO_INVALID: Transition = { to: 'INVALID', from: ['ACTIVE', 'DEGRADED'], alert: 'PROVIDER_INVALID' };
const RECOVERED: Transition = { to: 'ACTIVE', from: ['DEGRADED', 'INVALID'], alert: 'PROVIDER_RECOVERED' };

export interface HealthServiceDeps {
  sql: Sql;
  alerts: Pick<AlertService, 'raise'>;
  clock: () => Date;
  policy: HealthPolicy;
  /** A provider's status moved: routing must see it. */
  routingChanged: (workspaceId: string) => void;
}

export function createHealthService(deps: HealthServiceDeps) {
  const { sql, policy } = deps;

  /** The provider's calls in the window, made by `provider.workspaceId` (the viewer's, for a platform provider). */
  async function window(provider: ProviderRef): Promise<HealthWindow> {
    const [row] = await sql.query<{ requests: bigint; failed: bigint; rate_limited: bigint; p50: number | null; last_at: Date | null }>(
      `SELECT count(*) AS requests,
        count(*) FILTER (WHERE status = 'FAILED' AND error_code IS DISTINCT FROM 'UPSTREAM_RATE_LIMITED') AS failed,
        count(*) FILTER (WHERE error_code = 'UPSTREAM_RATE_LIMITED') AS rate_limited,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, max(created_at) AS last_at
      FROM usage_events WHERE workspace_id = $1 AND provider_id = $2::uuid AND created_at >= $3 AND status IN ('SUCCEEDED', 'FAILED')`,
      [provider.workspaceId, provider.id, new Date(deps.clock().getTime() - policy.windowMs)],
    );
    const requests = Number(row.requests);
    const failed = Number(row.failed);
    return { requests, failed, rateLimited: Number(row.rate_limited), errorRate: requests ? failed / requests : 0, latencyP50Ms: row.p50, lastCallAt: row.last_at };
  }

  /** Moves the provider if it is still in a `from` state; the caller that moved it raises the alert. */
  async function transition(providerId: string, change: Transition, message: string | null): Promise<boolean> {
    const now = deps.clock();
    const [moved] = await sql.query<{ workspace_id: string; label: string }>(
      `UPDATE providers SET status = $2::"ProviderStatus", last_error = COALESCE($3, last_error), updated_at = $4
      WHERE id = $1::uuid AND status = ANY($5::"ProviderStatus"[]) AND deleted_at IS NULL RETURNING workspace_id, label`,
      [providerId, change.to, message, now, change.from],
    );
    if (!moved) return false;
    deps.routingChanged(moved.workspace_id);
    const what = { PROVIDER_DEGRADED: 'is failing often and is used only when no other provider can answer', PROVIDER_INVALID: 'refused its key: calls go elsewhere until a test succeeds', PROVIDER_RECOVERED: 'is healthy again' }[change.alert];
    await deps.alerts.raise(moved.workspace_id, [
      {
        kind: change.alert,
        severity: change.alert === 'PROVIDER_RECOVERED' ? 'INFO' : change.alert === 'PROVIDER_INVALID' ? 'CRITICAL' : 'WARNING',
        providerId,
        message: `${moved.label} ${what}${message && change.alert !== 'PROVIDER_RECOVERED' ? ` (${message})` : ''}`,
        data: { status: change.to },
        dedupeKey: `${change.alert}:${providerId}:${now.toISOString()}`,
      },
    ]);
    return true;
  }

  return {
    window,

    /** After each finished call. Costs a query only when the outcome could change the provider's status. */
    async afterCall(provider: ProviderRef & { status: ProviderStatus }, outcome: { status: string; errorCode: string | null; message: string | null }): Promise<void> {
      if (outcome.errorCode === 'INVALID_CREDENTIALS') {
        await transition(provider.id, TO_INVALID, outcome.message);
        return;
      }
      const failed = outcome.status === 'FAILED' && outcome.errorCode !== 'UPSTREAM_RATE_LIMITED';
      if (failed && provider.status === 'ACTIVE') {
        const health = await window(provider);
        if (health.requests >= policy.minCalls && health.errorRate >= policy.degradedErrorRate) await transition(provider.id, TO_DEGRADED, outcome.message);
      } else if (outcome.status === 'SUCCEEDED' && provider.status === 'DEGRADED') {
        await recoverIfHealthy(provider);
      }
    },

    /** A successful key test restores an INVALID or DEGRADED provider. */
    restored: (providerId: string) => transition(providerId, RECOVERED, null),

    /** A key test was refused for the key itself. */
    invalid: (providerId: string, message: string) => transition(providerId, TO_INVALID, message),

    /** DEGRADED providers whose failures have aged out of the window recover without traffic (a scheduled job). */
    async recheckDegraded(itemFailed: ItemFailed): Promise<{ recovered: number; failed: number }> {
      const degraded = await sql.query<ProviderRef>(`SELECT id::text, workspace_id AS "workspaceId" FROM providers WHERE status = 'DEGRADED' AND deleted_at IS NULL`);
      let recovered = 0;
      const failed = await forEachItem(degraded, (provider) => `provider ${provider.id}`, async (provider) => void ((await recoverIfHealthy(provider)) && recovered++), itemFailed);
      return { recovered, failed };
    },
  };

  async function recoverIfHealthy(provider: ProviderRef): Promise<boolean> {
    const health = await window(provider);
    return health.errorRate < policy.degradedErrorRate && transition(provider.id, { ...RECOVERED, from: ['DEGRADED'] }, null);
  }
}

export type HealthService = ReturnType<typeof createHealthService>;
