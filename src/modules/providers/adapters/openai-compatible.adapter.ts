// OpenAI, DeepSeek, OpenRouter, xAI, Groq, Mistral, Together, Ollama and any
// OpenAI-compatible endpoint. Chat completions, on every call's path, are
// posted with the guarded fetch itself: the SDK's request building, headers
// and response wrapping cost more of the gateway's CPU than anything else of
// the call's own. Models, key validation and embeddings go through the
// `openai` SDK with a base URL.
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ResponseFormatJSONObject, ResponseFormatJSONSchema } from 'openai/resources/shared';
import type { ProviderKind } from '../../../generated/prisma/enums.js';
import { reportedUsdToMicros } from '../../../money.js';
import { headersOf } from '../../../net/http-fetch.js';
import { withFields } from '../../../with-fields.js';
import { type AnswerEvent, type GenerationOptions, type Message, textOf, type UpstreamRequest } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { KINDS } from '../kinds.js';
import {
  type AdapterDeps,
  callProvider,
  inBandError,
  ownHttpFailure,
  type ProviderAdapter,
  type ProviderTarget,
  streamProvider,
  type UpstreamFailure,
  UpstreamHttpError,
} from './adapter.js';
import { sseData } from './sse.js';

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
        fetch: deps.http.fetch,
        defaultHeaders: KINDS[target.kind].extraHeaders,
      });
      clients.set(id, sdk);
    }
    return sdk;
  };
  // Keyless servers (Ollama) still get a bearer header; any value does.
  const auth = (target: ProviderTarget) => ({ Authorization: `Bearer ${target.apiKey || 'no-key'}` });

  const call = <T>(target: ProviderTarget, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>) => callProvider(target.kind, signal, deps.timeoutMs, run, httpFailure);

  /** POST /chat/completions: the request the guarded client sends. */
  const completions = (target: ProviderTarget, params: CompletionParams, signal: AbortSignal): [string, RequestInit] => [
    `${target.baseUrl.replace(/\/+$/, '')}/chat/completions`,
    {
      method: 'POST',
      headers: withFields(KINDS[target.kind].extraHeaders ?? {}, {
        Authorization: auth(target).Authorization,
        'content-type': 'application/json',
        accept: params.stream ? 'text/event-stream' : 'application/json',
      }),
      body: JSON.stringify(params),
      signal,
    },
  ];

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
        // Read whole, not as a fetch Response: the non-streamed answer is the hot path's (see HttpClient.read).
        const answer = await deps.http.read(...completions(target, body(target, request), callSignal));
        if (!answer.ok) throw httpError(answer.status, headersOf(answer.rawHeaders), jsonOrNull(answer.text));
        return completionEvents(JSON.parse(answer.text) as ChatCompletion, KINDS[target.kind].reportsCost === true);
      }),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const response = await deps.http.fetch(...completions(target, withFields(body(target, request), { stream: true, stream_options: { include_usage: true } }), callSignal));
          if (!response.ok) throw httpError(response.status, response.headers, await response.json().catch(() => null));
          const seenCalls = new Set<number>();
          const reportsCost = KINDS[target.kind].reportsCost === true;
          for await (const data of sseData(response.body!)) {
            // Read on to the body's end, as the SDK did: a body read to its end leaves the connection to the pool.
            if (data === '[DONE]') continue;
            const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: { type?: string } };
            // `data: {"error": ...}` after a 200.
            if (chunk.error) throw inBandError(target.kind, chunk.error.type);
            yield* chunkEvents(chunk, seenCalls, reportsCost);
          }
        },
        httpFailure,
      ),
    embed: (target, request, signal) =>
      call(target, signal, async (callSignal) => {
        const reply = await client(target).embeddings.create(
          { model: request.model, input: request.inputs, encoding_format: 'float', ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}) },
          { signal: callSignal, headers: auth(target) },
        );
        const vectors = [...reply.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
        return { vectors, promptTokens: reply.usage?.prompt_tokens ?? null };
      }),
    async validate(target, signal) {
      const path = KINDS[target.kind].validationPath;
      if (!path) return { models: await listModels(target, signal) };
      // OpenRouter lists models without a key: /key is what proves one.
      await call(target, signal, (callSignal) => client(target).get(path, { signal: callSignal, headers: auth(target) }));
      return { models: await listModels(target, signal) };
    },
  };
}

/** An answer other than 2xx, as the SDK reads it. */
function httpError(status: number, headers: Headers, body: unknown): UpstreamHttpError {
  const error = (body as { error?: { code?: string | null; type?: string } } | null)?.error;
  return new UpstreamHttpError({ status, headers, type: error?.code ?? error?.type ?? undefined });
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof OpenAI.APIError) || error.status === undefined) return ownHttpFailure(error);
  return { status: error.status, headers: error.headers, type: error.code ?? error.type ?? undefined };
}

