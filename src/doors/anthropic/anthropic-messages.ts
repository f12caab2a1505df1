// Anthropic Messages ⇄ the chat core's canonical model: a /v1/messages request
// becomes a ChatRequest, the core's answer a Message, its events the SSE
// sequence message_start … message_stop. Translation only: what a request may
// hold is checked by the core (chat-checks.ts); here only the wire shape.
import { BadUserInputError } from '../../errors.js';
import type { ChatAnswer, ChatEvent, ChatRequest, Message, Part, ReportedUsage, ToolChoice, ToolDefinition } from '../../modules/chat/canonical.js';

/** The request as Anthropic's SDK sends it (the fields the gateway reads). */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | WireBlock[] }>;
  system?: string | Array<{ type: 'text'; text: string }>;
  tools?: Array<{ name: string; description?: string; input_schema: Record<string, unknown>; type?: string }>;
  tool_choice?: { type: 'auto' | 'any' | 'none' | 'tool'; name?: string };
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  stream?: boolean;
}

type WireBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content?: string | Array<{ type: string; text?: string }>; is_error?: boolean };

/** The core names GraphQL fields in its refusals; a client of this door knows Anthropic's parameters. */
export const PARAMETER_OF_FIELD: Record<string, string> = {
  messages: 'messages',
  tools: 'tools',
  toolChoice: 'tool_choice',
  stop: 'stop_sequences',
  topP: 'top_p',
  maxTokens: 'max_tokens',
  temperature: 'temperature',
  model: 'model',
  providerId: 'model',
  sessionId: 'model',
};

const object = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The wire shape, checked enough to translate; the core checks the rest (bounds, pairing, schemas). */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  if (!object(body)) throw new BadUserInputError('The body must be a JSON object', 'messages');
  if (typeof body.model !== 'string' || !body.model) throw new BadUserInputError('model: a string is required', 'model');
  if (!Number.isInteger(body.max_tokens)) throw new BadUserInputError('max_tokens: a whole number is required', 'maxTokens');
  if (!Array.isArray(body.messages)) throw new BadUserInputError('messages: an array is required', 'messages');
  for (const [i, message] of body.messages.entries()) {
    if (!object(message) || (message.role !== 'user' && message.role !== 'assistant')) throw new BadUserInputError(`messages.${i}.role: "user" or "assistant"`, 'messages');
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) throw new BadUserInputError(`messages.${i}.content: a string or an array of blocks`, 'messages');
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) throw new BadUserInputError('tools: an array', 'tools');
  if (body.stop_sequences !== undefined && !(Array.isArray(body.stop_sequences) && body.stop_sequences.every((stop) => typeof stop === 'string'))) {
    throw new BadUserInputError('stop_sequences: an array of strings', 'stop');
  }
  for (const name of ['temperature', 'top_p'] as const) {
    if (body[name] !== undefined && typeof body[name] !== 'number') throw new BadUserInputError(`${name}: a number`, name === 'top_p' ? 'topP' : 'temperature');
  }
  return body as unknown as MessagesRequest;
}

/** `route`: the provider and model the request's `model` names (see door-model). */
export function toChatRequest(request: MessagesRequest, route: Pick<ChatRequest, 'providerId' | 'model' | 'allowFallback'>): ChatRequest {
  const system = typeof request.system === 'string' ? request.system : (request.system ?? []).map((block) => block.text).join('\n\n');
  return {
    messages: [...(system ? [{ role: 'system' as const, content: [{ type: 'text' as const, text: system }] }] : []), ...request.messages.flatMap(toMessages)],
    options: {
      maxTokens: request.max_tokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.top_p !== undefined ? { topP: request.top_p } : {}),
      ...(request.stop_sequences?.length ? { stop: request.stop_sequences } : {}),
      ...(request.tools ? { tools: request.tools.map(toTool) } : {}),
      ...(request.tool_choice ? { toolChoice: toToolChoice(request.tool_choice) } : {}),
    },
    ...route,
  };
}

