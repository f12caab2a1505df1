// Embeddings, an operation of the same core as chat: checked, routed (the
// workspace's embedding provider, else the first provider that embeds, then
// auto-failover), reserved in the ledger before the call (prompt tokens only:
// no output), called, finalized, with the same after-call effects, retries and
// fallbacks. A provider that reports no counts (Gemini) is metered by estimate.
import { callAgent, type Viewer } from '../../auth/viewer.js';
import { AppError, BadUserInputError } from '../../errors.js';
import { microsToUsd } from '../../money.js';
import { callerName, modelName } from '../../text-input.js';
import { withFields } from '../../with-fields.js';
import { LimitExceeded } from '../limits/guards.js';
import { KINDS } from '../providers/kinds.js';
import type { Reservation } from '../usage/ledger.js';
import { estimateTokens, type TokenCounts } from '../usage/token-counts.js';
import { type CallContext, createAfterCall } from './after-call.js';
import { type Outcome, reserveCall, rowOf } from './attempt.js';
import type { EmbeddingAnswer, EmbedRequest } from './canonical.js';
import type { ChatServiceDeps } from './chat.service.js';
import { nextStep, sleep } from './retry.js';
import { type RouteCandidate, usableCandidates } from './route.service.js';

export const MAX_EMBED_INPUTS = 2048;
/** Characters of one input (OpenAI's models take 8,191 tokens; a longer text is refused upstream anyway). */
export const MAX_EMBED_INPUT_CHARACTERS = 100_000;
const MAX_DIMENSIONS = 65_536;
const DEFAULT_OPERATION = 'embedding';

export function createEmbedService(deps: ChatServiceDeps) {
  const afterCall = createAfterCall(deps);

  return async function embed(viewer: Viewer, asAsked: EmbedRequest, signal: AbortSignal): Promise<EmbeddingAnswer> {
    check(asAsked);
    const request = withFields(asAsked, { agent: callAgent(viewer, asAsked.agent) });
    const config = await deps.routes.config(viewer.workspaceId);
    const candidates = usableCandidates(deps.routes.plan(viewer, { providerId: request.providerId, model: request.model, needs: ['embeddings'] }, config));
    await deps.admitCall(viewer);
    const call: CallContext = { viewer, prefs: config.preferences, session: null, asked: [] };
    const promptEstimate = request.inputs.reduce((sum, input) => sum + estimateTokens(input), 0);
    let fallbackFromId: string | null = null;
    let lastFailure: AppError | undefined;
    for (const candidate of candidates) {
      for (let retriesDone = 0; ; retriesDone++) {
        const reservation = reservationOf(viewer, request, candidate, promptEstimate, fallbackFromId, deps.clock());
        let eventId: string;
        try {
          ({ id: eventId } = await reserveCall(deps, call, candidate.provider, reservation));
        } catch (error) {
          if (!(error instanceof LimitExceeded)) throw error;
          lastFailure = error;
          break;
        }
        const { outcome, vectors } = await callUpstream(candidate, request, promptEstimate, signal);
        const { costMicros } = await afterCall(call, candidate, eventId, reservation, outcome);
        fallbackFromId = eventId;
        if (outcome.status === 'SUCCEEDED') {
          return {
            vectors: vectors!,
            providerId: candidate.provider.id,
            kind: candidate.provider.kind,
            model: candidate.model,
            usage: withFields(outcome.tokens, { costUsd: microsToUsd(costMicros), usageSource: outcome.usageSource }),
            usageEventId: eventId,
          };
        }
        if (!outcome.error) throw signal.reason; // the caller left
        lastFailure = outcome.error;
        const next = nextStep(outcome.error, false, retriesDone, deps.retry);
        if (next.type === 'report') throw outcome.error;
        if (next.type === 'next-candidate') break;
        await sleep(next.delayMs, signal);
      }
    }
    throw lastFailure ?? new AppError('PROVIDER_UNAVAILABLE', 'No provider answered');
  };

  async function callUpstream(candidate: RouteCandidate, request: EmbedRequest, promptEstimate: number, signal: AbortSignal): Promise<{ outcome: Outcome; vectors?: number[][] }> {
    const startedAt = performance.now();
    const ended = (status: Outcome['status'], error: AppError | null, tokens: TokenCounts, usageSource: Outcome['usageSource']): Outcome => ({
      status,
      tokens,
      usageSource,
      // Embeddings go through the SDK, which reads no cost: only chats ask a provider for one.
      providerCostMicros: null,
      error,
      finishReason: null,
      text: '',
      toolCalls: [],
      delivered: false,
      durationMs: performance.now() - startedAt,
      ttftMs: null,
    });
    // Routing offers only kinds that embed (KINDS[kind].embeds), whose protocols' adapters all have embed().
    const adapter = deps.adapters[KINDS[candidate.provider.kind].protocol];
    try {
      const target = await deps.providers.target(candidate.provider);
      const answer = await adapter.embed!(target, { model: candidate.model, inputs: request.inputs, dimensions: request.dimensions }, signal);
      if (answer.vectors.length !== request.inputs.length)
        throw new AppError('PROVIDER_UNAVAILABLE', `${KINDS[candidate.provider.kind].displayName} answered ${answer.vectors.length} vectors for ${request.inputs.length} inputs`);
      const reported = answer.promptTokens !== null && Number.isInteger(answer.promptTokens) && answer.promptTokens >= 0;
      const promptTokens = reported ? answer.promptTokens! : promptEstimate;
      return { outcome: ended('SUCCEEDED', null, promptOnly(promptTokens), reported ? 'PROVIDER' : 'ESTIMATED'), vectors: answer.vectors };
    } catch (error) {
      if (signal.aborted) return { outcome: ended('CANCELLED', null, promptOnly(0), 'ESTIMATED') };
      const failure = error instanceof AppError ? error : new AppError('INTERNAL', 'Unexpected error');
      if (!(error instanceof AppError)) deps.onUnexpected(error);
      // A failed call the provider never answered: providers bill nothing for it.
      return { outcome: ended('FAILED', failure, promptOnly(0), 'ESTIMATED') };
    }
  }
}

