// One adapter per wire protocol.
import type { WireProtocol } from '../kinds.js';
import type { AdapterDeps, ProviderAdapter } from './adapter.js';
import { createAnthropicAdapter } from './anthropic.adapter.js';
import { createGeminiAdapter } from './gemini.adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.adapter.js';

export type Adapters = Record<WireProtocol, ProviderAdapter>;

export function createAdapters(deps: AdapterDeps): Adapters {
  return {
    openai: createOpenAiCompatibleAdapter(deps),
    anthropic: createAnthropicAdapter(deps),
    gemini: createGeminiAdapter(deps),
  };
}
