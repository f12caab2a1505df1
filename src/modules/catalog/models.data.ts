// The shipped price table: one row per model, prices in USD per million
// tokens as decimal strings (read exactly into integer micro-dollars).
// A price change is a new entry in PRICE_CHANGES with the date it takes effect,
// so a ledger row is always priced with the version in force when it was made;
// a model added by a later version has no price of its own before that date.
import type { ProviderKind } from '../../generated/prisma/enums.js';

export type Tier = 'PREMIUM' | 'BALANCED' | 'CHEAP';

/** [model, display name, context window, input, cached input, output, tier, capabilities] */
export type ModelRow = [string, string, number | null, string, string, string, Tier, string];

const S = 'streaming';
const V = `${S},vision`;
// A model that takes tools answers in JSON too: through the response format, or (Anthropic) through a forced tool.
const T = `${S},tools,json`;
const VT = `${S},vision,tools,json`;
const R = `${S},tools,json,reasoning`;
const VR = `${S},vision,tools,json,reasoning`;
/** An embedding model: inputs in, vectors out; no chat, so none of the chat capabilities. */
const E = 'embeddings';

export const BASE_PRICE_VERSION = '2026-01-01';

export const BASE_MODELS: Record<ProviderKind, ModelRow[]> = {
  OPENAI: [
    ['gpt-4o', 'GPT-4o', 128000, '2.50', '1.25', '10.00', 'PREMIUM', VT],
    ['gpt-4o-mini', 'GPT-4o mini', 128000, '0.15', '0.075', '0.60', 'CHEAP', VT],
    ['gpt-4.1', 'GPT-4.1', 1047576, '2.00', '0.50', '8.00', 'PREMIUM', VT],
    ['gpt-4.1-mini', 'GPT-4.1 mini', 1047576, '0.40', '0.10', '1.60', 'BALANCED', VT],
    ['gpt-4.1-nano', 'GPT-4.1 nano', 1047576, '0.10', '0.025', '0.40', 'CHEAP', VT],
    ['gpt-5', 'GPT-5', 400000, '1.25', '0.125', '10.00', 'PREMIUM', VR],
    ['gpt-5-mini', 'GPT-5 mini', 400000, '0.25', '0.025', '2.00', 'BALANCED', VR],
    ['gpt-5-nano', 'GPT-5 nano', 400000, '0.05', '0.005', '0.40', 'CHEAP', VR],
    ['o1', 'o1', 200000, '15.00', '7.50', '60.00', 'PREMIUM', VR],
    ['o1-mini', 'o1-mini', 128000, '1.10', '0.55', '4.40', 'BALANCED', R],
    ['o3', 'o3', 200000, '2.00', '0.50', '8.00', 'PREMIUM', VR],
    ['o3-mini', 'o3-mini', 200000, '1.10', '0.55', '4.40', 'BALANCED', R],
    ['o4-mini', 'o4-mini', 200000, '1.10', '0.275', '4.40', 'BALANCED', VR],
    ['gpt-4-turbo', 'GPT-4 Turbo', 128000, '10.00', '10.00', '30.00', 'PREMIUM', VT],
    ['gpt-3.5-turbo', 'GPT-3.5 Turbo', 16385, '0.50', '0.50', '1.50', 'CHEAP', T],
    ['chatgpt-4o-latest', 'ChatGPT-4o latest', 128000, '5.00', '5.00', '15.00', 'PREMIUM', V],
  ],
  ANTHROPIC: [
    ['claude-opus-4-1', 'Claude Opus 4.1', 200000, '15.00', '1.50', '75.00', 'PREMIUM', VR],
    ['claude-opus-4-0', 'Claude Opus 4', 200000, '15.00', '1.50', '75.00', 'PREMIUM', VR],
    ['claude-sonnet-4-5', 'Claude Sonnet 4.5', 200000, '3.00', '0.30', '15.00', 'PREMIUM', VR],
    ['claude-sonnet-4-0', 'Claude Sonnet 4', 200000, '3.00', '0.30', '15.00', 'PREMIUM', VR],
    ['claude-3-7-sonnet-latest', 'Claude 3.7 Sonnet', 200000, '3.00', '0.30', '15.00', 'PREMIUM', VR],
    ['claude-3-5-sonnet-latest', 'Claude 3.5 Sonnet', 200000, '3.00', '0.30', '15.00', 'BALANCED', VT],
    ['claude-3-5-haiku-latest', 'Claude 3.5 Haiku', 200000, '0.80', '0.08', '4.00', 'CHEAP', T],
    ['claude-haiku-4-5', 'Claude Haiku 4.5', 200000, '1.00', '0.10', '5.00', 'BALANCED', VT],
    ['claude-3-opus-latest', 'Claude 3 Opus', 200000, '15.00', '1.50', '75.00', 'PREMIUM', VT],
    ['claude-3-haiku-20240307', 'Claude 3 Haiku', 200000, '0.25', '0.03', '1.25', 'CHEAP', VT],
  ],
  GEMINI: [
    ['gemini-2.5-pro', 'Gemini 2.5 Pro', 1048576, '1.25', '0.31', '10.00', 'PREMIUM', VR],
    ['gemini-2.5-flash', 'Gemini 2.5 Flash', 1048576, '0.30', '0.075', '2.50', 'BALANCED', VR],
    ['gemini-2.5-flash-lite', 'Gemini 2.5 Flash-Lite', 1048576, '0.10', '0.025', '0.40', 'CHEAP', VT],
    ['gemini-2.0-flash', 'Gemini 2.0 Flash', 1048576, '0.10', '0.025', '0.40', 'CHEAP', VT],
    ['gemini-2.0-flash-lite', 'Gemini 2.0 Flash-Lite', 1048576, '0.075', '0.075', '0.30', 'CHEAP', VT],
    ['gemini-1.5-pro', 'Gemini 1.5 Pro', 2097152, '1.25', '0.3125', '5.00', 'PREMIUM', VT],
    ['gemini-1.5-flash', 'Gemini 1.5 Flash', 1048576, '0.075', '0.01875', '0.30', 'CHEAP', VT],
    ['gemini-1.5-flash-8b', 'Gemini 1.5 Flash-8B', 1048576, '0.0375', '0.01', '0.15', 'CHEAP', VT],
    ['gemma-3-27b-it', 'Gemma 3 27B', 131072, '0.00', '0.00', '0.00', 'CHEAP', S],
  ],
  DEEPSEEK: [
    ['deepseek-chat', 'DeepSeek V3', 65536, '0.27', '0.07', '1.10', 'CHEAP', T],
    ['deepseek-reasoner', 'DeepSeek R1', 65536, '0.55', '0.14', '2.19', 'BALANCED', R],
  ],
  OPENROUTER: [
    ['openai/gpt-4o', 'OpenAI: GPT-4o', 128000, '2.50', '1.25', '10.00', 'PREMIUM', VT],
    ['openai/gpt-4o-mini', 'OpenAI: GPT-4o mini', 128000, '0.15', '0.075', '0.60', 'CHEAP', VT],
    ['openai/o3-mini', 'OpenAI: o3 Mini', 200000, '1.10', '0.55', '4.40', 'BALANCED', R],
    ['anthropic/claude-3.5-sonnet', 'Anthropic: Claude 3.5 Sonnet', 200000, '3.00', '0.30', '15.00', 'BALANCED', VT],
    ['anthropic/claude-3.7-sonnet', 'Anthropic: Claude 3.7 Sonnet', 200000, '3.00', '0.30', '15.00', 'PREMIUM', VR],
    ['anthropic/claude-3.5-haiku', 'Anthropic: Claude 3.5 Haiku', 200000, '0.80', '0.08', '4.00', 'CHEAP', T],
    ['google/gemini-2.0-flash-001', 'Google: Gemini 2.0 Flash', 1048576, '0.10', '0.025', '0.40', 'CHEAP', VT],
    ['google/gemini-2.5-pro', 'Google: Gemini 2.5 Pro', 1048576, '1.25', '0.31', '10.00', 'PREMIUM', VR],
    ['meta-llama/llama-3.1-8b-instruct', 'Meta: Llama 3.1 8B Instruct', 131072, '0.02', '0.02', '0.05', 'CHEAP', T],
    ['meta-llama/llama-3.1-70b-instruct', 'Meta: Llama 3.1 70B Instruct', 131072, '0.12', '0.12', '0.30', 'BALANCED', T],
    ['meta-llama/llama-3.3-70b-instruct', 'Meta: Llama 3.3 70B Instruct', 131072, '0.13', '0.13', '0.40', 'BALANCED', T],
    ['meta-llama/llama-3.1-405b-instruct', 'Meta: Llama 3.1 405B Instruct', 131072, '0.80', '0.80', '0.80', 'PREMIUM', T],
    ['mistralai/mistral-large', 'Mistral Large', 128000, '2.00', '2.00', '6.00', 'PREMIUM', T],
    ['mistralai/mistral-nemo', 'Mistral: Mistral Nemo', 131072, '0.02', '0.02', '0.04', 'CHEAP', T],
    ['deepseek/deepseek-chat', 'DeepSeek: DeepSeek V3', 163840, '0.30', '0.30', '0.85', 'CHEAP', T],
    ['deepseek/deepseek-r1', 'DeepSeek: R1', 163840, '0.50', '0.50', '2.15', 'BALANCED', R],
    ['qwen/qwen-2.5-72b-instruct', 'Qwen2.5 72B Instruct', 32768, '0.12', '0.12', '0.39', 'BALANCED', T],
    ['qwen/qwq-32b', 'Qwen: QwQ 32B', 131072, '0.15', '0.15', '0.20', 'CHEAP', R],
    ['x-ai/grok-3', 'xAI: Grok 3', 131072, '3.00', '0.75', '15.00', 'PREMIUM', T],
    ['x-ai/grok-3-mini', 'xAI: Grok 3 Mini', 131072, '0.30', '0.075', '0.50', 'CHEAP', R],
    ['cohere/command-r-plus', 'Cohere: Command R+', 128000, '2.50', '2.50', '10.00', 'PREMIUM', T],
    ['nousresearch/hermes-3-llama-3.1-405b', 'Nous: Hermes 3 405B Instruct', 131072, '0.70', '0.70', '0.80', 'PREMIUM', S],
  ],
  XAI: [
    ['grok-4', 'Grok 4', 256000, '3.00', '0.75', '15.00', 'PREMIUM', VR],
    ['grok-3', 'Grok 3', 131072, '3.00', '0.75', '15.00', 'PREMIUM', T],
    ['grok-3-mini', 'Grok 3 Mini', 131072, '0.30', '0.075', '0.50', 'CHEAP', R],
    ['grok-2-latest', 'Grok 2', 131072, '2.00', '2.00', '10.00', 'BALANCED', T],
    ['grok-2-vision-latest', 'Grok 2 Vision', 32768, '2.00', '2.00', '10.00', 'BALANCED', VT],
    ['grok-code-fast-1', 'Grok Code Fast 1', 256000, '0.20', '0.02', '1.50', 'CHEAP', R],
  ],
  GROQ: [
    ['llama-3.1-8b-instant', 'Llama 3.1 8B Instant', 131072, '0.05', '0.05', '0.08', 'CHEAP', T],
    ['llama-3.3-70b-versatile', 'Llama 3.3 70B Versatile', 131072, '0.59', '0.59', '0.79', 'BALANCED', T],
    ['llama3-70b-8192', 'Llama 3 70B', 8192, '0.59', '0.59', '0.79', 'BALANCED', T],
    ['llama3-8b-8192', 'Llama 3 8B', 8192, '0.05', '0.05', '0.08', 'CHEAP', T],
    ['gemma2-9b-it', 'Gemma 2 9B', 8192, '0.20', '0.20', '0.20', 'CHEAP', S],
    ['mixtral-8x7b-32768', 'Mixtral 8x7B', 32768, '0.24', '0.24', '0.24', 'CHEAP', T],
    ['deepseek-r1-distill-llama-70b', 'DeepSeek R1 Distill Llama 70B', 131072, '0.75', '0.75', '0.99', 'BALANCED', R],
    ['qwen-qwq-32b', 'Qwen QwQ 32B', 131072, '0.29', '0.29', '0.39', 'CHEAP', R],
    ['openai/gpt-oss-120b', 'GPT-OSS 120B', 131072, '0.15', '0.15', '0.75', 'BALANCED', R],
    ['openai/gpt-oss-20b', 'GPT-OSS 20B', 131072, '0.10', '0.10', '0.50', 'CHEAP', R],
  ],
  MISTRAL: [
    ['mistral-large-latest', 'Mistral Large', 131072, '2.00', '2.00', '6.00', 'PREMIUM', T],
    ['mistral-medium-latest', 'Mistral Medium 3', 131072, '0.40', '0.40', '2.00', 'BALANCED', VT],
    ['mistral-small-latest', 'Mistral Small 3', 32768, '0.10', '0.10', '0.30', 'CHEAP', VT],
    ['codestral-latest', 'Codestral', 262144, '0.30', '0.30', '0.90', 'BALANCED', T],
    ['ministral-8b-latest', 'Ministral 8B', 131072, '0.10', '0.10', '0.10', 'CHEAP', T],
    ['ministral-3b-latest', 'Ministral 3B', 131072, '0.04', '0.04', '0.04', 'CHEAP', T],
    ['pixtral-large-latest', 'Pixtral Large', 131072, '2.00', '2.00', '6.00', 'PREMIUM', VT],
    ['pixtral-12b-2409', 'Pixtral 12B', 131072, '0.15', '0.15', '0.15', 'CHEAP', VT],
    ['open-mistral-nemo', 'Mistral Nemo', 131072, '0.15', '0.15', '0.15', 'CHEAP', T],
    ['magistral-medium-latest', 'Magistral Medium', 40000, '2.00', '2.00', '5.00', 'PREMIUM', R],
    ['magistral-small-latest', 'Magistral Small', 40000, '0.50', '0.50', '1.50', 'BALANCED', R],
  ],
  TOGETHER: [
    ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'Llama 3.3 70B Instruct Turbo', 131072, '0.88', '0.88', '0.88', 'BALANCED', T],
    ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'Llama 3.1 8B Instruct Turbo', 131072, '0.18', '0.18', '0.18', 'CHEAP', T],
    ['meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo', 'Llama 3.1 70B Instruct Turbo', 131072, '0.88', '0.88', '0.88', 'BALANCED', T],
    ['meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo', 'Llama 3.1 405B Instruct Turbo', 130815, '3.50', '3.50', '3.50', 'PREMIUM', T],
    ['meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8', 'Llama 4 Maverick', 1048576, '0.27', '0.27', '0.85', 'BALANCED', VT],
    ['meta-llama/Llama-4-Scout-17B-16E-Instruct', 'Llama 4 Scout', 1048576, '0.18', '0.18', '0.59', 'CHEAP', VT],
    ['deepseek-ai/DeepSeek-V3', 'DeepSeek V3', 131072, '1.25', '1.25', '1.25', 'BALANCED', T],
    ['deepseek-ai/DeepSeek-R1', 'DeepSeek R1', 163840, '3.00', '3.00', '7.00', 'PREMIUM', R],
    ['Qwen/Qwen2.5-72B-Instruct-Turbo', 'Qwen 2.5 72B Instruct Turbo', 32768, '1.20', '1.20', '1.20', 'BALANCED', T],
    ['Qwen/Qwen2.5-Coder-32B-Instruct', 'Qwen 2.5 Coder 32B', 32768, '0.80', '0.80', '0.80', 'BALANCED', T],
    ['mistralai/Mixtral-8x7B-Instruct-v0.1', 'Mixtral 8x7B Instruct', 32768, '0.60', '0.60', '0.60', 'CHEAP', S],
    ['google/gemma-2-27b-it', 'Gemma 2 27B', 8192, '0.80', '0.80', '0.80', 'BALANCED', S],
  ],
  // Local models: the operator pays for the hardware, not per token.
  OLLAMA: [
    ['llama3.1', 'Llama 3.1 (local)', 131072, '0', '0', '0', 'CHEAP', T],
    ['llama3.2', 'Llama 3.2 (local)', 131072, '0', '0', '0', 'CHEAP', T],
    ['llama3.3', 'Llama 3.3 70B (local)', 131072, '0', '0', '0', 'BALANCED', T],
    ['qwen2.5', 'Qwen 2.5 (local)', 32768, '0', '0', '0', 'CHEAP', T],
    ['qwen2.5-coder', 'Qwen 2.5 Coder (local)', 32768, '0', '0', '0', 'CHEAP', T],
    ['mistral', 'Mistral 7B (local)', 32768, '0', '0', '0', 'CHEAP', T],
    ['gemma2', 'Gemma 2 (local)', 8192, '0', '0', '0', 'CHEAP', S],
    ['gemma3', 'Gemma 3 (local)', 131072, '0', '0', '0', 'CHEAP', V],
    ['phi4', 'Phi-4 (local)', 16384, '0', '0', '0', 'CHEAP', S],
    ['deepseek-r1', 'DeepSeek R1 distill (local)', 131072, '0', '0', '0', 'CHEAP', `${S},reasoning`],
    ['llava', 'LLaVA (local)', 4096, '0', '0', '0', 'CHEAP', V],
  ],
  OPENAI_COMPATIBLE: [],
};