/** A user message's tool_result blocks are TOOL messages, in order, and its other blocks one USER message after them. */
function toMessages(message: MessagesRequest['messages'][number], index: number): Message[] {
  const blocks: WireBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  const results: Message[] = [];
  const parts: Part[] = [];
  for (const [j, block] of blocks.entries()) {
    const where = `messages.${index}.content.${j}`;
    if (!object(block)) throw new BadUserInputError(`${where}: a content block`, 'messages');
    if (block.type === 'text' && typeof block.text === 'string') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'image' && object(block.source)) parts.push({ type: 'image', url: imageUrl(block.source, where) });
    else if (block.type === 'tool_use' && message.role === 'assistant') {
      parts.push({ type: 'tool-call', call: { id: String(block.id), name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'tool_result' && message.role === 'user') {
      results.push({ role: 'tool', content: [{ type: 'tool-result', callId: String(block.tool_use_id), name: '', content: resultText(block.content, where) }] });
    } else throw new BadUserInputError(`${where}: a ${message.role} message cannot hold a block of type "${String((block as { type?: unknown }).type)}" here`, 'messages');
  }
  return [...results, ...(parts.length || !results.length ? [{ role: message.role, content: parts }] : [])];
}

function imageUrl(source: Record<string, unknown>, where: string): string {
  if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') return `data:${source.media_type};base64,${source.data}`;
  if (source.type === 'url' && typeof source.url === 'string') return source.url;
  throw new BadUserInputError(`${where}.source: base64 (media_type, data) or url`, 'messages');
}

/** A tool result's content is text here: text blocks are joined; an image in a result has no canonical place yet. */
function resultText(content: unknown, where: string): string {
  if (content === undefined || typeof content === 'string') return content ?? '';
  if (Array.isArray(content) && content.every((block) => object(block) && block.type === 'text' && typeof block.text === 'string')) {
    return content.map((block) => block.text).join('');
  }
  throw new BadUserInputError(`${where}.content: a string or text blocks (images in a tool result are not supported)`, 'messages');
}

function toTool(tool: NonNullable<MessagesRequest['tools']>[number], i: number): ToolDefinition {
  // Anthropic's server tools (web search, code execution, ...) run at Anthropic; the gateway may route elsewhere.
  if (tool.type !== undefined && tool.type !== 'custom') throw new BadUserInputError(`tools.${i}: server tools (type "${tool.type}") are not supported`, 'tools');
  return { name: tool.name, ...(tool.description !== undefined ? { description: tool.description } : {}), parameters: tool.input_schema };
}

function toToolChoice(choice: NonNullable<MessagesRequest['tool_choice']>): ToolChoice {
  if (choice.type === 'tool') return { type: 'tool', name: String(choice.name) };
  if (choice.type === 'any') return { type: 'required' };
  if (choice.type === 'none') return { type: 'none' };
  if (choice.type === 'auto') return { type: 'auto' };
  throw new BadUserInputError('tool_choice.type: "auto", "any", "none" or "tool"', 'toolChoice');
}

/** The core's finish reasons in Anthropic's words. */
const STOP_REASONS: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'refusal' };
const stopReasonOf = (reason: string | null) => (reason === null ? null : (STOP_REASONS[reason] ?? 'end_turn'));

function usageOf(usage: ReportedUsage) {
  return {
    input_tokens: usage.promptTokens - usage.cachedPromptTokens,
    output_tokens: usage.completionTokens,
    cache_read_input_tokens: usage.cachedPromptTokens,
    cache_creation_input_tokens: 0,
  };
}

const inputOf = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
};

/** A whole answer as Anthropic's Message. */
export function toMessageResponse(id: string, answer: ChatAnswer) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: answer.model,
    content: [
      ...(answer.text ? [{ type: 'text', text: answer.text }] : []),
      ...answer.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call.arguments) })),
    ],
    stop_reason: stopReasonOf(answer.finishReason),
    stop_sequence: null,
    usage: usageOf(answer.usage),
  };
}

/**
 * The core's events as Anthropic's SSE events (name and data). A block is opened by the first piece of a kind
 * (thinking, text, each tool call) and closed when another kind starts. `start` events (a fallback taking over
 * before any content) are not Anthropic's to show.
 */