/** A chat's body: OpenAI's, and OpenRouter's request for the call's cost (KindSpec.reportsCost). */
type CompletionParams = ChatCompletionCreateParamsBase & { usage?: { include: true } };

/** Newer OpenAI models take max_completion_tokens; everything OpenAI-compatible else takes max_tokens. */
function body(target: ProviderTarget, request: UpstreamRequest): CompletionParams {
  const { options } = request;
  const params: CompletionParams = { model: request.model, messages: toOpenAiMessages(withJsonMentioned(request), target.kind) };
  if (options.temperature !== undefined) params.temperature = options.temperature;
  if (options.topP !== undefined) params.top_p = options.topP;
  if (options.stop?.length) params.stop = options.stop;
  if (target.kind === 'OPENAI' && /^(o\d|gpt-5)/.test(request.model)) params.max_completion_tokens = options.maxTokens;
  else params.max_tokens = options.maxTokens;
  // OpenAI refuses a tool_choice without tools.
  if (options.tools?.length) {
    // OpenAI wants the object schema's type said; JSON Schema may leave it to the properties.
    params.tools = options.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: { type: 'object', ...tool.parameters } },
    }));
    if (options.toolChoice) params.tool_choice = toOpenAiToolChoice(options.toolChoice);
  }
  const responseFormat = toOpenAiResponseFormat(options.responseFormat);
  if (responseFormat) params.response_format = responseFormat;
  if (KINDS[target.kind].reportsCost) params.usage = { include: true };
  return params;
}

/**
 * OpenAI (and Groq, and others after it) refuse JSON mode unless a message says "json": a request that asked
 * for JSON_OBJECT through the gateway, in any wording, gets a system line that says it.
 */
function withJsonMentioned({ messages, options }: UpstreamRequest): Message[] {
  if (options.responseFormat?.type !== 'json_object' || messages.some((message) => /json/i.test(textOf(message)))) return messages;
  return [{ role: 'system', content: [{ type: 'text', text: 'Answer with a JSON object.' }] }, ...messages];
}

function toOpenAiToolChoice(choice: NonNullable<GenerationOptions['toolChoice']>): ChatCompletionToolChoiceOption {
  return choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type;
}

/** Plain text is the default: no response_format at all, which every compatible server accepts. */
function toOpenAiResponseFormat(format: GenerationOptions['responseFormat']): ResponseFormatJSONObject | ResponseFormatJSONSchema | undefined {
  if (format?.type === 'json_object') return { type: 'json_object' };
  if (format?.type === 'json_schema') return { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict } };
  return undefined;
}

/** OpenAI refuses tool call ids longer than 40 characters; Mistral takes exactly 9 letters and digits. The gateway's may be up to 64. */
const MAX_TOOL_CALL_ID = 40;
const MISTRAL_TOOL_CALL_ID = /^[a-zA-Z0-9]{9}$/;

/**
 * The id a tool call goes to an OpenAI-compatible provider under: itself when the provider takes it, else a
 * short one drawn from its hash, the same for the assistant's call and the tool message that answers it.
 */
