// Provider kinds are data, not classes: each names the wire protocol its adapter
// speaks and the few facts that differ between vendors.
import type { ProviderKind } from '../../generated/prisma/enums.js';

export type WireProtocol = 'openai' | 'anthropic' | 'gemini';

export interface KindSpec {
  protocol: WireProtocol;
  displayName: string;
  /** null: the caller must give one (OPENAI_COMPATIBLE). */
  defaultBaseUrl: string | null;
  defaultModel: string;
  /** False: the vendor has no embeddings API, so `embed` goes past its providers and refuses them when named. */
  embeds: boolean;
  /** What `embed` uses when neither the call nor the preferences name a model; null: nothing to assume, one must be named. */
  defaultEmbeddingModel: string | null;
  requiresKey: boolean;
  /** Path (relative to the base URL) whose GET proves the key; the protocol's model list otherwise. */
  validationPath?: string;
  extraHeaders?: Record<string, string>;
  /** What keys of this kind usually start with, for a friendlier refusal message. */
  keyPrefix?: string;
  /**
   * OpenAI protocol: the vendor reports what each call cost it (`usage.cost`, USD) when a chat asks with
   * `usage: {include: true}`. Asked of no other kind: OpenAI itself refuses a parameter it does not know.
   */
  reportsCost?: true;
}

export const KINDS: Record<ProviderKind, KindSpec> = {
  OPENAI: {
    protocol: 'openai',
    displayName: 'OpenAI',
    defaultBaseUrl: 'https://api.openai.com/v1',
    defaultModel: 'gpt-4o-mini',
    embeds: true,
    defaultEmbeddingModel: 'text-embedding-3-small',
    requiresKey: true,
    keyPrefix: 'sk-',
  },
  ANTHROPIC: {
    protocol: 'anthropic',
    displayName: 'Anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    defaultModel: 'claude-3-5-haiku-latest',
    embeds: false,
    defaultEmbeddingModel: null,
    requiresKey: true,
    keyPrefix: 'sk-ant-',
  },
  GEMINI: {
    protocol: 'gemini',
    displayName: 'Google Gemini',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com',
    defaultModel: 'gemini-2.0-flash',
    embeds: true,
    defaultEmbeddingModel: 'text-embedding-004',
    requiresKey: true,
    keyPrefix: 'AIza',
  },
  DEEPSEEK: {
    protocol: 'openai',
    displayName: 'DeepSeek',
    defaultBaseUrl: 'https://api.deepseek.com',
    defaultModel: 'deepseek-chat',
    embeds: false,
    defaultEmbeddingModel: null,
    requiresKey: true,
    keyPrefix: 'sk-',
  },
  OPENROUTER: {
    protocol: 'openai',
    displayName: 'OpenRouter',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    defaultModel: 'openai/gpt-4o-mini',
    embeds: true,
    defaultEmbeddingModel: 'openai/text-embedding-3-small',
    requiresKey: true,
    validationPath: '/key',
    extraHeaders: { 'X-Title': 'BYOK gateway' },
    keyPrefix: 'sk-or-',
    reportsCost: true,
  },
  XAI: {
    protocol: 'openai',
    displayName: 'xAI',
    defaultBaseUrl: 'https://api.x.ai/v1',
    defaultModel: 'grok-2-latest',
    embeds: false,
    defaultEmbeddingModel: null,
    requiresKey: true,
    keyPrefix: 'xai-',
  },
  GROQ: {
    protocol: 'openai',
    displayName: 'Groq',
    defaultBaseUrl: 'https://api.groq.com/openai/v1',
    defaultModel: 'llama-3.1-8b-instant',
    embeds: false,
    defaultEmbeddingModel: null,
    requiresKey: true,
    keyPrefix: 'gsk_',
  },
  MISTRAL: {
    protocol: 'openai',
    displayName: 'Mistral',
    defaultBaseUrl: 'https://api.mistral.ai/v1',
    defaultModel: 'mistral-small-latest',
    embeds: true,
    defaultEmbeddingModel: 'mistral-embed',
    requiresKey: true,
  },
  TOGETHER: {
    protocol: 'openai',
    displayName: 'Together',
    defaultBaseUrl: 'https://api.together.xyz/v1',
    defaultModel: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
    embeds: true,
    defaultEmbeddingModel: 'BAAI/bge-base-en-v1.5',
    requiresKey: true,
  },
  OLLAMA: {
    protocol: 'openai',
    displayName: 'Ollama',
    defaultBaseUrl: 'http://localhost:11434/v1',
    defaultModel: 'llama3.1',
    embeds: true,
    defaultEmbeddingModel: 'nomic-embed-text',
    requiresKey: false,
  },
  OPENAI_COMPATIBLE: {
    protocol: 'openai',
    displayName: 'OpenAI-compatible',
    defaultBaseUrl: null,
    defaultModel: 'default',
    embeds: true,
    defaultEmbeddingModel: null,
    requiresKey: false,
  },
};

/** What the gateway carries through a kind: every protocol's adapter translates tools, images and JSON output (provider-protocols.md). */
export function kindCapabilities(spec: KindSpec): string[] {
  return ['chat', 'streaming', 'tools', 'vision', 'json', ...(spec.embeds ? ['embeddings'] : [])];
}