export async function* toStreamEvents(id: string, events: AsyncIterable<ChatEvent>): AsyncGenerator<{ event: string; data: unknown }> {
  const blocks = new BlockSequence();
  let usage: ReportedUsage | null = null;
  let started = false;
  for await (const event of events) {
    if (event.type === 'start') {
      if (!started) {
        started = true;
        const message = {
          id,
          type: 'message',
          role: 'assistant',
          model: event.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        };
        yield { event: 'message_start', data: { type: 'message_start', message } };
        yield { event: 'ping', data: { type: 'ping' } };
      }
    } else if (event.type === 'text' || event.type === 'thinking') {
      yield* blocks.enter(event.type, () => (event.type === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '' }));
      yield blocks.delta(event.type === 'text' ? { type: 'text_delta', text: event.text } : { type: 'thinking_delta', thinking: event.text });
    } else if (event.type === 'tool-call') {
      yield* blocks.enter(`tool ${event.index}`, () => ({ type: 'tool_use', id: event.id, name: event.name, input: {} }));
      if (event.argumentsDelta) yield blocks.delta({ type: 'input_json_delta', partial_json: event.argumentsDelta });
    } else if (event.type === 'usage') usage = event.usage;
    else if (event.type === 'finish') {
      yield* blocks.close();
      yield { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: stopReasonOf(event.reason), stop_sequence: null }, usage: usage && usageOf(usage) } };
      yield { event: 'message_stop', data: { type: 'message_stop' } };
    } else if (event.type === 'error') {
      yield* blocks.close();
      yield { event: 'error', data: errorBody(event.error) };
    }
  }
}

/** The content blocks of a streamed message: one open at a time, numbered in order. */
class BlockSequence {
  private open: { index: number; kind: string } | null = null;
  private next = 0;

  /** Opens a block of `kind` unless one is open already (closing another kind's first). */
  *enter(kind: string, block: () => unknown): Generator<{ event: string; data: unknown }> {
    if (this.open?.kind === kind) return;
    yield* this.close();
    this.open = { index: this.next++, kind };
    yield { event: 'content_block_start', data: { type: 'content_block_start', index: this.open.index, content_block: block() } };
  }

  delta(delta: unknown): { event: string; data: unknown } {
    return { event: 'content_block_delta', data: { type: 'content_block_delta', index: this.open!.index, delta } };
  }

  *close(): Generator<{ event: string; data: unknown }> {
    if (this.open) yield { event: 'content_block_stop', data: { type: 'content_block_stop', index: this.open.index } };
    this.open = null;
  }
}

/** Anthropic's error types for the contract's codes, with the status each goes with. */
const ERRORS: Record<string, [status: number, type: string]> = {
  BAD_USER_INPUT: [400, 'invalid_request_error'],
  UNAUTHENTICATED: [401, 'authentication_error'],
  FORBIDDEN: [403, 'permission_error'],
  NOT_FOUND: [404, 'not_found_error'],
  LIMIT_EXCEEDED: [429, 'rate_limit_error'],
  RATE_LIMITED: [429, 'rate_limit_error'],
  UPSTREAM_RATE_LIMITED: [429, 'rate_limit_error'],
  PROVIDER_UNAVAILABLE: [529, 'overloaded_error'],
  INVALID_CREDENTIALS: [502, 'api_error'],
  PROVIDER_REMOVED: [503, 'api_error'],
  SERVICE_UNAVAILABLE: [503, 'api_error'],
};

export function statusOf(error: { code: string }): number {
  return (ERRORS[error.code] ?? [500])[0];
}

/** `{type: "error", error: {type, message}}`; a refusal of a field names Anthropic's parameter. */
export function errorBody(error: { code: string; message: string; details?: Record<string, unknown> }) {
  const field = error.details?.field;
  const parameter = typeof field === 'string' ? PARAMETER_OF_FIELD[field] : undefined;
  const message = parameter && !error.message.startsWith(parameter) ? `${parameter}: ${error.message}` : error.message;
  return { type: 'error', error: { type: (ERRORS[error.code] ?? [500, 'api_error'])[1], message } };
}
