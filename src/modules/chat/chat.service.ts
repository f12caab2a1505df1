// One chat, streamed or not: route → reserve a ledger row → call the provider
// (retrying what is retryable before the first token, then falling back to
// the next candidate) → chunks to the client → finalize the row.
// Every attempt has its own ledger row; a fallback's row points at the one it
// fell back from. A client that leaves, or a provider that is removed, ends
// the upstream call and the row is finalized CANCELLED with what was sent.
import type { Viewer } from '../../auth/jwt.js';
import { childSignal } from '../../child-signal.js';
import { AppError, BadUserInputError } from '../../errors.js';
import { SealError } from '../../crypto/seal.js';
import type { ChatSession, ProviderKind, UsageSource } from '../../generated/prisma/client.js';
import { providerScope } from '../limits/counter-scopes.js';
import { estimateTokens, type Finalized, type Ledger } from '../usage/ledger.js';
import type { UsageTickService } from '../usage/usage-tick.service.js';
import { microsToUsd } from '../../money.js';
import type { AlertDraft, AlertService } from '../alerts/alerts.service.js';
import type { HealthService } from '../health/health.service.js';
import type { Metrics } from '../../metrics.js';
import { limitAlerts, LimitExceeded, type Guard } from '../limits/guards.js';
import { ProviderCallError, type ChatMessage, type TokenCounts } from '../providers/adapters/adapter.js';
import { MAX_OUTPUT_TOKENS, outputAllowance } from '../limits/output-allowance.js';
import type { Adapters } from '../providers/adapters/adapters.js';
import { KINDS } from '../providers/kinds.js';
import type { ProviderService } from '../providers/provider.service.js';
import { isUuid } from '../../ids.js';
import { callerName, modelName } from '../../text-input.js';
import { ProviderRemoved, type LiveStreams } from './live-streams.js';
import { retryDelayMs, sleep, type RetryPolicy } from './retry.js';
import { usableCandidates, type RouteCandidate, type RouteService } from './route.service.js';
import { turnLength, type SessionService } from './session.service.js';

export interface ChatInput {
  providerId?: string | null;
  model?: string | null;
  agent?: string | null;
  operation?: string | null;
  sessionId?: string | null;
  messages: Array<{ role: 'SYSTEM' | 'USER' | 'ASSISTANT'; content: string }>;
  temperature?: number | null;
  maxTokens?: number | null;
  allowFallback?: boolean | null;
}

export interface ReportedUsage extends TokenCounts {
  costUsd: number;
  usageSource: UsageSource;
}

export type ChatChunk = { index: number } & (
  | { type: 'START'; providerId: string; kind: ProviderKind; model: string; sessionId: string; /** not the route's first choice */ fallback: boolean }
  | { type: 'TEXT' | 'THINKING'; delta: string; tokensSoFar: number }
  | { type: 'USAGE'; usage: ReportedUsage; usageEventId: string }
  | { type: 'DONE'; finishReason: string | null }
  | { type: 'ERROR'; errorCode: string; message: string; /** The error's extensions (which limit, say); the mutation returns them. */ details: Record<string, unknown> }
);

export interface ChatResult {
  content: string;
  providerId: string;
  kind: ProviderKind;
  model: string;
  finishReason: string | null;
  usage: ReportedUsage;
  usageEventId: string;
  sessionId: string;
  fellBack: boolean;
}

export interface ChatServiceDeps {
  routes: RouteService;
  providers: ProviderService;
  sessions: SessionService;
  ledger: Ledger;
  /** The catalog's context window of a model, when known: it bounds a call's output allowance. */
  contextWindow: (kind: ProviderKind, model: string) => number | null;
  usageTicks: UsageTickService;
  alerts: Pick<AlertService, 'raise'>;
  health: Pick<HealthService, 'afterCall'>;
  metrics: Pick<Metrics, 'callFinished' | 'reservationRefused'>;
  adapters: Adapters;
  liveStreams: LiveStreams;
  retry: RetryPolicy;
  /** Where errors that are bugs go (the app's logger). */
  onUnexpected: (error: unknown) => void;
  clock: () => Date;
}

