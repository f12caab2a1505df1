// Anthropic Messages API through @anthropic-ai/sdk. OAuth tokens go as a bearer token.
import Anthropic from '@anthropic-ai/sdk';
import { callProvider, type AdapterDeps, type ProviderAdapter, type ProviderTarget, type UpstreamFailure } from './adapter.js';

export function createAnthropicAdapter(deps: AdapterDeps): ProviderAdapter {
  const client = (target: ProviderTarget) =>
    new Anthropic({
      ...(target.credentialType === 'OAUTH_TOKEN' ? { apiKey: null, authToken: target.apiKey } : { apiKey: target.apiKey }),
      baseURL: target.baseUrl,
      maxRetries: 0,
      timeout: deps.timeoutMs,
      fetch: deps.fetch,
    });

  const listModels = (target: ProviderTarget, signal: AbortSignal) =>
    callProvider(
      target.kind,
      signal,
      deps.timeoutMs,
      async (callSignal) => {
        const ids: string[] = [];
        for await (const model of client(target).models.list({ limit: 100 }, { signal: callSignal })) ids.push(model.id);
        return ids;
      },
      httpFailure,
    );

  return {
    listModels,
    validate: async (target, signal) => ({ models: await listModels(target, signal) }),
  };
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof Anthropic.APIError) || error.status === undefined) return undefined;
  const body = error.error as { error?: { type?: string } } | undefined;
  return { status: error.status, headers: error.headers, type: body?.error?.type };
}