/** A later price version, from `effectiveFrom` on: the models whose prices changed and the models it adds. */
export interface PriceChange {
  version: string;
  effectiveFrom: string;
  models: Partial<Record<ProviderKind, Array<[model: string, input: string, cachedInput: string, output: string]>>>;
  added?: Partial<Record<ProviderKind, ModelRow[]>>;
}

export const PRICE_CHANGES: PriceChange[] = [
  {
    version: '2026-08-01',
    effectiveFrom: '2026-08-01T00:00:00Z',
    models: {
      OPENAI: [
        ['gpt-4o', '2.00', '1.00', '8.00'],
        ['o3', '1.50', '0.375', '6.00'],
      ],
      DEEPSEEK: [['deepseek-chat', '0.28', '0.028', '0.42']],
    },
  },
  {
    // Embedding models, priced per input token (they write no output tokens).
    version: '2026-11-25',
    effectiveFrom: '2026-11-25T00:00:00Z',
    models: {},
    added: {
      OPENAI: [
        ['text-embedding-3-small', 'Text Embedding 3 Small', 8191, '0.02', '0.02', '0', 'CHEAP', E],
        ['text-embedding-3-large', 'Text Embedding 3 Large', 8191, '0.13', '0.13', '0', 'CHEAP', E],
        ['text-embedding-ada-002', 'Text Embedding Ada 002', 8191, '0.10', '0.10', '0', 'CHEAP', E],
      ],
      GEMINI: [
        ['gemini-embedding-001', 'Gemini Embedding', 2048, '0.15', '0.15', '0', 'CHEAP', E],
        // The Gemini API lists it free of charge (Vertex AI bills it per character, which this table cannot express).
        ['text-embedding-004', 'Text Embedding 004', 2048, '0', '0', '0', 'CHEAP', E],
      ],
      OPENROUTER: [['openai/text-embedding-3-small', 'OpenAI: Text Embedding 3 Small', 8191, '0.02', '0.02', '0', 'CHEAP', E]],
      MISTRAL: [['mistral-embed', 'Mistral Embed', 8192, '0.10', '0.10', '0', 'CHEAP', E]],
      TOGETHER: [['BAAI/bge-base-en-v1.5', 'BAAI BGE Base EN v1.5', 512, '0.008', '0.008', '0', 'CHEAP', E]],
      OLLAMA: [['nomic-embed-text', 'Nomic Embed Text (local)', 8192, '0', '0', '0', 'CHEAP', E]],
    },
  },
];

/**
 * What a model the table does not know costs, per kind: priced like the kind's
 * usual model (and the event flagged), never silently free. Local and custom
 * servers are free by default.
 */
export const FALLBACK_MODEL: Record<ProviderKind, string | null> = {
  OPENAI: 'gpt-4o',
  ANTHROPIC: 'claude-sonnet-4-0',
  GEMINI: 'gemini-2.5-pro',
  DEEPSEEK: 'deepseek-reasoner',
  OPENROUTER: 'openai/gpt-4o',
  XAI: 'grok-3',
  GROQ: 'llama-3.3-70b-versatile',
  MISTRAL: 'mistral-large-latest',
  TOGETHER: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  OLLAMA: null,
  OPENAI_COMPATIBLE: null,
};
