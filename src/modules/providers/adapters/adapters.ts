// One adapter per wire protocol.
import type { WireProtocol } from '../kinds.js';
import type { ProviderAdapter } from './adapter.js';
import { createAnthropicAdapter } from './anthropic.adapter.js';
import { createGeminiAdapter, type GeminiAdapterDeps } from './gemini.adapter.js';
import { createOpenAiCompatibleAdapter } from './openai-compatible.adapter.js';

export type Adapters = Record<WireProtocol, ProviderAdapter>;

export function createAdapters(deps: GeminiAdapterDeps): Adapters {
  return {
    openai: createOpenAiCompatibleAdapter(deps),
    anthropic: createAnthropicAdapter(deps),
    gemini: createGeminiAdapter(deps),
  };
}
