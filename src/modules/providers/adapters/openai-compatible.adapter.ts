// OpenAI, DeepSeek, OpenRouter, xAI, Groq, Mistral, Together, Ollama and any
// OpenAI-compatible endpoint, through the `openai` SDK with a base URL.
import OpenAI from 'openai';
import { KINDS } from '../kinds.js';
import { callProvider, type AdapterDeps, type ProviderAdapter, type ProviderTarget, type UpstreamFailure } from './adapter.js';

export function createOpenAiCompatibleAdapter(deps: AdapterDeps): ProviderAdapter {
  const client = (target: ProviderTarget) =>
    new OpenAI({
      // Keyless servers (Ollama) still get a bearer header from the SDK; any value does.
      apiKey: target.apiKey || 'no-key',
      baseURL: target.baseUrl,
      maxRetries: 0, // the gateway owns retries
      timeout: deps.timeoutMs,
      fetch: deps.fetch,
      defaultHeaders: KINDS[target.kind].extraHeaders,
    });

  const call = <T>(target: ProviderTarget, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>) =>
    callProvider(target.kind, signal, deps.timeoutMs, run, httpFailure);

  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    call(target, signal, async (callSignal) => {
      const ids: string[] = [];
      for await (const model of client(target).models.list({ signal: callSignal })) ids.push(model.id);
      return ids;
    });

  return {
    listModels,
    async validate(target, signal) {
      const path = KINDS[target.kind].validationPath;
      if (!path) return { models: await listModels(target, signal) };
      // OpenRouter lists models without a key: /key is what proves one.
      await call(target, signal, (callSignal) => client(target).get(path, { signal: callSignal }));
      return { models: await listModels(target, signal) };
    },
  };
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof OpenAI.APIError) || error.status === undefined) return undefined;
  return { status: error.status, headers: error.headers, type: error.code ?? error.type ?? undefined };
}
