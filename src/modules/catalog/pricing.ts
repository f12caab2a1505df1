// Exact prices: integer micro-dollars per million tokens (src/money.ts reads
// the price table's decimal strings), and integer costs per call. No float
// ever enters a sum; `costUsd` is derived from micro-dollars for display only.
import type { ProviderKind } from '../../generated/prisma/enums.js';
import type { TokenCounts } from '../usage/token-counts.js';

/** Micro-dollars per million tokens. */
export interface Price {
  input: bigint;
  cachedInput: bigint;
  output: bigint;
}

export interface PriceQuote extends Price {
  /** The price table version that priced it. */
  version: string;
  /** True when the model is unknown and its kind's fallback rule priced it. */
  fallback: boolean;
}

/** USD per token (OpenRouter's `pricing.prompt`, e.g. "0.0000025") → micro-dollars per million tokens, rounded half up. */
export function usdPerTokenToMicrosPerMTok(perToken: string): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(perToken);
  if (!match) throw new Error(`Not a per-token price: ${JSON.stringify(perToken)}`);
  // USD/token × 10^12 = µ$/MTok: shift the decimal point twelve places.
  const fraction = match[2] ?? '';
  const whole = BigInt(match[1] + fraction.slice(0, 12).padEnd(12, '0'));
  return fraction.length > 12 && fraction[12] >= '5' ? whole + 1n : whole;
}

/**
 * The cost of one call in micro-dollars: uncached prompt tokens at the input
 * price, cached ones at the cached price, completion tokens (reasoning
 * included: it is part of completionTokens) at the output price; one rounding
 * (half up) at the end.
 */
export function costMicros(tokens: Pick<TokenCounts, 'promptTokens' | 'cachedPromptTokens' | 'completionTokens'>, price: Price): bigint {
  const cached = BigInt(Math.min(tokens.cachedPromptTokens, tokens.promptTokens));
  const uncached = BigInt(tokens.promptTokens) - cached;
  const scaled = uncached * price.input + cached * price.cachedInput + BigInt(tokens.completionTokens) * price.output;
  return (scaled + 500_000n) / 1_000_000n;
}

export type PriceLookup = (kind: ProviderKind, model: string, at: Date) => PriceQuote;
