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

/** "2.50" → 2_500_000n micro-dollars, exactly. More than six decimals or anything else is refused. */
export function usdToMicros(usd: string): bigint {
  const match = DECIMAL_USD.exec(usd);
  if (!match) throw new Error(`Not a price in USD with at most 6 decimals: ${JSON.stringify(usd)}`);
  return BigInt(match[1]) * BigInt(MICROS_PER_USD) + BigInt((match[2] ?? '').padEnd(6, '0'));
}
