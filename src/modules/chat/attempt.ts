// One attempt at a chat through one candidate: reserve a ledger row → call the
// provider → one Outcome, computed once, which the after-call effects record
// and the caller reports. A reservation a limit refuses makes no call and
// writes nothing. A caller that stops reading ends the upstream call; the row
// is then CANCELLED with what was sent.
import { randomBytes } from 'node:crypto';
import { childSignal } from '../../child-signal.js';
import { SealError } from '../../crypto/seal.js';
import { AppError } from '../../errors.js';
import type { ProviderKind, UsageSource } from '../../generated/prisma/enums.js';
import type { Metrics } from '../../metrics.js';
import { withFields } from '../../with-fields.js';
import type { AlertService } from '../alerts/alerts.service.js';
import { providerScope } from '../limits/counter-scopes.js';
import { type Guard, LimitExceeded, limitAlertDrafts } from '../limits/guards.js';
import { outputAllowance } from '../limits/output-allowance.js';
import type { Adapters } from '../providers/adapters/adapters.js';
import { KINDS } from '../providers/kinds.js';
import type { ProviderService } from '../providers/provider.service.js';
import { isPlatform } from '../providers/visibility.js';
import type { Ledger, Reservation, Reserved } from '../usage/ledger.js';
import { type TokenCounts, tokensOfCharacters } from '../usage/token-counts.js';
import type { AfterCall } from './after-call.js';
import type { AnswerEvent, ChatEvent, ToolCall, UpstreamRequest } from './canonical.js';
import { TOOL_CALL_ID } from './chat-checks.js';
import type { ChatPlan } from './chat-plan.js';
import { type LiveStreams, ProviderRemoved } from './live-streams.js';
import type { RouteCandidate } from './route.service.js';

/** How one attempt ended, as the ledger records it and the caller is told. */
export interface Outcome {
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  tokens: TokenCounts;
  usageSource: UsageSource;
  /** What the provider said the call cost, beside ours (see AnswerEvent); null when it said nothing. */
  providerCostMicros: bigint | null;
  /** Why the call failed or was ended; null when it succeeded or the caller left. */
  error: AppError | null;
  /** `tool_calls` whenever the answer made any. */
  finishReason: string | null;
  /** The answer's text as the caller was given it (thinking apart). */
  text: string;
  toolCalls: ToolCall[];
  /** Some of the answer reached the caller: a retry would repeat it. */
  delivered: boolean;
  durationMs: number;
  /** Until the first text or thinking from the provider. */
  ttftMs: number | null;
}

export type AttemptResult = { refused: LimitExceeded } | { refused: null; eventId: string; outcome: Outcome; costMicros: bigint };

export interface AttemptDeps {
  ledger: Ledger;
  providers: Pick<ProviderService, 'target'>;
  adapters: Adapters;
  liveStreams: LiveStreams;
  /** The catalog's context window of a model, when known: it bounds a call's output allowance. */
  contextWindow: (kind: ProviderKind, model: string) => number | null;
  alerts: Pick<AlertService, 'raise'>;
  metrics: Pick<Metrics, 'reservationRefused'>;
  afterCall: AfterCall;
  /** Where errors that are bugs go (the app's logger). */
  onUnexpected: (error: unknown) => void;
  clock: () => Date;
}

/**
 * A provider that streams past its output cap is cut off once our estimate of its text (four characters a
 * token) passes the cap by this factor: one that honours the cap can estimate well over it (code and URLs
 * run to five or more characters a token).
 */
const CUT_OFF_FACTOR = 2;
/** A failed call the provider never answered: providers bill nothing for it. */
const NOTHING_BILLED: TokenCounts = { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: 0 };
const MAX_COUNT = 2 ** 31 - 1;
/** Finish reasons that say the answer stopped early: its tool calls may be cut off, and are not reported as complete. */
const CUT_SHORT = new Set(['length', 'content_filter']);

