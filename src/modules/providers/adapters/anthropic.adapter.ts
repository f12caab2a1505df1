// Anthropic Messages API through @anthropic-ai/sdk. OAuth tokens go as a bearer token.
import Anthropic from '@anthropic-ai/sdk';
import type {
  Message as AnthropicMessage,
  ToolChoice as AnthropicToolChoice,
  Base64ImageSource,
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  Tool,
  Usage,
} from '@anthropic-ai/sdk/resources/messages';
import { type AnswerEvent, type GenerationOptions, type Message, type Part, type ResponseFormat, type ToolChoice, textOf, type UpstreamRequest } from '../../chat/canonical.js';
import type { TokenCounts } from '../../usage/token-counts.js';
import { type AdapterDeps, callProvider, inBandError, type ProviderAdapter, type ProviderTarget, streamProvider, type UpstreamFailure } from './adapter.js';

export function createAnthropicAdapter(deps: AdapterDeps): ProviderAdapter {
  const client = (target: ProviderTarget) =>
    new Anthropic({
      ...(target.credentialType === 'OAUTH_TOKEN' ? { apiKey: null, authToken: target.apiKey } : { apiKey: target.apiKey }),
      baseURL: target.baseUrl,
      maxRetries: 0,
      timeout: deps.timeoutMs,
      fetch: deps.http.fetch,
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
        async (callSignal) => {
          const answerTool = answerToolOf(request.options.responseFormat);
          return messageEvents(await client(target).messages.create({ ...body(request, answerTool), stream: false }, { signal: callSignal }), answerTool);
        },
        httpFailure,
      ),
    stream: (target, request, signal) =>
      streamProvider(
        target.kind,
        signal,
        deps,
        async function* (callSignal) {
          const answerTool = answerToolOf(request.options.responseFormat);
          const events = await client(target).messages.create({ ...body(request, answerTool), stream: true }, { signal: callSignal });
          const toolUses = toolUseReader(answerTool);
          let usage: Usage | undefined;
          let stopReason: string | null = null;
          let stopped = false;
          try {
            for await (const event of events) {
              if (event.type === 'message_start') usage = event.message.usage;
              else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
                const piece = toolUses.open(event.index, event.content_block.id, event.content_block.name, '');
                if (piece) yield piece;
              } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield { type: 'text', text: event.delta.text };
              else if (event.type === 'content_block_delta' && event.delta.type === 'thinking_delta') yield { type: 'thinking', text: event.delta.thinking };
              else if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
                const piece = toolUses.piece(event.index, event.delta.partial_json);
                if (piece) yield piece;
              } else if (event.type === 'content_block_stop') {
                const piece = toolUses.close(event.index);
                if (piece) yield piece;
              } else if (event.type === 'message_delta') {
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
          if (stopped) yield { type: 'finish', reason: toolUses.finishReason(stopReason) };
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

type Params = Omit<MessageCreateParamsNonStreaming, 'stream'>;

/** System text goes top level. */
function body(request: UpstreamRequest, answerTool: Tool | undefined): Params {
  const { options } = request;
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map(textOf)
    .join('\n\n');
  const params: Params = {
    model: request.model,
    max_tokens: options.maxTokens,
    messages: toAnthropicMessages(request.messages),
    ...toAnthropicTools(options, answerTool),
  };
  if (system) params.system = system;
  // The Messages API takes temperature and top_p; this SDK version no longer types them.
  if (options.temperature !== undefined) Object.assign(params, { temperature: options.temperature });
  if (options.topP !== undefined) Object.assign(params, { top_p: options.topP });
  if (options.stop?.length) params.stop_sequences = options.stop;
  return params;
}

/**
 * Tool results go back as tool_result blocks of a user message, and Anthropic wants all results of a turn in one
 * message: consecutive tool messages, and user parts right after them, share that message.
 */
function toAnthropicMessages(messages: Message[]): MessageParam[] {
  const converted: MessageParam[] = [];
  /** The blocks of the user message holding the current turn's tool results. */
  let results: ContentBlockParam[] | undefined;
  for (const message of messages) {
    if (message.role === 'system') continue;
    const blocks = message.content.flatMap(toAnthropicBlocks);
    if (results && message.role !== 'assistant') {
      results.push(...blocks);
      continue;
    }
    results = message.role === 'tool' ? blocks : undefined;
    // Plain text stays a string, as it always went.
    const content = message.content.every((part) => part.type === 'text') ? textOf(message) : blocks;
    converted.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content });
  }
  return converted;
}

/** Anthropic refuses empty text blocks and an empty tool result content, so neither is sent. */
function toAnthropicBlocks(part: Part): ContentBlockParam[] {
  switch (part.type) {
    case 'text':
      return part.text ? [{ type: 'text', text: part.text }] : [];
    case 'image':
      return [{ type: 'image', source: imageSource(part.url) }];
    case 'tool-call':
      // Arguments a client sends are checked to be a JSON object; a call the gateway stored after a provider cut it off may not be one.
      return [{ type: 'tool_use', id: part.call.id, name: part.call.name, input: jsonObjectOr(part.call.arguments) }];
    case 'tool-result':
      return [{ type: 'tool_result', tool_use_id: part.callId, ...(part.content ? { content: part.content } : {}) }];
  }
}

function jsonObjectOr(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {}
  return { arguments: text };
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageSource(url: string): ImageBlockParam['source'] {
  const data = DATA_URL.exec(url);
  return data ? { type: 'base64', media_type: data[1] as Base64ImageSource['media_type'], data: data[2] } : { type: 'url', url };
}

/** Anthropic has no JSON mode: a JSON answer is the input of a tool the model is made to call (see toAnthropicTools). */
function answerToolOf(format: ResponseFormat | undefined): Tool | undefined {
  const description = 'Gives the answer: the input is the whole answer.';
  if (format?.type === 'json_schema') return { name: format.name, description, input_schema: { type: 'object', ...format.schema } };
  if (format?.type === 'json_object') return { name: 'json_answer', description, input_schema: { type: 'object' } };
  return undefined;
}

const TOOL_CHOICES: Record<Exclude<ToolChoice['type'], 'tool'>, AnthropicToolChoice> = { auto: { type: 'auto' }, none: { type: 'none' }, required: { type: 'any' } };

const toAnthropicToolChoice = (choice: ToolChoice): AnthropicToolChoice => (choice.type === 'tool' ? { type: 'tool', name: choice.name } : TOOL_CHOICES[choice.type]);

/**
 * With an answer tool and no tools of the caller's to call, the model is made to call the answer tool. With tools
 * of the caller's as well, the model must call one tool or the other (a named choice stays named): it can still
 * call the caller's tools in a tool loop, and its answer, when it gives one, is the answer tool's input.
 */
function toAnthropicTools(options: GenerationOptions, answerTool: Tool | undefined): Pick<Params, 'tools' | 'tool_choice'> {
  const choice = options.toolChoice ?? { type: 'auto' };
  const tools: Tool[] = (options.tools ?? []).map(({ name, description, parameters }) => ({
    name,
    ...(description ? { description } : {}),
    // Anthropic wants the object schema's type said; JSON Schema may leave it to the properties.
    input_schema: { type: 'object', ...parameters },
  }));
  if (!answerTool) return tools.length ? { tools, tool_choice: toAnthropicToolChoice(choice) } : {};
  // The caller's tools stay declared (Anthropic refuses tool_use blocks in the history of a request without tools).
  if (!tools.length || choice.type === 'none') return { tools: [...tools, answerTool], tool_choice: { type: 'tool', name: answerTool.name } };
  return { tools: [...tools, answerTool], tool_choice: choice.type === 'tool' ? toAnthropicToolChoice(choice) : { type: 'any' } };
}

/**
 * Reads an answer's tool_use blocks (by content block index): the answer tool's input is the answer's text; every
 * other tool_use is a tool call, numbered 0, 1, ... among the calls only (Anthropic's block index counts text blocks too).
 */
function toolUseReader(answerTool: Tool | undefined) {
  const callOfBlock = new Map<number, number | 'answer'>();
  /** Blocks whose input has had a piece: a tool that takes nothing streams only empty pieces, and its input is {}. */
  const withInput = new Set<number>();
  let calls = 0;
  const piece = (block: number, json: string): AnswerEvent | undefined => {
    const call = callOfBlock.get(block);
    if (call === undefined || !json) return undefined;
    withInput.add(block);
    return call === 'answer' ? { type: 'text', text: json } : { type: 'tool-call', index: call, argumentsDelta: json };
  };
  return {
    /** The first event of a tool_use block; `json` is its whole input when the answer was not streamed. */
    open(block: number, id: string, name: string, json: string): AnswerEvent | undefined {
      if (name === answerTool?.name) {
        callOfBlock.set(block, 'answer');
        return piece(block, json);
      }
      callOfBlock.set(block, calls);
      return { type: 'tool-call', index: calls++, id, name, argumentsDelta: json };
    },
    piece,
    /** The end of a block: a tool_use block that streamed no input had `{}`. */
    close: (block: number): AnswerEvent | undefined => (withInput.has(block) ? undefined : piece(block, '{}')),
    /** An answer given through the answer tool ended the turn, as a text answer does. */
    finishReason(stopReason: string | null): string | null {
      const answered = [...callOfBlock.values()].includes('answer');
      return answered && calls === 0 && stopReason === 'tool_use' ? 'stop' : finishReasonOf(stopReason);
    },
  };
}

/** Anthropic's stop reasons in the gateway's words (OpenAI's): stop, length, tool_calls, content_filter. */
const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

function finishReasonOf(stopReason: string | null): string | null {
  return stopReason === null ? null : (FINISH_REASONS[stopReason] ?? stopReason);
}

function messageEvents(message: AnthropicMessage, answerTool: Tool | undefined): AnswerEvent[] {
  const events: AnswerEvent[] = [];
  const toolUses = toolUseReader(answerTool);
  for (const [index, block] of message.content.entries()) {
    if (block.type === 'thinking') events.push({ type: 'thinking', text: block.thinking });
    if (block.type === 'text') events.push({ type: 'text', text: block.text });
    if (block.type === 'tool_use') {
      const event = toolUses.open(index, block.id, block.name, JSON.stringify(block.input ?? {}));
      if (event) events.push(event);
    }
  }
  events.push({ type: 'usage', usage: counts(message.usage) }, { type: 'finish', reason: toolUses.finishReason(message.stop_reason) });
  return events;
}

/** Anthropic's input_tokens leave out cached reads and writes; ours include them. */
function counts(usage: Usage): TokenCounts {
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cached + (usage.cache_creation_input_tokens ?? 0);
  return { promptTokens: prompt, cachedPromptTokens: cached, completionTokens: usage.output_tokens, reasoningTokens: 0, totalTokens: prompt + usage.output_tokens };
}
