// Anthropic Messages API through @anthropic-ai/sdk. OAuth tokens go as a bearer token.
import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming, MessageParam, Usage } from '@anthropic-ai/sdk/resources/messages';
import { type AnswerEvent, textOf, type UpstreamRequest } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { type AdapterDeps, callProvider, inBandError, type ProviderAdapter, type ProviderTarget, streamProvider, type UpstreamFailure } from './adapter.js';

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
    chat: (target, request, signal) =>
      callProvider(
        target.kind,
        signal,
        deps.timeoutMs,
        async (callSignal) => messageEvents(await client(target).messages.create({ ...body(request), stream: false }, { signal: callSignal })),
        httpFailure,
      ),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const events = await client(target).messages.create({ ...body(request), stream: true }, { signal: callSignal });
          let usage: Usage | undefined;
          let stopReason: string | null = null;
          let stopped = false;
          try {
            for await (const event of events) {
              if (event.type === 'message_start') usage = event.message.usage;
              else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield { type: 'text', text: event.delta.text };
              else if (event.type === 'content_block_delta' && event.delta.type === 'thinking_delta') yield { type: 'thinking', text: event.delta.thinking };
              else if (event.type === 'message_delta') {
                stopReason = event.delta.stop_reason;
                if (usage) usage = { ...usage, output_tokens: event.usage.output_tokens };
              } else if (event.type === 'message_stop') stopped = true;
            }
          } catch (error) {
            // An `event: error` after the 200 (e.g. overloaded_error) has no HTTP status.
            if (error instanceof Anthropic.APIError && error.status === undefined && !(error instanceof Anthropic.APIConnectionError)) {
              throw inBandError(target.kind, (error.error as { error?: { type?: string } } | undefined)?.error?.type);
            }
            throw error;
          }
          // No usage means the stream stopped before message_start: the caller estimates.
          if (usage) yield { type: 'usage', usage: counts(usage) };
          if (stopped) yield { type: 'finish', reason: stopReason };
        },
        httpFailure,
      ),
  };
}

function httpFailure(error: unknown): UpstreamFailure | undefined {
  if (!(error instanceof Anthropic.APIError) || error.status === undefined) return undefined;
  const body = error.error as { error?: { type?: string } } | undefined;
  return { status: error.status, headers: error.headers, type: body?.error?.type };
}

/** System text goes top level. */
function body(request: UpstreamRequest): Omit<MessageCreateParamsNonStreaming, 'stream'> {
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map(textOf)
    .join('\n\n');
  const params: Omit<MessageCreateParamsNonStreaming, 'stream'> = {
    model: request.model,
    max_tokens: request.options.maxTokens,
    messages: toAnthropicMessages(request.messages),
  };
  if (system) params.system = system;
  // The Messages API takes temperature; this SDK version no longer types it.
  if (request.options.temperature !== undefined) Object.assign(params, { temperature: request.options.temperature });
  return params;
}

function toAnthropicMessages(messages: UpstreamRequest['messages']): MessageParam[] {
  return messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: textOf(m) }));
}

function messageEvents(message: Message): AnswerEvent[] {
  const events: AnswerEvent[] = [];
  for (const block of message.content) {
    if (block.type === 'thinking') events.push({ type: 'thinking', text: block.thinking });
    if (block.type === 'text') events.push({ type: 'text', text: block.text });
  }
  events.push({ type: 'usage', usage: counts(message.usage) }, { type: 'finish', reason: message.stop_reason });
  return events;
}

/** Anthropic's input_tokens leave out cached reads and writes; ours include them. */
function counts(usage: Usage): TokenCounts {
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cached + (usage.cache_creation_input_tokens ?? 0);
  return { promptTokens: prompt, cachedPromptTokens: cached, completionTokens: usage.output_tokens, reasoningTokens: 0, totalTokens: prompt + usage.output_tokens };
}