export function createAttempt(deps: AttemptDeps) {
  /** Yields the answer's text and thinking as they come; returns how the attempt ended. */
  return async function* attempt(
    plan: ChatPlan,
    candidate: RouteCandidate,
    options: { streamed: boolean; fallbackFromId: string | null; signal: AbortSignal },
  ): AsyncGenerator<Extract<ChatEvent, { type: 'text' | 'thinking' | 'tool-call' }>, AttemptResult> {
    const { provider, model } = candidate;
    const reservation = reservationOf(plan, candidate, {
      streamed: options.streamed,
      fallbackFromId: options.fallbackFromId,
      contextWindow: deps.contextWindow(provider.kind, model),
      at: deps.clock(),
    });
    let eventId: string;
    let outputTokens: number;
    try {
      ({ id: eventId, outputTokens } = await reserveCall(deps, plan, provider, reservation));
    } catch (error) {
      if (error instanceof LimitExceeded) return { refused: error };
      throw error;
    }

    // Aborted when the caller leaves, or by the provider's removal (with a ProviderRemoved reason).
    const upstream = childSignal(options.signal);
    const untrack = deps.liveStreams.track(provider.id, upstream);
    const answer = new AnswerSoFar(performance.now(), Math.ceil(outputTokens * CUT_OFF_FACTOR) * 4);
    let outcome: Outcome | undefined;
    let costMicros: bigint;
    try {
      const upstreamRequest: UpstreamRequest = { model, messages: plan.messages, options: withFields(plan.request.options, { maxTokens: outputTokens }) };
      const adapter = deps.adapters[KINDS[provider.kind].protocol];
      const target = await deps.providers.target(provider);
      const events = options.streamed ? adapter.stream(target, upstreamRequest, upstream.signal) : await adapter.chat(target, upstreamRequest, upstream.signal);
      for await (const event of events) {
        if (event.type === 'usage') answer.took(event);
        else if (event.type === 'finish') answer.finishReason = event.reason;
        else {
          const given = answer.add(event);
          if (given) yield given;
          if (answer.cutOff) break;
        }
      }
      // Some SDKs end a stream quietly when its signal aborts, instead of throwing.
      upstream.signal.throwIfAborted();
      outcome = answer.outcome('SUCCEEDED', null, plan.promptEstimate, outputTokens);
    } catch (error) {
      const failure = failureOf(error, upstream.signal, options.signal, deps.onUnexpected);
      outcome = answer.outcome(failure && failure.code !== 'PROVIDER_REMOVED' ? 'FAILED' : 'CANCELLED', failure, plan.promptEstimate, outputTokens);
    } finally {
      // Reached without an outcome when the caller stopped reading mid-answer.
      outcome ??= answer.outcome('CANCELLED', null, plan.promptEstimate, outputTokens);
      untrack();
      upstream.release();
      // Ends the upstream request unless it was read to its end.
      if (outcome.status !== 'SUCCEEDED' || answer.cutOff) upstream.abort(new DOMException('the call ended', 'AbortError'));
      ({ costMicros } = await deps.afterCall(plan, candidate, eventId, reservation, outcome));
    }
    return { refused: null, eventId, outcome, costMicros };
  };
}

/**
 * Reserves a call's ledger row within every limit that applies to it, and raises the limit alerts the
 * reservation crossed; a refusal (LimitExceeded) is counted and alerted, then thrown. Alerts never fail a
 * call: a failure to raise one is logged.
 */
