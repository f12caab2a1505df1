// The token counts of one call, as every part of the gateway speaks of them.

/** Completion includes reasoning; prompt includes cached. */
export interface TokenCounts {
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

/** About four characters a token: used when a provider reports no counts. */
export function estimateTokens(text: string): number {
  return tokensOfCharacters(text.length);
}

export function tokensOfCharacters(characters: number): number {
  return Math.ceil(characters / 4);
}
