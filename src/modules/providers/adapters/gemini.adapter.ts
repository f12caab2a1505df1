// Google Gemini. @google/generative-ai (the SDK the product uses for chat) has
// no call that lists models, so validation speaks the REST protocol directly:
// GET {base}/v1beta/models with the key in x-goog-api-key.
import { callProvider, type AdapterDeps, type ProviderAdapter, type ProviderTarget, type UpstreamFailure } from './adapter.js';

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

  return {
    listModels,
    validate: async (target, signal) => ({ models: await listModels(target, signal) }),
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
