// How many output tokens a call may ask for, before the limits have their say.
// A call that names its maxTokens gets exactly that or is refused. One that
// names none is capped at what it may spend: the workspace's maxTokensPerRequest
// (else DEFAULT_OUTPUT_TOKENS) and what the model's context window leaves after
// the prompt; the reservation then shrinks the cap to what the limits and
// budgets still leave, and refuses only under MIN_USEFUL_OUTPUT_TOKENS.

/** The cap on a call's output when neither the call nor the workspace sets one. */
export const DEFAULT_OUTPUT_TOKENS = 4096;
/** The most output tokens a call or a workspace may ask for (the ledger's counts are 32-bit). */
export const MAX_OUTPUT_TOKENS = 10_000_000;
/** Under this many output tokens an answer is too short to be worth a call: refused instead. */
export const MIN_USEFUL_OUTPUT_TOKENS = 64;

/** The output the reservation may grant: at most `max`, at least `min`. */
export interface OutputAllowance {
  max: number;
  min: number;
}

export function outputAllowance(
  call: { maxTokens?: number | null; promptTokens: number },
  caps: { maxTokensPerRequest: number | null; contextWindow: number | null },
): OutputAllowance {
  if (call.maxTokens != null) return { max: call.maxTokens, min: call.maxTokens };
  const contextLeft = caps.contextWindow === null ? Infinity : caps.contextWindow - call.promptTokens;
  const max = Math.max(1, Math.min(caps.maxTokensPerRequest ?? DEFAULT_OUTPUT_TOKENS, contextLeft));
  return { max, min: Math.min(MIN_USEFUL_OUTPUT_TOKENS, max) };
}