export async function reserveCall(
  deps: Pick<AttemptDeps, 'ledger' | 'alerts' | 'metrics' | 'onUnexpected'>,
  call: Pick<ChatPlan, 'viewer' | 'prefs'>,
  provider: RouteCandidate['provider'],
  reservation: Reservation,
): Promise<Reserved> {
  const raise = async (guards: Guard[]) => {
    const drafts = limitAlertDrafts(guards, call.prefs.quotaWarningThreshold, provider);
    if (drafts.length) await deps.alerts.raise(call.viewer.workspaceId, drafts).catch(deps.onUnexpected);
  };
  try {
    const reserved = await deps.ledger.reserve(reservation, {
      platform: isPlatform(provider),
      timezone: call.prefs.timezone,
      limits: {
        providerDailyTokens: provider.dailyTokenLimit,
        providerMonthlyMicros: provider.monthlyBudgetMicros,
        workspaceDailyTokens: call.prefs.workspaceDailyTokenLimit,
        workspaceMonthlyMicros: call.prefs.workspaceMonthlyBudgetMicros,
        apiKeyDailyTokens: call.viewer.apiKey?.dailyTokenLimit,
        apiKeyMonthlyMicros: call.viewer.apiKey?.monthlyBudgetMicros,
      },
    });
    await raise(reserved.guards);
    return reserved;
  } catch (error) {
    if (error instanceof LimitExceeded) {
      deps.metrics.reservationRefused(error.limit);
      if (error.guard) await raise([error.guard]);
    }
    throw error;
  }
}

/** The ledger row an attempt reserves: who, through what, and how much output it may spend. */
function reservationOf(
  { viewer, request, prefs, session, newSession, promptEstimate }: ChatPlan,
  candidate: RouteCandidate,
  call: { streamed: boolean; fallbackFromId: string | null; contextWindow: number | null; at: Date },
): Reservation {
  return withFields(rowOf(viewer, candidate, { agent: request.agent, operation: request.operation }), {
    sessionId: session.id,
    streamed: call.streamed,
    promptEstimate,
    output: outputAllowance(
      { maxTokens: request.options.maxTokens, promptTokens: promptEstimate },
      { maxTokensPerRequest: prefs.maxTokensPerRequest, contextWindow: call.contextWindow },
    ),
    fallbackFromId: call.fallbackFromId,
    reservedAt: call.at,
    // A chat that names no session opens one: its first reservation writes it.
    newSession: newSession ? { title: session.title } : undefined,
  });
}

/** Whose call a ledger row is, and through what: the part of a reservation every operation shares. */
export function rowOf(
  viewer: ChatPlan['viewer'],
  { provider, model }: RouteCandidate,
  tags: { agent?: string; operation?: string },
): Pick<Reservation, 'workspaceId' | 'providerId' | 'providerScope' | 'kind' | 'model' | 'agent' | 'operation' | 'userId' | 'apiKeyId'> {
  return {
    workspaceId: viewer.workspaceId,
    providerId: provider.id,
    providerScope: providerScope(provider),
    kind: provider.kind,
    model,
    agent: tags.agent,
    operation: tags.operation,
    userId: viewer.userId,
    apiKeyId: viewer.apiKey?.id ?? null,
  };
}

type AnswerPiece = Extract<AnswerEvent, { type: 'text' | 'thinking' | 'tool-call' }>;

/** The answer as it streams in: what the caller was given, and what the provider said of it. */
class AnswerSoFar {
  text = '';
  toolCalls: ToolCall[] = [];
  usage: TokenCounts | undefined;
  providerCostMicros: bigint | null = null;
  finishReason: string | null = null;
  /** The provider went on past its output cap and was cut off. */
  cutOff = false;
  /** Characters given to the caller: text, thinking, tool names and arguments. */
  private given = 0;
  /** The adapter's index of each call → its place in `toolCalls`. */
  private readonly callAt = new Map<number, number>();
  private ttftMs: number | null = null;

  constructor(
    private readonly startedAt: number,
    /** What the caller may be given, in characters (estimates count four a token). */
    private readonly maxChars: number,
  ) {}

  /** Takes the provider's usage, its cost with it: counts that are not well formed discredit the cost they came with. */
  took({ usage, providerCostMicros }: Extract<AnswerEvent, { type: 'usage' }>): void {
    this.usage = wellFormed(usage) ? usage : undefined;
    this.providerCostMicros = this.usage ? (providerCostMicros ?? null) : null;
  }

