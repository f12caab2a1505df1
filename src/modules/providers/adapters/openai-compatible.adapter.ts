// OpenAI, DeepSeek, OpenRouter, xAI, Groq, Mistral, Together, Ollama and any
// OpenAI-compatible endpoint, through the `openai` SDK with a base URL.
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { type AnswerEvent, textOf, type UpstreamRequest } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { KINDS } from '../kinds.js';
import { type AdapterDeps, callProvider, inBandError, type ProviderAdapter, type ProviderTarget, streamProvider, type UpstreamFailure } from './adapter.js';

/** Distinct (kind, base URL) pairs whose SDK client is kept; past it the oldest is dropped. */
const MAX_CLIENTS = 256;

export function createOpenAiCompatibleAdapter(deps: AdapterDeps): ProviderAdapter {
  // One SDK client per kind and base URL, holding no key: the key goes with each request (see `auth`),
  // decrypted for that call only. Building a client costs about 50 µs of CPU (every API resource, the
  // environment read), a tenth of what the gateway spends on a call.
  const clients = new Map<string, OpenAI>();
  const client = (target: ProviderTarget) => {
    const id = `${target.kind} ${target.baseUrl}`;
    let sdk = clients.get(id);
    if (!sdk) {
      if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
      sdk = new OpenAI({
        apiKey: 'sent-with-each-request',
        // Not from the gateway's environment: an OpenAI organization or project has no business at another provider.
        organization: null,
        project: null,
        baseURL: target.baseUrl,
        maxRetries: 0, // the gateway owns retries
        timeout: deps.timeoutMs,
        fetch: deps.fetch,
        defaultHeaders: KINDS[target.kind].extraHeaders,
      });
      clients.set(id, sdk);
    }
    return sdk;
  };
  // Keyless servers (Ollama) still get a bearer header; any value does.
  const auth = (target: ProviderTarget) => ({ Authorization: `Bearer ${target.apiKey || 'no-key'}` });

  const call = <T>(target: ProviderTarget, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>) => callProvider(target.kind, signal, deps.timeoutMs, run, httpFailure);

  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    call(target, signal, async (callSignal) => {
      const ids: string[] = [];
      for await (const model of client(target).models.list({ signal: callSignal, headers: auth(target) })) ids.push(model.id);
      return ids;
    });

  return {
    listModels,
    chat: (target, request, signal) =>
      call(target, signal, async (callSignal) => {
        const completion = await client(target).chat.completions.create({ ...body(target, request), stream: false }, { signal: callSignal, headers: auth(target) });
        return completionEvents(completion);
      }),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const chunks = await client(target).chat.completions.create(
            { ...body(target, request), stream: true, stream_options: { include_usage: true } },
            { signal: callSignal, headers: auth(target) },
          );
          try {
            for await (const chunk of chunks) yield* chunkEvents(chunk);
          } catch (error) {
            // `data: {"error": ...}` after a 200 surfaces as an APIError without a status.
            if (error instanceof OpenAI.APIError && error.status === undefined && !(error instanceof OpenAI.APIConnectionError)) {
              throw inBandError(target.kind, (error.error as { type?: string } | undefined)?.type);
            }
            throw error;
          }
        },
        httpFailure,
      ),
    async validate(target, signal) {
      const path = KINDS[target.kind].validationPath;
      if (!path) return { models: await listModels(target, signal) };
      // OpenRouter lists models without a key: /key is what proves one.
      await call(target, signal, (callSignal) => client(target).get(path, { signal: callSignal, headers: auth(target) }));
      return { models: await listModels(target, signal) };
    },
  };
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof OpenAI.APIError) || error.status === undefined) return undefined;
  return { status: error.status, headers: error.headers, type: error.code ?? error.type ?? undefined };
}

/** Newer OpenAI models take max_completion_tokens; everything OpenAI-compatible else takes max_tokens. */
function body(target: ProviderTarget, request: UpstreamRequest): ChatCompletionCreateParamsBase {
  const params: ChatCompletionCreateParamsBase = { model: request.model, messages: toOpenAiMessages(request.messages) };
  if (request.options.temperature !== undefined) params.temperature = request.options.temperature;
  if (target.kind === 'OPENAI' && /^(o\d|gpt-5)/.test(request.model)) params.max_completion_tokens = request.options.maxTokens;
  else params.max_tokens = request.options.maxTokens;
  return params;
}

function toOpenAiMessages(messages: UpstreamRequest['messages']): ChatCompletionMessageParam[] {
  return messages.map((message) => ({ role: message.role, content: textOf(message) }));
}

interface ReasoningDelta {
  content?: string | null;
  /** DeepSeek reasoner */
  reasoning_content?: string | null;
  /** OpenRouter */
  reasoning?: string | null;
}

function* chunkEvents(chunk: ChatCompletionChunk): Generator<AnswerEvent> {
  const choice = chunk.choices[0];
  if (choice) {
    const delta = choice.delta as ReasoningDelta;
    const thinking = delta.reasoning_content ?? delta.reasoning;
    if (thinking) yield { type: 'thinking', text: thinking };
    if (delta.content) yield { type: 'text', text: delta.content };
    if (choice.finish_reason) yield { type: 'finish', reason: choice.finish_reason };
  }
  if (chunk.usage) yield { type: 'usage', usage: counts(chunk.usage) };
}

function completionEvents(completion: ChatCompletion): AnswerEvent[] {
  const choice = completion.choices[0];
  const message = choice?.message as (ReasoningDelta & { content: string | null }) | undefined;
  const events: AnswerEvent[] = [];
  const thinking = message?.reasoning_content ?? message?.reasoning;
  if (thinking) events.push({ type: 'thinking', text: thinking });
  if (message?.content) events.push({ type: 'text', text: message.content });
  if (completion.usage) events.push({ type: 'usage', usage: counts(completion.usage) });
  events.push({ type: 'finish', reason: choice?.finish_reason ?? null });
  return events;
}

function counts(usage: NonNullable<ChatCompletion['usage']>): TokenCounts {
  return {
    promptTokens: usage.prompt_tokens,
    cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    completionTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    totalTokens: usage.total_tokens,
  };
}
