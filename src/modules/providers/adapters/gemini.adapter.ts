// Google Gemini through @google/generative-ai. That SDK has no call that lists
// models, so validation speaks the REST protocol directly (GET {base}/v1beta/models
// with the key in x-goog-api-key). It also takes no custom fetch: chat calls go
// through the global fetch, so their base URL is re-checked before each call
// (by the caller) instead of at connect time.
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type Content, type GenerateContentResponse, type UsageMetadata } from '@google/generative-ai';
import {
  callProvider,
  inBandError,
  streamProvider,
  type AdapterDeps,
  type ChatRequest,
  type ProviderAdapter,
  type ProviderTarget,
  type StreamEvent,
  type TokenCounts,
  type UpstreamFailure,
} from './adapter.js';

interface GeminiErrorBody {
  error?: { status?: string; details?: Array<{ reason?: string }> };
}

export function createGeminiAdapter(deps: AdapterDeps): ProviderAdapter {
  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    callProvider(
      target.kind,
      signal,
      deps.timeoutMs,
      async (callSignal) => {
        const response = await deps.fetch(`${target.baseUrl.replace(/\/$/, '')}/v1beta/models?pageSize=1000`, {
          headers: { 'x-goog-api-key': target.apiKey },
          signal: callSignal,
        });
        const body = (await response.json().catch(() => ({}))) as GeminiErrorBody & { models?: Array<{ name: string }> };
        if (!response.ok) throw new GeminiHttpError(geminiFailure(response, body));
        return (body.models ?? []).map((model) => model.name.replace(/^models\//, ''));
      },
      (error) => (error instanceof GeminiHttpError ? error.failure : undefined),
    );

  const model = (target: ProviderTarget, request: ChatRequest) => {
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    return new GoogleGenerativeAI(target.apiKey).getGenerativeModel(
      {
        model: request.model,
        ...(system ? { systemInstruction: system } : {}),
        generationConfig: { temperature: request.temperature, maxOutputTokens: request.maxTokens },
      },
      { baseUrl: target.baseUrl, timeout: deps.timeoutMs },
    );
  };

  return {
    listModels,
    validate: async (target, signal) => ({ models: await listModels(target, signal) }),
    chat: (target, request, signal) =>
      callProvider(
        target.kind,
        signal,
        deps.timeoutMs,
        async (callSignal) => {
          const { response } = await model(target, request).generateContent({ contents: contents(request) }, { signal: callSignal });
          const events = [...responseEvents(target, response)];
          if (response.usageMetadata) events.push({ type: 'usage', usage: counts(response.usageMetadata) });
          return events;
        },
        sdkFailure,
      ),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const { stream, response } = await model(target, request).generateContentStream({ contents: contents(request) }, { signal: callSignal });
          // The SDK also aggregates the stream into `response`, which rejects with the stream's error: that error
          // reaches us through `stream`; unobserved, the rejection would take the process down.
          response.catch(() => undefined);
          let usage: UsageMetadata | undefined;
          for await (const chunk of stream) {
            yield* responseEvents(target, chunk);
            usage = chunk.usageMetadata ?? usage;
          }
          // Gemini has no terminal event: the last chunk's usage is the complete one.
          if (usage) yield { type: 'usage', usage: counts(usage) };
        },
        sdkFailure,
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

function sdkFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof GoogleGenerativeAIFetchError) || error.status === undefined) return undefined;
  const reason = error.errorDetails?.find((detail) => detail.reason)?.reason;
  return { status: error.status, type: reason };
}

/** Gemini's roles are user and model; system text goes in systemInstruction. */
function contents(request: ChatRequest): Content[] {
  return request.messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
}

function* responseEvents(target: ProviderTarget, response: GenerateContentResponse): Generator<StreamEvent> {
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
