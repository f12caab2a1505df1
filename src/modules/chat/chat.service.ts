// The chat core: one chat, streamed or not, from any front door. Plan it
// (check, session, route), then walk the candidates: each gets attempts
// (reserve → call → outcome, see attempt.ts) until one answers, a failure must
// be reported, or retries run out and the next candidate is tried. Every
// attempt has its own ledger row; a fallback's row points at the one it fell
// back from. It speaks only the canonical request and events (canonical.ts).
import type { Viewer } from '../../auth/viewer.js';
import { AppError } from '../../errors.js';
import { microsToUsd } from '../../money.js';
import { withFields } from '../../with-fields.js';
import { type AfterCallDeps, createAfterCall } from './after-call.js';
import { type AttemptDeps, type AttemptResult, createAttempt } from './attempt.js';
import type { ChatAnswer, ChatEvent, ChatRequest, ToolCall } from './canonical.js';
import { type ChatPlan, planChat } from './chat-plan.js';
import { nextStep, type RetryPolicy, sleep } from './retry.js';
import type { RouteService } from './route.service.js';
import type { SessionService } from './session.service.js';

export type ChatServiceDeps = Omit<AttemptDeps, 'afterCall' | 'metrics'> &
  Omit<AfterCallDeps, 'metrics' | 'sessions'> & {
    metrics: AttemptDeps['metrics'] & AfterCallDeps['metrics'];
    routes: RouteService;
    sessions: SessionService;
    retry: RetryPolicy;
    /** Admits one call of the caller (an API key's calls a minute), or throws RATE_LIMITED. */
    admitCall: (viewer: Viewer) => Promise<void>;
  };

export function createChatService(deps: ChatServiceDeps) {
  const attempt = createAttempt({ ...deps, afterCall: createAfterCall(deps) });

  /** The events of one planned chat. Ends after `finish` or `error`; the caller may stop reading at any time. */
  async function* run(plan: ChatPlan, options: { streamed: boolean; signal: AbortSignal }): AsyncGenerator<ChatEvent> {
    let fallbackFromId: string | null = null;
    let lastFailure: AppError | undefined;
    for (const candidate of plan.candidates) {
      const { provider, model } = candidate;
      yield {
        type: 'start',
        providerId: provider.id,
        kind: provider.kind,
        model,
        sessionId: plan.session.id,
        fallback: candidate !== plan.firstChoice,
        ...(lastFailure ? { fallbackReason: lastFailure.code } : {}),
      };
      for (let retriesDone = 0; ; retriesDone++) {
        const result: AttemptResult = yield* attempt(plan, candidate, { streamed: options.streamed, fallbackFromId, signal: options.signal });
        // A limit refuses before any upstream request; the next candidate may still answer.
        if (result.refused) {
          lastFailure = result.refused;
          break;
        }
        const { outcome } = result;
        fallbackFromId = result.eventId;
        if (outcome.status === 'SUCCEEDED') {
          yield { type: 'usage', usage: withFields(outcome.tokens, { costUsd: microsToUsd(result.costMicros), usageSource: outcome.usageSource }), usageEventId: result.eventId };
          yield { type: 'finish', reason: outcome.finishReason };
          return;
        }
        if (!outcome.error) return; // the caller left
        lastFailure = outcome.error;
        const next = nextStep(outcome.error, outcome.delivered, retriesDone, deps.retry);
        if (next.type === 'report') {
          yield { type: 'error', error: outcome.error };
          return;
        }
        if (next.type === 'next-candidate') break;
        await sleep(next.delayMs, options.signal);
      }
      if (!plan.request.allowFallback) break;
    }
    yield { type: 'error', error: lastFailure ?? new AppError('PROVIDER_UNAVAILABLE', 'No provider answered') };
  }

  return {
    async stream(viewer: Viewer, request: ChatRequest, signal: AbortSignal): Promise<AsyncGenerator<ChatEvent>> {
      return run(await planChat(deps, viewer, request), { streamed: true, signal });
    },

    /** The non-streamed call: the same path, collected; an `error` event is thrown. */
    async complete(viewer: Viewer, request: ChatRequest, signal: AbortSignal): Promise<ChatAnswer> {
      let text = '';
      const toolCalls: ToolCall[] = [];
      let start: Extract<ChatEvent, { type: 'start' }> | undefined;
      let usage: Extract<ChatEvent, { type: 'usage' }> | undefined;
      for await (const event of run(await planChat(deps, viewer, request), { streamed: false, signal })) {
        if (event.type === 'start') start = event;
        else if (event.type === 'text') text += event.text;
        else if (event.type === 'tool-call') {
          toolCalls[event.index] ??= { id: event.id!, name: event.name!, arguments: '' };
          toolCalls[event.index].arguments += event.argumentsDelta;
        } else if (event.type === 'usage') usage = event;
        else if (event.type === 'error') throw event.error;
        else if (event.type === 'finish') {
          return {
            text,
            providerId: start!.providerId,
            kind: start!.kind,
            model: start!.model,
            finishReason: event.reason,
            usage: usage!.usage,
            usageEventId: usage!.usageEventId,
            sessionId: start!.sessionId,
            fellBack: start!.fallback,
            toolCalls,
          };
        }
      }
      // Ended for a reason the caller is to hear (its API key revoked): that reason. (One that left hears nothing.)
      if (signal.reason instanceof AppError) throw signal.reason;
      throw new AppError('INTERNAL', 'The chat ended without an answer');
    },
  };
}

export type ChatService = ReturnType<typeof createChatService>;