  /** Takes a piece of the answer; returns what of it the caller may be given, if anything. */
  add(piece: AnswerPiece): Extract<ChatEvent, { type: 'text' | 'thinking' | 'tool-call' }> | null {
    this.ttftMs ??= performance.now() - this.startedAt;
    if (piece.type !== 'tool-call') {
      const text = this.allowed(piece.text);
      if (piece.type === 'text') this.text += text;
      return text ? { type: piece.type, text, tokensSoFar: tokensOfCharacters(this.given) } : null;
    }
    let at = this.callAt.get(piece.index);
    const first = at === undefined;
    if (at === undefined) {
      at = this.toolCalls.push({ id: callIdOf(piece.id), name: piece.name ?? '', arguments: '' }) - 1;
      this.callAt.set(piece.index, at);
      this.given += this.toolCalls[at].name.length;
    }
    const call = this.toolCalls[at];
    const argumentsDelta = this.allowed(piece.argumentsDelta);
    call.arguments += argumentsDelta;
    if (!first && !argumentsDelta) return null;
    return { type: 'tool-call', index: at, ...(first ? { id: call.id, name: call.name } : {}), argumentsDelta, tokensSoFar: tokensOfCharacters(this.given) };
  }

  private allowed(delta: string): string {
    const allowed = delta.slice(0, Math.max(0, this.maxChars - this.given));
    this.given += allowed.length;
    if (allowed.length < delta.length) {
      this.cutOff = true;
      this.finishReason = 'length';
    }
    return allowed;
  }

  outcome(status: Outcome['status'], error: AppError | null, promptEstimate: number, outputTokens: number): Outcome {
    const delivered = this.given > 0;
    const reported = this.usage ?? (status === 'FAILED' && !delivered ? NOTHING_BILLED : estimatedCounts(promptEstimate, tokensOfCharacters(this.given)));
    return {
      status,
      tokens: withinAllowance(reported, outputTokens),
      usageSource: this.usage ? 'PROVIDER' : 'ESTIMATED',
      providerCostMicros: this.providerCostMicros,
      error,
      finishReason: this.toolCalls.length > 0 && !this.cutOff && !CUT_SHORT.has(this.finishReason ?? '') ? 'tool_calls' : this.finishReason,
      text: this.text,
      toolCalls: this.toolCalls,
      delivered,
      durationMs: performance.now() - this.startedAt,
      ttftMs: this.ttftMs,
    };
  }
}

/** The id a tool call is known by: the provider's when it fits what the gateway takes back, else one of the gateway's own. */
function callIdOf(providerId: string | undefined): string {
  return providerId !== undefined && TOOL_CALL_ID.test(providerId) ? providerId : `call_${randomBytes(12).toString('base64url')}`;
}

/** What a thrown error means for the call: a failure in the contract's terms, or null when the caller left. */
function failureOf(error: unknown, upstream: AbortSignal, caller: AbortSignal, onUnexpected: (error: unknown) => void): AppError | null {
  if (upstream.reason instanceof ProviderRemoved) return new AppError('PROVIDER_REMOVED', 'The provider was deleted or disabled during the call');
  if (caller.aborted) return null;
  if (error instanceof AppError) return error;
  // A key that does not open (wrong master key, moved ciphertext): this provider cannot be used, others may.
  if (error instanceof SealError) return new AppError('INTERNAL', error.message);
  // A bug, not an upstream failure: recorded, logged, and reported as INTERNAL without details.
  onUnexpected(error);
  return new AppError('INTERNAL', 'Unexpected error');
}

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

/** Counts a provider reports are data from outside: only whole, non-negative, 32-bit ones are taken. */
function wellFormed(tokens: TokenCounts): boolean {
  return Object.values(tokens).every((count) => Number.isInteger(count) && count >= 0 && count <= MAX_COUNT);
}

/** When the provider reported nothing (cancelled, silent): prompt from the request, completion from what was sent. */
function estimatedCounts(promptTokens: number, completionTokens: number): TokenCounts {
  return { promptTokens, cachedPromptTokens: 0, completionTokens, reasoningTokens: 0, totalTokens: promptTokens + completionTokens };
}
