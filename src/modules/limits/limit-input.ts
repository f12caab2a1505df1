// The bounds of a limit a client sets (a provider's or the workspace's), the
// same wherever it is set. Budgets are stored as micro-dollars in a BIGINT:
// the bound keeps every budget, and every sum of it, far inside that column.
import { BadUserInputError } from '../../errors.js';
import { usdToMicrosRounded } from '../../money.js';

const MAX_BUDGET_USD = 1e9;

/** USD → micro-dollars; null clears the budget. */
export function budgetMicros(usd: number | null, field: string): bigint | null {
  if (usd === null) return null;
  if (!(Number.isFinite(usd) && usd >= 0 && usd <= MAX_BUDGET_USD)) throw new BadUserInputError(`${field} must be between 0 and ${MAX_BUDGET_USD} (USD)`, field);
  return usdToMicrosRounded(usd);
}

/** Tokens a day; null clears the limit (SafeInt has already bounded it above). */
export function dailyTokenLimit(tokens: number | null, field: string): bigint | null {
  if (tokens === null) return null;
  if (tokens < 0) throw new BadUserInputError(`${field} must be at least 0`, field);
  return BigInt(tokens);
}
