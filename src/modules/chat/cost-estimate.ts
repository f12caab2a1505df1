// The cost of a chat before it is made (`estimateCost`): the chat's own checks,
// session and route (routeChat), then prices; no admission, no reservation, no
// call, nothing written. The range covers whichever candidate answers: its low
// end is the cheapest candidate the call may try with the fewest prompt tokens
// a provider may count (promptRange), priced as if read from its cache, and no
// output; its high end the dearest one with the most prompt tokens and its
// whole output allowance, the most a call is ever billed for (attempt.ts caps
// a provider's count at it). Prices are the ledger's (catalog.price, costMicros).
import type { Viewer } from '../../auth/viewer.js';
import type { Catalog } from '../catalog/catalog.js';
import { costMicros } from '../catalog/pricing.js';
import { outputAllowance } from '../limits/output-allowance.js';
import type { ChatRequest } from './canonical.js';
import { promptRange, routeChat } from './chat-plan.js';
import type { RouteCandidate, RouteService } from './route.service.js';
import type { SessionService } from './session.service.js';

export interface CostEstimate {
  lowMicros: bigint;
  highMicros: bigint;
  /** The candidates the call may try, in order. */
  candidates: RouteCandidate[];
}

export function createCostEstimator(deps: { routes: RouteService; sessions: SessionService; catalog: Pick<Catalog, 'price' | 'contextWindow'>; clock: () => Date }) {
  return async function estimateCost(viewer: Viewer, request: ChatRequest): Promise<CostEstimate> {
    const plan = await routeChat(deps, viewer, request);
    const candidates = plan.request.allowFallback === false ? plan.candidates.slice(0, 1) : plan.candidates;
    const prompt = promptRange(plan.prompt);
    const at = deps.clock();
    let lowMicros: bigint | null = null;
    let highMicros = 0n;
    for (const { provider, model } of candidates) {
      const price = deps.catalog.price(provider.kind, model, at);
      const output = outputAllowance(
        { maxTokens: plan.request.options.maxTokens, promptTokens: plan.promptEstimate },
        { maxTokensPerRequest: plan.prefs.maxTokensPerRequest, contextWindow: deps.catalog.contextWindow(provider.kind, model) },
      );
      const low = costMicros({ promptTokens: prompt.fewest, cachedPromptTokens: prompt.fewest, completionTokens: 0 }, price);
      const high = costMicros({ promptTokens: prompt.most, cachedPromptTokens: 0, completionTokens: output.max }, price);
      if (lowMicros === null || low < lowMicros) lowMicros = low;
      if (high > highMicros) highMicros = high;
    }
    return { lowMicros: lowMicros ?? 0n, highMicros, candidates };
  };
}

export type CostEstimator = ReturnType<typeof createCostEstimator>;
