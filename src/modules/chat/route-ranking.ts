// What ranks a route under CHEAPEST and FASTEST: each candidate's expected cost
// for the call's size (the catalog's price through costMicros, as the ledger
// prices a call) and its provider's measured time to first token (the health
// window's median, kept with the workspace's routing), and the reason stating
// the figures that ranked it. PRIORITY keeps the configured order.
import type { Provider } from '../../generated/prisma/client.js';
import type { RoutingStrategy } from '../../generated/prisma/enums.js';
import { microsToUsd } from '../../money.js';
import { costMicros, type Price } from '../catalog/pricing.js';
import type { FirstTokenTime } from '../health/health.repository.js';
import { outputAllowance } from '../limits/output-allowance.js';
import { isPlatform } from '../providers/visibility.js';

/** The output a call is expected to write: a typical answer, or the call's cap when lower (the reservation holds the whole cap). */
export const EXPECTED_OUTPUT_TOKENS = 500;
/** resolveRoute has no messages: it prices a nominal call of this many prompt tokens. */
export const NOMINAL_PROMPT_TOKENS = 1000;

/** What a call's expected cost and context need are reckoned from. */
export interface CallSize {
  /** The prompt estimate (chat-plan.ts), or NOMINAL_PROMPT_TOKENS. */
  promptTokens: number;
  maxTokens?: number | null;
}

/** A candidate's expected cost: the prompt at the input price, the expected output at the output price. */
export interface ExpectedCost {
  micros: bigint;
  promptTokens: number;
  outputTokens: number;
  price: Price;
}

/** The figures a candidate is ranked by; the route service fills them in. */
export interface RankedFigures {
  reason: string;
  usable: boolean;
  /** Null when the catalog has no price for the model. */
  expectedCost: ExpectedCost | null;
  /** Null when the provider has no successful call in the health window. */
  firstToken: FirstTokenTime | null;
}

export function expectedCost(size: CallSize, price: Price, caps: { maxTokensPerRequest: number | null; contextWindow: number | null }): ExpectedCost {
  const allowed = outputAllowance({ maxTokens: size.maxTokens, promptTokens: size.promptTokens }, caps).max;
  const outputTokens = Math.min(EXPECTED_OUTPUT_TOKENS, allowed);
  const micros = costMicros({ promptTokens: size.promptTokens, cachedPromptTokens: 0, completionTokens: outputTokens }, price);
  return { micros, promptTokens: size.promptTokens, outputTokens, price };
}

/**
 * The route in the strategy's order: the usable candidates by their figure (ties, and those without one, in the
 * configured order after the others; the platform providers after the workspace's own), then the unusable ones
 * as they were. `keepFirst` leaves the first
 * candidate in place (a model the call named). Each ranked candidate's reason starts with its figures.
 */
export function rankRoute<C extends RankedFigures & { provider: Provider }>(route: C[], strategy: Exclude<RoutingStrategy, 'PRIORITY'>, keepFirst: boolean): C[] {
  const kept = keepFirst ? route.slice(0, 1) : [];
  const rest = route.slice(kept.length);
  const figure = (candidate: C): number | null =>
    strategy === 'CHEAPEST' ? candidate.expectedCost && Number(candidate.expectedCost.micros) : (candidate.firstToken?.medianMs ?? null);
  const ranked = rest
    .filter((candidate) => candidate.usable)
    .sort((a, b) => {
      // The workspace's own keys before the operator's platform providers, as by priority: a cheaper platform model
      // must not spend the workspace's platform quota while its own keys can answer.
      const platform = Number(isPlatform(a.provider)) - Number(isPlatform(b.provider));
      const [x, y] = [figure(a), figure(b)];
      return platform || (x === null || y === null ? Number(x === null) - Number(y === null) : x - y);
    });
  for (const candidate of ranked) candidate.reason = `${strategy === 'CHEAPEST' ? cheapestReason(candidate) : fastestReason(candidate)}; ${candidate.reason}`;
  return [...kept, ...ranked, ...rest.filter((candidate) => !candidate.usable)];
}

const usd = (micros: bigint) => `$${microsToUsd(micros).toFixed(6)}`;
const perMTok = (micros: bigint) => `$${microsToUsd(micros)}/MTok`;

function cheapestReason({ expectedCost: cost }: RankedFigures): string {
  if (!cost) return 'cheapest: no catalog price for this model (after the priced ones, in priority order)';
  return `cheapest: ${usd(cost.micros)} expected (${cost.promptTokens} prompt tokens at ${perMTok(cost.price.input)}, ${cost.outputTokens} output at ${perMTok(cost.price.output)})`;
}

function fastestReason({ firstToken }: RankedFigures): string {
  if (!firstToken) return 'fastest: no successful call in the health window to measure (after the measured ones, in priority order)';
  return `fastest: ${Math.round(firstToken.medianMs)} ms median time to first token (${firstToken.calls} successful call${firstToken.calls === 1 ? '' : 's'} in the health window)`;
}