export type EmbedService = ReturnType<typeof createEmbedService>;

function check(request: EmbedRequest): void {
  const { inputs } = request;
  if (inputs.length < 1 || inputs.length > MAX_EMBED_INPUTS) throw new BadUserInputError(`inputs must hold 1 to ${MAX_EMBED_INPUTS} texts`, 'inputs');
  if (inputs.some((input) => input.length < 1 || input.length > MAX_EMBED_INPUT_CHARACTERS)) {
    throw new BadUserInputError(`Each input must be 1 to ${MAX_EMBED_INPUT_CHARACTERS} characters`, 'inputs');
  }
  if (request.dimensions !== undefined && !(Number.isInteger(request.dimensions) && request.dimensions >= 1 && request.dimensions <= MAX_DIMENSIONS)) {
    throw new BadUserInputError(`dimensions must be a whole number from 1 to ${MAX_DIMENSIONS}`, 'dimensions');
  }
  if (request.model !== undefined) modelName(request.model, 'model');
  if (request.agent !== undefined) callerName(request.agent, 'agent');
  if (request.operation !== undefined) callerName(request.operation, 'operation');
}

function promptOnly(promptTokens: number): TokenCounts {
  return { promptTokens, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, totalTokens: promptTokens };
}

function reservationOf(viewer: Viewer, request: EmbedRequest, candidate: RouteCandidate, promptEstimate: number, fallbackFromId: string | null, at: Date): Reservation {
  return withFields(rowOf(viewer, candidate, { agent: request.agent, operation: request.operation ?? DEFAULT_OPERATION }), {
    sessionId: null,
    streamed: false,
    promptEstimate,
    // Embeddings produce no output tokens.
    output: { max: 0, min: 0 },
    fallbackFromId,
    reservedAt: at,
  });
}
