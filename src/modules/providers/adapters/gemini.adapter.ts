// Google Gemini's REST protocol (generateContent, streamGenerateContent?alt=sse,
// batchEmbedContents, the model list), spoken here rather than through
// @google/generative-ai: that SDK takes no fetch of ours, and every request it
// makes would go through the global fetch, which follows redirects and checks
// no address (README, Security notes). Only its types are used.
// Gemini pairs a function response with its call by name and order, not by id:
// the gateway's call ids are never sent, and its answers' calls carry none.
import type {
  Content,
  FunctionCallingMode,
  FunctionDeclaration,
  FunctionDeclarationSchema,
  Part as GeminiPart,
  GenerateContentRequest,
  GenerateContentResponse,
  GenerationConfig,
  ResponseSchema,
  ToolConfig,
  UsageMetadata,
} from '@google/generative-ai';
import type { AnswerEvent, GenerationOptions, Message, Part, ToolChoice, ToolDefinition, UpstreamRequest } from '../../chat/canonical.js';
import { textOf } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { KINDS } from '../kinds.js';
import {
  type AdapterDeps,
  callProvider,
  inBandError,
  ownHttpFailure,
  type ProviderAdapter,
  ProviderCallError,
  type ProviderTarget,
  streamProvider,
  type UpstreamFailure,
  UpstreamHttpError,
} from './adapter.js';
import { toGeminiSchema } from './gemini-schema.js';
import { type InlineImage, inlineImage } from './image-fetch.js';
import { sseData } from './sse.js';

interface GeminiErrorBody {
  error?: { status?: string; details?: Array<{ reason?: string }> };
}

/** Gemini takes at most this many texts in one batchEmbedContents. */
const EMBED_BATCH = 100;

/** Fetches (or decodes) one image of the conversation, under the call's signal. */
type ImageSource = (url: string) => Promise<InlineImage>;

export interface GeminiAdapterDeps extends AdapterDeps {
  /** The guarded fetch for images a message points at: a client's URL, so public addresses only, whatever providers may reach. */
  fetchImage: typeof fetch;
}

