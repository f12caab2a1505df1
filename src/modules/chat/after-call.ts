// What follows every attempt whose reservation was written, whatever its
// outcome, in one place: the ledger row is finalized (the counters and the session move
// with it), then the metrics, the provider's health, the live usage tick and
// the session's stored turn. A new after-call effect goes here.
import type { Metrics } from '../../metrics.js';
import { microsToUsd } from '../../money.js';
import type { HealthService } from '../health/health.service.js';
import { sharedWithWorkspace } from '../providers/visibility.js';
import type { Ledger, Reservation } from '../usage/ledger.js';
import type { UsageTickService } from '../usage/usage-tick.service.js';
import type { Outcome } from './attempt.js';
import type { ChatPlan } from './chat-plan.js';
import type { RouteCandidate } from './route.service.js';
import { type SessionService, turnLength } from './session.service.js';

/** What after-call needs of the call: a chat's plan, or an embedding call (no session, nothing asked to keep). */
export type CallContext = Pick<ChatPlan, 'viewer' | 'prefs' | 'asked'> & { session: { id: string } | null };

export interface AfterCallDeps {
  ledger: Ledger;
  metrics: Pick<Metrics, 'callFinished'>;
  health: Pick<HealthService, 'afterCall'>;
  usageTicks: UsageTickService;
  sessions: Pick<SessionService, 'storeTurn'>;
  /** Where errors that are bugs go (the app's logger). */
  onUnexpected: (error: unknown) => void;
}

export type AfterCall = ReturnType<typeof createAfterCall>;

export function createAfterCall(deps: AfterCallDeps) {
  /** Resolves with the call's cost once its row is final. A health update that fails is logged; the others fail the chat. */
  return async function afterCall(
    plan: CallContext,
    { provider, model }: RouteCandidate,
    eventId: string,
    reservation: Reservation,
    outcome: Outcome,
  ): Promise<{ costMicros: bigint }> {
    const { status, tokens } = outcome;
    const errorCode = outcome.error?.code ?? null;
    const finalized = await deps.ledger.finalize(
      eventId,
      reservation,
      {
        status,
        tokens,
        usageSource: outcome.usageSource,
        providerCostMicros: outcome.providerCostMicros,
        durationMs: outcome.durationMs,
        ttftMs: outcome.ttftMs,
        errorCode,
        sessionMessages: turnLength(plan.asked),
      },
      plan.prefs.timezone,
    );
    deps.metrics.callFinished({
      kind: provider.kind,
      model,
      status,
      durationMs: outcome.durationMs,
      ttftMs: outcome.ttftMs,
      promptTokens: tokens.promptTokens,
      completionTokens: tokens.completionTokens,
    });
    await deps.health.afterCall(provider, { status, errorCode, message: outcome.error?.message ?? null }).catch(deps.onUnexpected);
    deps.usageTicks.publish(plan.viewer.workspaceId, {
      providerId: provider.id,
      personalOwnerId: sharedWithWorkspace(provider) ? null : provider.ownerId,
      tokensUsedToday: Number(finalized.tokensToday),
      dailyTokenLimit: provider.dailyTokenLimit === null ? null : Number(provider.dailyTokenLimit),
      spendThisMonthUsd: microsToUsd(finalized.spendMonthMicros),
      monthlyBudgetUsd: microsToUsd(provider.monthlyBudgetMicros),
    });
    if (status === 'SUCCEEDED' && plan.session && plan.prefs.storeConversationHistory && finalized.sessionMessages !== null) {
      await deps.sessions.storeTurn(plan.session.id, finalized.sessionMessages, plan.asked, outcome);
    }
    return { costMicros: finalized.costMicros };
  };
}
