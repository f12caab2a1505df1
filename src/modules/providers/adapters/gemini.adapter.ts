// Google Gemini's REST protocol (generateContent, streamGenerateContent?alt=sse,
// the model list), spoken here rather than through @google/generative-ai: that
// SDK takes no fetch of ours, and every request it makes would go through the
// global fetch, which follows redirects and checks no address (README, Security
// notes). Only its types are used.
import type { Content, GenerateContentRequest, GenerateContentResponse, UsageMetadata } from '@google/generative-ai';
import { type AnswerEvent, textOf, type UpstreamRequest } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { type AdapterDeps, callProvider, inBandError, type ProviderAdapter, type ProviderTarget, streamProvider, type UpstreamFailure } from './adapter.js';
import { sseData } from './sse.js';

interface GeminiErrorBody {
  error?: { status?: string; details?: Array<{ reason?: string }> };
}

export function createGeminiAdapter(deps: AdapterDeps): ProviderAdapter {
  /** One request through the guarded fetch; an answer other than 2xx is thrown as GeminiHttpError. */
  const send = async (target: ProviderTarget, path: string, signal: AbortSignal, body?: GenerateContentRequest): Promise<Response> => {
    const response = await deps.fetch(`${target.baseUrl.replace(/\/$/, '')}/v1beta/${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'x-goog-api-key': target.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body && JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw new GeminiHttpError(geminiFailure(response, (await response.json().catch(() => ({}))) as GeminiErrorBody));
    return response;
  };

  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    callProvider(
      target.kind,
      signal,
      deps.timeoutMs,
      async (callSignal) => {
        const body = (await (await send(target, 'models?pageSize=1000', callSignal)).json()) as { models?: Array<{ name: string }> };
        return (body.models ?? []).map((model) => model.name.replace(/^models\//, ''));
      },
      httpFailure,
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
          const response = (await (await send(target, `${modelPath(request.model)}:generateContent`, callSignal, generateRequest(request))).json()) as GenerateContentResponse;
          const events = [...responseEvents(target, response)];
          if (response.usageMetadata) events.push({ type: 'usage', usage: counts(response.usageMetadata) });
          return events;
        },
        httpFailure,
      ),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const response = await send(target, `${modelPath(request.model)}:streamGenerateContent?alt=sse`, callSignal, generateRequest(request));
          let usage: UsageMetadata | undefined;
          for await (const data of sseData(response.body!)) {
            const chunk = JSON.parse(data) as GenerateContentResponse;
            yield* responseEvents(target, chunk);
            usage = chunk.usageMetadata ?? usage;
          }
          // Gemini has no terminal event: the last chunk's usage is the complete one.
          if (usage) yield { type: 'usage', usage: counts(usage) };
        },
        httpFailure,
      ),
  };
}

class GeminiHttpError extends Error {
  constructor(readonly failure: UpstreamFailure) {
    super(`Gemini answered ${failure.status}`);
  }
}

/** Gemini's reason (API_KEY_INVALID for a bad key, with HTTP 400) or its status name. */
function geminiFailure(response: Response, body: GeminiErrorBody): UpstreamFailure {
  const reason = body.error?.details?.find((detail) => detail.reason)?.reason ?? body.error?.status;
  return { status: response.status, headers: response.headers, type: reason };
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  return error instanceof GeminiHttpError ? error.failure : undefined;
}

/**
 * A model id is under models/; a name with a slash (tunedModels/…) is already a path, as the SDK has it.
 * Each segment is encoded, so a name cannot add a query, a fragment or a `..` to the request's URL.
 */
function modelPath(model: string): string {
  return (model.includes('/') ? model : `models/${model}`).split('/').map(encodeURIComponent).join('/');
}

/** Gemini's roles are user and model; system text goes in systemInstruction. */
function generateRequest(request: UpstreamRequest): GenerateContentRequest {
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map(textOf)
    .join('\n\n');
  return {
    contents: toGeminiContents(request.messages),
    ...(system ? { systemInstruction: { role: 'system', parts: [{ text: system }] } } : {}),
    generationConfig: { temperature: request.options.temperature, maxOutputTokens: request.options.maxTokens },
  };
}

function toGeminiContents(messages: UpstreamRequest['messages']): Content[] {
  return messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: m.content.map((part) => ({ text: part.text })) }));
}

function* responseEvents(target: ProviderTarget, response: GenerateContentResponse): Generator<AnswerEvent> {
  const inBand = (response as { error?: { status?: string } }).error;
  if (inBand) throw inBandError(target.kind, inBand.status);
  const candidate = response.candidates?.[0];
  for (const part of candidate?.content?.parts ?? []) {
    if (!part.text) continue;
    yield (part as { thought?: boolean }).thought ? { type: 'thinking', text: part.text } : { type: 'text', text: part.text };
  }
  if (candidate?.finishReason) yield { type: 'finish', reason: candidate.finishReason };
}

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
