// Provider health, from the ledger itself: the calls of the last window give
// the error share (upstream rate limits counted apart), the median latency and
// the last error. A workspace's figures count its own calls only: a platform
// provider serves every workspace, and one must not see another's traffic. Status moves by conditional updates, so exactly one caller
// makes each transition and raises its alert: a refused key → INVALID at once;
// an error share at or above the threshold over enough calls → DEGRADED; back
// under it → ACTIVE (RECOVERED); a successful test → ACTIVE.
import type { ProviderStatus } from '../../generated/prisma/enums.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';
import type { AlertService } from '../alerts/alerts.service.js';
import type { CallCounts, HealthRepository, ProviderRef } from './health.repository.js';

export interface HealthPolicy {
  windowMs: number;
  minCalls: number;
  /** 0..1: at or above this share of failed calls, a provider is DEGRADED. */
  degradedErrorRate: number;
}

export interface HealthWindow extends CallCounts {
  errorRate: number;
}

type Transition = { to: 'DEGRADED' | 'INVALID' | 'ACTIVE'; from: ProviderStatus[]; alert: 'PROVIDER_DEGRADED' | 'PROVIDER_INVALID' | 'PROVIDER_RECOVERED' };
const TO_DEGRADED: Transition = { to: 'DEGRADED', from: ['ACTIVE'], alert: 'PROVIDER_DEGRADED' };
const TO_INVALID: Transition = { to: 'INVALID', from: ['ACTIVE', 'DEGRADED'], alert: 'PROVIDER_INVALID' };
const RECOVERED: Transition = { to: 'ACTIVE', from: ['DEGRADED', 'INVALID'], alert: 'PROVIDER_RECOVERED' };

export interface HealthServiceDeps {
  repository: HealthRepository;
  alerts: Pick<AlertService, 'raise'>;
  clock: () => Date;
  policy: HealthPolicy;
  /** A provider's status moved: routing must see it. */
  routingChanged: (workspaceId: string) => void;
}

export function createHealthService(deps: HealthServiceDeps) {
  const { repository, policy } = deps;

  /** The provider's calls in the window, made by `provider.workspaceId` (the viewer's, for a platform provider). */
  async function window(provider: ProviderRef): Promise<HealthWindow> {
    const counts = await repository.countCalls(provider, new Date(deps.clock().getTime() - policy.windowMs));
    return { ...counts, errorRate: counts.requests ? counts.failed / counts.requests : 0 };
  }

  /** Moves the provider if it is still in a `from` state; the caller that moved it raises the alert. */
  async function transition(providerId: string, change: Transition, message: string | null): Promise<boolean> {
    const now = deps.clock();
    const moved = await repository.moveStatus(providerId, change.to, change.from, message, now);
    if (!moved) return false;
    deps.routingChanged(moved.workspaceId);
    const what = {
      PROVIDER_DEGRADED: 'is failing often and is used only when no other provider can answer',
      PROVIDER_INVALID: 'refused its key: calls go elsewhere until a test succeeds',
      PROVIDER_RECOVERED: 'is healthy again',
    }[change.alert];
    await deps.alerts.raise(moved.workspaceId, [
      {
        kind: change.alert,
        severity: change.alert === 'PROVIDER_RECOVERED' ? 'INFO' : change.alert === 'PROVIDER_INVALID' ? 'CRITICAL' : 'WARNING',
        providerId,
        message: `${moved.label} ${what}${message && change.alert !== 'PROVIDER_RECOVERED' ? ` (${message})` : ''}`,
        data: { status: change.to },
        dedupeKey: `${change.alert}:${providerId}:${now.toISOString()}`,
        personalOwnerId: moved.personalOwnerId,
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
      const degraded = await repository.listDegraded();
      let recovered = 0;
      const failed = await forEachItem(
        degraded,
        (provider) => `provider ${provider.id}`,
        async (provider) => void ((await recoverIfHealthy(provider)) && recovered++),
        itemFailed,
      );
      return { recovered, failed };
    },
  };

  async function recoverIfHealthy(provider: ProviderRef): Promise<boolean> {
    const health = await window(provider);
    return health.errorRate < policy.degradedErrorRate && transition(provider.id, { ...RECOVERED, from: ['DEGRADED'] }, null);
  }
}

export type HealthService = ReturnType<typeof createHealthService>;