export function openAiToolCallId(id: string, kind: ProviderKind): string {
  if (kind === 'MISTRAL') return MISTRAL_TOOL_CALL_ID.test(id) ? id : hashOf(id).replace(/[-_]/g, '').slice(0, 9);
  return id.length <= MAX_TOOL_CALL_ID ? id : `call_${hashOf(id).slice(0, 32)}`;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

export function toOpenAiMessages(messages: Message[], kind: ProviderKind): ChatCompletionMessageParam[] {
  return messages.map((message) => toOpenAiMessage(message, kind));
}

function toOpenAiMessage(message: Message, kind: ProviderKind): ChatCompletionMessageParam {
  if (message.role === 'system') return { role: 'system', content: textOf(message) };
  if (message.role === 'user') return { role: 'user', content: userContent(message) };
  if (message.role === 'tool') {
    const result = message.content.find((part) => part.type === 'tool-result');
    return { role: 'tool', tool_call_id: openAiToolCallId(result?.callId ?? '', kind), content: result?.content ?? '' };
  }
  const toolCalls = message.content.flatMap((part): ChatCompletionMessageFunctionToolCall[] =>
    part.type === 'tool-call' ? [{ id: openAiToolCallId(part.call.id, kind), type: 'function', function: { name: part.call.name, arguments: part.call.arguments } }] : [],
  );
  const text = textOf(message);
  // OpenAI wants null, not '', for an assistant message that only calls tools.
  return toolCalls.length ? { role: 'assistant', content: text || null, tool_calls: toolCalls } : { role: 'assistant', content: text };
}

/** Plain text as a string (some compatible servers take nothing else); with images, the parts in order. */
function userContent(message: Message): string | ChatCompletionContentPart[] {
  if (!message.content.some((part) => part.type === 'image')) return textOf(message);
  return message.content.flatMap((part): ChatCompletionContentPart[] => {
    if (part.type === 'text') return [{ type: 'text', text: part.text }];
    if (part.type === 'image') return [{ type: 'image_url', image_url: { url: part.url, ...(part.detail ? { detail: part.detail } : {}) } }];
    return [];
  });
}

interface ReasoningDelta {
  content?: string | null;
  /** DeepSeek reasoner */
  reasoning_content?: string | null;
  /** OpenRouter */
  reasoning?: string | null;
}

/**
 * `seenCalls`: the calls of this stream already started, so that a provider repeating a call's id or name on every piece starts it once.
 * `reportsCost`: the provider was asked for the call's cost (it comes with the usage, in the last chunk).
 */
function* chunkEvents(chunk: ChatCompletionChunk, seenCalls: Set<number>, reportsCost: boolean): Generator<AnswerEvent> {
  const choice = chunk.choices[0];
  if (choice) {
    const delta = choice.delta as ReasoningDelta;
    const thinking = delta.reasoning_content ?? delta.reasoning;
    if (thinking) yield { type: 'thinking', text: thinking };
    if (delta.content) yield { type: 'text', text: delta.content };
    for (const call of choice.delta.tool_calls ?? []) {
      const argumentsDelta = call.function?.arguments ?? '';
      if (seenCalls.has(call.index)) {
        if (argumentsDelta) yield { type: 'tool-call', index: call.index, argumentsDelta };
        continue;
      }
      seenCalls.add(call.index);
      yield { type: 'tool-call', index: call.index, ...(call.id ? { id: call.id } : {}), ...(call.function?.name ? { name: call.function.name } : {}), argumentsDelta };
    }
    if (choice.finish_reason) yield { type: 'finish', reason: choice.finish_reason };
  }
  if (chunk.usage) yield usageEvent(chunk.usage, reportsCost);
}

function completionEvents(completion: ChatCompletion, reportsCost: boolean): AnswerEvent[] {
  const choice = completion.choices[0];
  const message = choice?.message as (ReasoningDelta & ChatCompletion.Choice['message']) | undefined;
  const events: AnswerEvent[] = [];
  const thinking = message?.reasoning_content ?? message?.reasoning;
  if (thinking) events.push({ type: 'thinking', text: thinking });
  if (message?.content) events.push({ type: 'text', text: message.content });
  const calls = (message?.tool_calls ?? []).filter((call) => call.type === 'function');
  for (const [index, call] of calls.entries())
    events.push({ type: 'tool-call', index, ...(call.id ? { id: call.id } : {}), name: call.function.name, argumentsDelta: call.function.arguments });
  if (completion.usage) events.push(usageEvent(completion.usage, reportsCost));
  events.push({ type: 'finish', reason: choice?.finish_reason ?? null });
  return events;
}

/** OpenAI's usage, with OpenRouter's cost fields (USD) where they were asked for. */
type WireUsage = NonNullable<ChatCompletion['usage']> & { cost?: unknown; is_byok?: unknown; cost_details?: { upstream_inference_cost?: unknown } | null };

/** The usage event of a usage object; its cost is read only from a provider asked for it, whose unit is known. */
function usageEvent(usage: WireUsage, reportsCost: boolean): AnswerEvent {
  const providerCostMicros = reportsCost ? reportedCost(usage) : null;
  return { type: 'usage', usage: counts(usage), ...(providerCostMicros !== null ? { providerCostMicros } : {}) };
}

/**
 * What the call cost the account. For an account that brings its own provider keys (`is_byok`), OpenRouter's `cost`
 * is only its fee, and the provider billed that key `cost_details.upstream_inference_cost`: the two together, or
 * nothing when the second is missing (the fee alone would read as a price gone stale).
 */
function reportedCost(usage: WireUsage): bigint | null {
  if (usage.is_byok !== true) return reportedUsdToMicros(usage.cost);
  const fee = usage.cost;
  const upstream = usage.cost_details?.upstream_inference_cost;
  // Added in dollars and rounded once, so the sum is as exact as a single figure; each part must be a cost on its own.
  if (typeof fee !== 'number' || typeof upstream !== 'number' || fee < 0 || upstream < 0) return null;
  return reportedUsdToMicros(fee + upstream);
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