export function createGeminiAdapter(deps: GeminiAdapterDeps): ProviderAdapter {
  /** One request through the guarded fetch; an answer other than 2xx is thrown as UpstreamHttpError. */
  const send = async (target: ProviderTarget, path: string, signal: AbortSignal, body?: object): Promise<Response> => {
    const response = await deps.http.fetch(`${target.baseUrl.replace(/\/$/, '')}/v1beta/${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'x-goog-api-key': target.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body && JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw new UpstreamHttpError(geminiFailure(response, (await response.json().catch(() => ({}))) as GeminiErrorBody));
    return response;
  };
  // Images go through the same guarded fetch as the key's requests, without the key.
  const images =
    (signal: AbortSignal): ImageSource =>
    (url) =>
      inlineImage(deps.fetchImage, url, signal);

  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    callProvider(
      target.kind,
      signal,
      deps.timeoutMs,
      async (callSignal) => {
        const body = (await (await send(target, 'models?pageSize=1000', callSignal)).json()) as { models?: Array<{ name: string }> };
        return (body.models ?? []).map((model) => model.name.replace(/^models\//, ''));
      },
      ownHttpFailure,
    );

  return {
    listModels,
    validate: async (target, signal) => ({ models: await listModels(target, signal) }),
    chat: (target, request, signal) =>
      callProvider(
        target.kind,
        signal,
        deps.timeoutMs,
        async (callSignal) => {
          const body = await generateRequest(request, images(callSignal));
          const response = (await (await send(target, `${modelPath(request.model)}:generateContent`, callSignal, body)).json()) as GenerateContentResponse;
          const events = [...responseEvents(target, response, { calls: 0 })];
          if (response.usageMetadata) events.push({ type: 'usage', usage: counts(response.usageMetadata) });
          return events;
        },
        ownHttpFailure,
      ),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const body = await generateRequest(request, images(callSignal));
          const response = await send(target, `${modelPath(request.model)}:streamGenerateContent?alt=sse`, callSignal, body);
          const answer = { calls: 0 };
          let usage: UsageMetadata | undefined;
          for await (const data of sseData(response.body!)) {
            const chunk = JSON.parse(data) as GenerateContentResponse;
            yield* responseEvents(target, chunk, answer);
            usage = chunk.usageMetadata ?? usage;
          }
          // Gemini has no terminal event: the last chunk's usage is the complete one.
          if (usage) yield { type: 'usage', usage: counts(usage) };
        },
        ownHttpFailure,
      ),
    embed: (target, request, signal) =>
      callProvider(
        target.kind,
        signal,
        deps.timeoutMs,
        async (callSignal) => {
          const vectors: number[][] = [];
          for (let start = 0; start < request.inputs.length; start += EMBED_BATCH) {
            const texts = request.inputs.slice(start, start + EMBED_BATCH);
            const body = {
              requests: texts.map((text) => ({
                model: modelName(request.model),
                content: { parts: [{ text }] },
                ...(request.dimensions ? { outputDimensionality: request.dimensions } : {}),
              })),
            };
            const answer = (await (await send(target, `${modelPath(request.model)}:batchEmbedContents`, callSignal, body)).json()) as { embeddings?: Array<{ values?: number[] }> };
            const batch = (answer.embeddings ?? []).map((embedding) => embedding.values ?? []);
            if (batch.length !== texts.length) {
              throw new ProviderCallError(
                'PROVIDER_UNAVAILABLE',
                `${KINDS[target.kind].displayName} answered ${batch.length} embeddings for ${texts.length} texts`,
                undefined,
                true,
              );
            }
            vectors.push(...batch);
          }
          // Gemini reports no usage for embeddings: the core estimates it.
          return { vectors, promptTokens: null };
        },
        ownHttpFailure,
      ),
  };
}

/** Gemini's reason (API_KEY_INVALID for a bad key, with HTTP 400) or its status name. */
function geminiFailure(response: Response, body: GeminiErrorBody): UpstreamFailure {
  const reason = body.error?.details?.find((detail) => detail.reason)?.reason ?? body.error?.status;
  return { status: response.status, headers: response.headers, type: reason };
}

/** A model id is under models/; a name with a slash (tunedModels/…) is already a resource name, as the SDK has it. */
function modelName(model: string): string {
  return model.includes('/') ? model : `models/${model}`;
}

/** Each segment is encoded, so a name cannot add a query, a fragment or a `..` to the request's URL. */
function modelPath(model: string): string {
  return modelName(model).split('/').map(encodeURIComponent).join('/');
}

/** Gemini's roles are user and model; system text goes in systemInstruction. */
async function generateRequest(request: UpstreamRequest, images: ImageSource): Promise<GenerateContentRequest> {
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map(textOf)
    .join('\n\n');
  return {
    contents: await toGeminiContents(request.messages, images),
    ...(system ? { systemInstruction: { role: 'system', parts: [{ text: system }] } } : {}),
    ...toGeminiTools(request.options),
    generationConfig: toGenerationConfig(request.options),
  };
}

/**
 * The conversation as Gemini's contents. Tool results go back as functionResponse parts of a user turn, the
 * results of consecutive tool messages in one turn (the answer to one model turn's calls).
 */
export async function toGeminiContents(messages: Message[], images: ImageSource): Promise<Content[]> {
  const contents: Content[] = [];
  let previous: Message['role'] | undefined;
  for (const message of messages) {
    if (message.role === 'system') continue;
    const parts = await Promise.all(message.content.map((part) => toGeminiPart(part, images)));
    if (message.role === 'tool' && previous === 'tool') contents.at(-1)!.parts.push(...parts);
    else contents.push({ role: message.role === 'assistant' ? 'model' : 'user', parts });
    previous = message.role;
  }
  return contents;
}

async function toGeminiPart(part: Part, images: ImageSource): Promise<GeminiPart> {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'image':
      return { inlineData: await images(part.url) };
    case 'tool-call':
      // Gemini's args is an object: arguments that are not one (a call cut off mid-way) are kept, as text.
      return { functionCall: { name: part.call.name, args: jsonObjectOf(part.call.arguments) ?? { arguments: part.call.arguments } } };
    case 'tool-result':
      return { functionResponse: { name: part.name, response: jsonObjectOf(part.content) ?? { result: part.content } } };
  }
}

function jsonObjectOf(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const CALLING_MODES: Record<Exclude<ToolChoice['type'], 'tool'>, FunctionCallingMode> = {
  auto: 'AUTO' as FunctionCallingMode,
  none: 'NONE' as FunctionCallingMode,
  required: 'ANY' as FunctionCallingMode,
};

function toGeminiTools({ tools, toolChoice }: GenerationOptions): Pick<GenerateContentRequest, 'tools' | 'toolConfig'> {
  if (!tools?.length) return {};
  const toolConfig: ToolConfig | undefined =
    toolChoice &&
    (toolChoice.type === 'tool'
      ? { functionCallingConfig: { mode: CALLING_MODES.required, allowedFunctionNames: [toolChoice.name] } }
      : { functionCallingConfig: { mode: CALLING_MODES[toolChoice.type] } });
  return { tools: [{ functionDeclarations: tools.map(toFunctionDeclaration) }], ...(toolConfig ? { toolConfig } : {}) };
}

function toFunctionDeclaration(tool: ToolDefinition): FunctionDeclaration {
  const parameters = toGeminiSchema(tool.parameters, 'tools');
  // Gemini refuses an object schema without properties: a tool that takes nothing declares no parameters.
  const takesArguments = Object.keys((parameters.properties as object | undefined) ?? {}).length > 0;
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    ...(takesArguments ? { parameters: parameters as unknown as FunctionDeclarationSchema } : {}),
  };
}

function toGenerationConfig(options: GenerationOptions): GenerationConfig {
  const format = options.responseFormat;
  return {
    temperature: options.temperature,
    topP: options.topP,
    maxOutputTokens: options.maxTokens,
    ...(options.stop?.length ? { stopSequences: options.stop } : {}),
    ...(format && format.type !== 'text' ? { responseMimeType: 'application/json' } : {}),
    ...(format?.type === 'json_schema' ? { responseSchema: toGeminiSchema(format.schema, 'responseFormat') as unknown as ResponseSchema } : {}),
  };
}

/** The events of one response (or stream chunk); `answer.calls` numbers the answer's tool calls across chunks. */
function* responseEvents(target: ProviderTarget, response: GenerateContentResponse, answer: { calls: number }): Generator<AnswerEvent> {
  const inBand = (response as { error?: { status?: string } }).error;
  if (inBand) throw inBandError(target.kind, inBand.status);
  const candidate = response.candidates?.[0];
  for (const part of candidate?.content?.parts ?? []) {
    if (part.functionCall) {
      const { name, args } = part.functionCall;
      // Newer Gemini models may give an id; most give none, and the core makes one.
      const id = (part.functionCall as { id?: string }).id;
      yield { type: 'tool-call', index: answer.calls++, ...(id ? { id } : {}), name, argumentsDelta: JSON.stringify(args ?? {}) };
    } else if (part.text) {
      yield (part as { thought?: boolean }).thought ? { type: 'thinking', text: part.text } : { type: 'text', text: part.text };
    }
  }
  if (candidate?.finishReason) yield { type: 'finish', reason: FINISH_REASONS[candidate.finishReason] ?? candidate.finishReason };
}

/** Gemini's finish reasons in the gateway's words (OpenAI's): stop, length, content_filter (a call's is made tool_calls by the core). */
const FINISH_REASONS: Record<string, string> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

function counts(usage: UsageMetadata): TokenCounts {
  const thoughts = (usage as { thoughtsTokenCount?: number }).thoughtsTokenCount ?? 0;
  const completion = (usage.candidatesTokenCount ?? 0) + thoughts;
  return {
    promptTokens: usage.promptTokenCount,
    cachedPromptTokens: usage.cachedContentTokenCount ?? 0,
    completionTokens: completion,
    reasoningTokens: thoughts,
    totalTokens: usage.totalTokenCount ?? usage.promptTokenCount + completion,
  };
}