const ROLES = { SYSTEM: 'system', USER: 'user', ASSISTANT: 'assistant' } as const;
/**
 * A provider that streams past its output cap is cut off once our estimate of its text (four characters a
 * token) passes the cap by this factor: one that honours the cap can estimate well over it (code and URLs
 * run to five or more characters a token).
 */
const CUT_OFF_FACTOR = 2;
/** A failed call the provider never answered: providers bill nothing for it. */
const NOTHING_BILLED: TokenCounts = { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: 0 };

type ChunkBody = ChatChunk extends infer C ? (C extends { index: number } ? Omit<C, 'index'> : never) : never;

export function createChatService(deps: ChatServiceDeps) {
  function validate(input: ChatInput): void {
    if (input.messages.length === 0) throw new BadUserInputError('messages must not be empty', 'messages');
    if (input.messages.length > 1000) throw new BadUserInputError('At most 1000 messages per call', 'messages');
    if (input.sessionId != null && !isUuid(input.sessionId)) throw new BadUserInputError('sessionId must be the id of a session this API gave out', 'sessionId');
    if (input.temperature != null && !(input.temperature >= 0 && input.temperature <= 2)) throw new BadUserInputError('temperature must be between 0 and 2', 'temperature');
    if (input.maxTokens != null && !(Number.isInteger(input.maxTokens) && input.maxTokens >= 1 && input.maxTokens <= MAX_OUTPUT_TOKENS)) {
      throw new BadUserInputError(`maxTokens must be a whole number from 1 to ${MAX_OUTPUT_TOKENS}`, 'maxTokens');
    }
    if (input.model != null) modelName(input.model, 'model');
    if (input.agent != null) callerName(input.agent, 'agent');
    if (input.operation != null) callerName(input.operation, 'operation');
  }

  /**
   * Everything that can refuse the call, done before the first chunk: refusals
   * are GraphQL errors with their codes, not chunks.
   */
  async function prepare(viewer: Viewer, input: ChatInput) {
    validate(input);
    const asked: ChatMessage[] = input.messages.map((m) => ({ role: ROLES[m.role], content: m.content }));
    const config = await deps.routes.config(viewer.workspaceId);
    const prefs = config.preferences;
    if (input.maxTokens != null && prefs.maxTokensPerRequest != null && input.maxTokens > prefs.maxTokensPerRequest) {
      throw new BadUserInputError(`maxTokens may be at most ${prefs.maxTokensPerRequest} in this workspace`, 'maxTokens');
    }

    let session: ChatSession;
    let history: ChatMessage[] = [];
    let route: RouteCandidate[];
    if (input.sessionId != null) {
      ({ session, history } = await deps.sessions.resume(viewer, input.sessionId));
      if (input.providerId && session.providerId && input.providerId !== session.providerId) {
        throw new BadUserInputError('A session keeps the provider it started with', 'providerId');
      }
      // The session keeps its provider and model; only before its first answer do preferences choose.
      route = deps.routes.plan(viewer, session.providerId ? { providerId: session.providerId, model: session.model, agent: session.agent, allowFallback: false } : input, config);
    } else {
      route = deps.routes.plan(viewer, input, config);
      session = deps.sessions.draft(viewer, input.agent, asked.find((m) => m.role === 'user')?.content);
    }
    const candidates = usableCandidates(route);
    const messages = [...history, ...asked];
    const promptEstimate = estimateTokens(messages.map((m) => m.content).join('')) + 4 * messages.length;
    return { prefs, asked, session, route, candidates, messages, promptEstimate };
  }

  /** Alerts never fail a call: a failure to raise one is logged. */
  async function raiseLimitAlerts(workspaceId: string, provider: { id: string; label: string }, guards: Guard[], threshold: number) {
    const drafts = limitAlerts(guards, threshold).map(
      (alert): AlertDraft => ({
        kind: alert.kind,
        severity: alert.kind.endsWith('REACHED') ? 'CRITICAL' : 'WARNING',
        providerId: alert.guard.key.startsWith('PROVIDER') ? provider.id : null,
        message: alert.guard.key.startsWith('PROVIDER') ? `${provider.label}: ${alert.message}` : alert.message,
        data: { limit: alert.guard.key, period: alert.guard.period, ...(alert.guard.after === null ? {} : { used: Number(alert.guard.after) }), max: Number(alert.guard.limit) },
        dedupeKey: alert.dedupeKey,
      }),
    );
    if (drafts.length) await deps.alerts.raise(workspaceId, drafts).catch(deps.onUnexpected);
  }

  /** The chunks of one prepared chat. Ends after DONE or ERROR and never throws; the caller may stop reading at any time. */
  async function* execute(viewer: Viewer, input: ChatInput, prepared: Awaited<ReturnType<typeof prepare>>, options: { streamed: boolean; signal: AbortSignal }): AsyncGenerator<ChatChunk> {
    const { prefs, asked, session, route, candidates, messages, promptEstimate } = prepared;
    let index = 0;
    const chunk = (body: ChunkBody): ChatChunk => ({ index: index++, ...body }) as ChatChunk;
    let previousEventId: string | null = null;
    let lastFailure: AppError | undefined;

    for (const candidate of candidates) {
      const { provider, model } = candidate;
      yield chunk({ type: 'START', providerId: provider.id, kind: provider.kind, model, sessionId: session.id, fallback: candidate !== route[0] });
      for (let attempt = 0; ; attempt++) {
        const reservation = {
          workspaceId: viewer.workspaceId,
          providerId: provider.id,
          providerScope: providerScope(provider),
          kind: provider.kind,
          model,
          agent: input.agent,
          operation: input.operation,
          userId: viewer.userId,
          sessionId: session.id,
          streamed: options.streamed,
          promptEstimate,
          output: outputAllowance({ maxTokens: input.maxTokens, promptTokens: promptEstimate }, { maxTokensPerRequest: prefs.maxTokensPerRequest, contextWindow: deps.contextWindow(provider.kind, model) }),
          fallbackFromId: previousEventId,
          reservedAt: deps.clock(),
          // A chat that names no session opens one: its first reservation writes it.
          ...(input.sessionId != null ? {} : { newSession: { title: session.title } }),
        };
        let eventId: string;
        let outputTokens: number;
        try {
          const reserved = await deps.ledger.reserve(reservation, {
            platform: provider.scope === 'PLATFORM',
            timezone: prefs.timezone,
            limits: {
              providerDailyTokens: provider.dailyTokenLimit,
              providerMonthlyMicros: provider.monthlyBudgetMicros,
              workspaceDailyTokens: prefs.workspaceDailyTokenLimit,
              workspaceMonthlyMicros: prefs.workspaceMonthlyBudgetMicros,
            },
          });
          eventId = reserved.id;
          outputTokens = reserved.outputTokens;
          await raiseLimitAlerts(viewer.workspaceId, provider, reserved.guards, prefs.quotaWarningThreshold);
        } catch (error) {
          // A limit refuses before any upstream request; the next candidate may still answer.
          if (!(error instanceof AppError) || error.code !== 'LIMIT_EXCEEDED') throw error;
          deps.metrics.reservationRefused(error instanceof LimitExceeded ? error.guard.key : 'PLATFORM_MONTHLY_REQUESTS');
          if (error instanceof LimitExceeded) await raiseLimitAlerts(viewer.workspaceId, provider, [error.guard], prefs.quotaWarningThreshold);
          lastFailure = error;
          break;
        }
        previousEventId = eventId;

        // Aborted when the caller leaves, or by the provider's removal (with a ProviderRemoved reason).
        const upstream = childSignal(options.signal);
        const untrack = deps.liveStreams.track(provider.id, upstream);
        const started = performance.now();
        let ttftMs: number | null = null;
        let sent = '';
        let usage: TokenCounts | undefined;
        let finishReason: string | null = null;
        /** The provider went on past its output cap and was cut off. */
        let cutOff = false;
        let tokens: TokenCounts | undefined;
        // Until the loop ends or fails, leaving means the caller stopped reading: CANCELLED.
        let status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' = 'CANCELLED';
        let failure: AppError | undefined;
        let finalized: Finalized | undefined;
        try {
          const request = { model, messages, temperature: input.temperature ?? undefined, maxTokens: outputTokens };
          // What the client may be given, in characters (estimateTokens counts four a token).
          const cutOffChars = Math.ceil(outputTokens * CUT_OFF_FACTOR) * 4;
          const adapter = deps.adapters[KINDS[provider.kind].protocol];
          const target = await deps.providers.target(provider);
          const events = options.streamed ? adapter.stream(target, request, upstream.signal) : await adapter.chat(target, request, upstream.signal);
          for await (const event of events) {
            // Counts a provider reports are data from outside: only whole, non-negative, 32-bit ones are taken.
            if (event.type === 'usage') usage = wellFormed(event.usage) ? event.usage : undefined;
            else if (event.type === 'finish') finishReason = event.reason;
            else {
              ttftMs ??= performance.now() - started;
              const delta = event.text.slice(0, cutOffChars - sent.length);
              sent += delta;
              if (delta) yield chunk({ type: event.type === 'text' ? 'TEXT' : 'THINKING', delta, tokensSoFar: estimateTokens(sent) });
              if (delta.length < event.text.length) {
                cutOff = true;
                finishReason = 'length';
                break;
              }
            }
          }
          // Some SDKs end a stream quietly when its signal aborts, instead of throwing.
          upstream.signal.throwIfAborted();
          status = 'SUCCEEDED';
        } catch (error) {
          if (upstream.signal.reason instanceof ProviderRemoved) failure = new AppError('PROVIDER_REMOVED', 'The provider was deleted or disabled during the call');
          else if (options.signal.aborted) failure = undefined;
          else if (error instanceof AppError) failure = error;
          // A key that does not open (wrong master key, moved ciphertext): this provider cannot be used, others may.
          else if (error instanceof SealError) failure = new AppError('INTERNAL', error.message);
          else {
            // A bug, not an upstream failure: recorded, logged, and reported as INTERNAL without details.
            deps.onUnexpected(error);
            failure = new AppError('INTERNAL', 'Unexpected error');
          }
          status = failure && failure.code !== 'PROVIDER_REMOVED' ? 'FAILED' : 'CANCELLED';
        } finally {
          untrack();
          upstream.release();
          // Ends the upstream request if the caller left mid-stream or the provider was cut off (an answer read to its end needs nothing).
          if (status !== 'SUCCEEDED' || cutOff) upstream.abort(new DOMException('the call ended', 'AbortError'));
          tokens = withinAllowance(usage ?? (status === 'FAILED' && sent === '' ? NOTHING_BILLED : estimatedCounts(promptEstimate, sent)), outputTokens);
          finalized = await deps.ledger.finalize(
            eventId,
            reservation,
            {
              status,
              tokens,
              usageSource: usage ? 'PROVIDER' : 'ESTIMATED',
              durationMs: performance.now() - started,
              ttftMs,
              errorCode: failure?.code ?? (status === 'FAILED' ? 'INTERNAL' : null),
              sessionMessages: turnLength(asked),
            },
            prefs.timezone,
          );
          deps.metrics.callFinished({ kind: provider.kind, model, status, durationMs: performance.now() - started, ttftMs, promptTokens: tokens.promptTokens, completionTokens: tokens.completionTokens });
          await deps.health.afterCall(provider, { status, errorCode: failure?.code ?? null, message: failure?.message ?? null }).catch(deps.onUnexpected);
          deps.usageTicks.publish(viewer.workspaceId, {
            providerId: provider.id,
            personalOwnerId: provider.scope === 'PERSONAL' ? provider.ownerId : null,
            tokensUsedToday: Number(finalized.tokensToday),
            dailyTokenLimit: provider.dailyTokenLimit === null ? null : Number(provider.dailyTokenLimit),
            spendThisMonthUsd: microsToUsd(finalized.spendMonthMicros),
            monthlyBudgetUsd: provider.monthlyBudgetMicros === null ? null : microsToUsd(provider.monthlyBudgetMicros),
          });
          if (status === 'SUCCEEDED' && prefs.storeConversationHistory && finalized.sessionMessages !== null) {
            await deps.sessions.storeTurn(session.id, finalized.sessionMessages, asked, sent);
          }
        }

        if (status === 'SUCCEEDED') {
          yield chunk({ type: 'USAGE', usage: { ...tokens!, costUsd: microsToUsd(finalized!.costMicros), usageSource: usage ? 'PROVIDER' : 'ESTIMATED' }, usageEventId: eventId });
          yield chunk({ type: 'DONE', finishReason });
          return;
        }
        if (!failure) return; // the client left
        lastFailure = failure;
        if (failure.code === 'PROVIDER_REMOVED' || sent.length > 0) {
          // After the first token there is no retry and no fallback: the client has seen part of an answer.
          yield chunk({ type: 'ERROR', errorCode: failure.code, message: failure.message, details: failure.details });
          return;
        }
        // A refused key: the provider is now INVALID (see health.afterCall); the next candidate may answer.
        if (failure.code === 'INVALID_CREDENTIALS') break;
        const retryable = failure instanceof ProviderCallError && failure.retryable;
        if (!retryable || attempt >= deps.retry.maxRetries) break;
        await sleep(retryDelayMs(deps.retry, attempt, (failure as ProviderCallError).retryAfterMs), options.signal);
      }
      if (input.allowFallback === false) break;
    }
    const final = lastFailure ?? new AppError('PROVIDER_UNAVAILABLE', 'No provider answered');
    yield chunk({ type: 'ERROR', errorCode: final.code, message: final.message, details: final.details });
  }

  return {
    async stream(viewer: Viewer, input: ChatInput, signal: AbortSignal): Promise<AsyncGenerator<ChatChunk>> {
      const prepared = await prepare(viewer, input);
      return execute(viewer, input, prepared, { streamed: true, signal });
    },

    /** The non-streamed call: the same path, collected; an ERROR chunk becomes a GraphQL error. */
    async complete(viewer: Viewer, input: ChatInput, signal: AbortSignal): Promise<ChatResult> {
      let content = '';
      let start: Extract<ChatChunk, { type: 'START' }> | undefined;
      let usage: Extract<ChatChunk, { type: 'USAGE' }> | undefined;
      const prepared = await prepare(viewer, input);
      for await (const item of execute(viewer, input, prepared, { streamed: false, signal })) {
        if (item.type === 'START') start = item;
        else if (item.type === 'TEXT') content += item.delta;
        else if (item.type === 'USAGE') usage = item;
        else if (item.type === 'ERROR') throw new AppError(item.errorCode as never, item.message, item.details);
        else if (item.type === 'DONE') {
          return {
            content,
            providerId: start!.providerId,
            kind: start!.kind,
            model: start!.model,
            finishReason: item.finishReason,
            usage: usage!.usage,
            usageEventId: usage!.usageEventId,
            sessionId: start!.sessionId,
            fellBack: start!.fallback,
          };
        }
      }
      throw new AppError('INTERNAL', 'The chat ended without an answer');
    },
  };
}

