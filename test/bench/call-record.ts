// A finished call as the ledger's benchmarks finalize it: 300 prompt and 200 completion tokens.
import type { CallRecord } from '../../src/modules/usage/ledger.js';

export const SUCCEEDED_CALL: CallRecord = {
  status: 'SUCCEEDED',
  tokens: { promptTokens: 300, cachedPromptTokens: 0, completionTokens: 200, reasoningTokens: 0, totalTokens: 500 },
  usageSource: 'PROVIDER',
  providerCostMicros: null,
  durationMs: 900,
  ttftMs: 120,
  errorCode: null,
  sessionMessages: 0,
};
