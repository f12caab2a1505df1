// Money is integer micro-dollars (BIGINT columns and counters, so sums stay exact);
// USD as a float exists only at the API's edge, in `...Usd` fields and inputs.

const MICROS_PER_USD = 1_000_000;

const DECIMAL_USD = /^(\d+)(?:\.(\d{1,6}))?$/;

/** For display and `...Usd` fields only, never for a sum; an unset amount (a budget) stays unset. */
export function microsToUsd(micros: bigint | number): number;
export function microsToUsd(micros: bigint | number | null): number | null;
export function microsToUsd(micros: bigint | number | null): number | null {
  return micros === null ? null : Number(micros) / MICROS_PER_USD;
}

/** A USD amount a client sent (a float), to the nearest micro-dollar. */
export function usdToMicrosRounded(usd: number): bigint {
  return BigInt(Math.round(usd * MICROS_PER_USD));
}

/**
 * The most one call can plausibly cost, in USD: a provider that reports more (a unit mistaken, a bug) is not
 * believed. The dearest models listed price output at a few hundred dollars a million tokens, so a real call stays
 * far below it.
 */
const MAX_REPORTED_CALL_USD = 1_000;

/**
 * What a provider said a call cost (a number of USD on its wire), to the nearest micro-dollar; null when it said
 * nothing usable: absent, not a number, not finite, negative, or past MAX_REPORTED_CALL_USD. Never throws: a
 * provider's word on cost never fails a call.
 */
export function reportedUsdToMicros(usd: unknown): bigint | null {
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0 || usd > MAX_REPORTED_CALL_USD) return null;
  return usdToMicrosRounded(usd);
}

/** "2.50" → 2_500_000n micro-dollars, exactly. More than six decimals or anything else is refused. */
export function usdToMicros(usd: string): bigint {
  const match = DECIMAL_USD.exec(usd);
  if (!match) throw new Error(`Not a price in USD with at most 6 decimals: ${JSON.stringify(usd)}`);
  return BigInt(match[1]) * BigInt(MICROS_PER_USD) + BigInt((match[2] ?? '').padEnd(6, '0'));
}