export type ChatService = ReturnType<typeof createChatService>;

/**
 * A call spends at most its reserved output: a provider that reports (or streams) more than the cap it was
 * sent is recorded at the cap, so a reservation bounds what a call can add to the counters.
 */
function withinAllowance(tokens: TokenCounts, outputTokens: number): TokenCounts {
  const completionTokens = Math.min(tokens.completionTokens, outputTokens);
  return {
    promptTokens: tokens.promptTokens,
    cachedPromptTokens: Math.min(tokens.cachedPromptTokens, tokens.promptTokens),
    completionTokens,
    reasoningTokens: Math.min(tokens.reasoningTokens, completionTokens),
    totalTokens: tokens.promptTokens + completionTokens,
  };
}

const MAX_COUNT = 2 ** 31 - 1;
function wellFormed(tokens: TokenCounts): boolean {
  return Object.values(tokens).every((count) => Number.isInteger(count) && count >= 0 && count <= MAX_COUNT);
}

/** When the provider reported nothing (cancelled, silent): prompt from the request, completion from what was sent. */
function estimatedCounts(promptTokens: number, sent: string): TokenCounts {
  const completionTokens = estimateTokens(sent);
  return { promptTokens, cachedPromptTokens: 0, completionTokens, reasoningTokens: 0, totalTokens: promptTokens + completionTokens };
}
