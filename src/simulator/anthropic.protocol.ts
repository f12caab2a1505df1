// Anthropic Messages: top-level system, required max_tokens, content blocks (text, image, tool_use,
// tool_result), named SSE events; tool input streamed as input_json_delta pieces. No embeddings route.

import { answer, countTokens, promptTokensOf, type SimRequest, type SimTool, type SimToolChoice, type SimTurn, THINKING } from './model.js';
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

const IMAGE_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_CHOICES: Record<string, SimToolChoice> = { auto: 'auto', any: 'required', none: 'none' };

export const anthropicProtocol: SimProtocol = {
  name: 'anthropic',
  prefix: '/anthropic',
  key: (req) => (req.headers['x-api-key'] as string | undefined) ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1],
  error(exchange, status, message) {
    exchange.json(status, { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } }, retryAfterHeaders(exchange, status));
  },
  async handle(exchange) {
    const { req, path } = exchange;
    if (req.method === 'GET' && path === '/v1/models') {
      const data = SIM_MODELS.anthropic.map((id) => ({ type: 'model', id, display_name: id, created_at: '2024-10-22T00:00:00Z' }));
      return exchange.json(200, { data, has_more: false, first_id: data[0].id, last_id: data.at(-1)!.id });
    }
    if (req.method === 'POST' && path === '/v1/messages') return messages(exchange, this);
    this.error(exchange, 404, `Unknown route ${req.method} ${path}`);
  },
};

/** A request the real API would refuse with 400 invalid_request_error; the message names the field as it does. */
class InvalidRequest extends Error {}

interface Block {
  type?: unknown;
  [field: string]: unknown;
}

interface WireMessage {
  role?: unknown;
  content?: unknown;
}

async function messages(exchange: SimExchange, protocol: SimProtocol): Promise<void> {
  const { body, script } = exchange;
  const model = String(body.model ?? '');
  if (!SIM_MODELS.anthropic.includes(model)) return protocol.error(exchange, 404, `model: ${model}`);
  if (typeof body.max_tokens !== 'number') return protocol.error(exchange, 400, 'max_tokens: Field required');
  let request: SimRequest;
  try {
    request = readRequest(body);
  } catch (error) {
    if (error instanceof InvalidRequest) return protocol.error(exchange, 400, error.message);
    throw error;
  }

  const thinking = script.reasoning ? THINKING : [];
  const reply = answer(request, script);
  const calls =
    reply.type === 'tools'
      ? reply.calls.map((call, i) => ({ id: `toolu_sim${request.turns.length}${i}`, name: call.name, json: JSON.stringify(call.arguments), input: call.arguments }))
      : [];
  const outputText = reply.type === 'text' ? reply.chunks.join('') : calls.map((call) => call.json).join('');
  const outputTokens = countTokens(thinking.join('') + outputText);
  const stopReason = reply.type === 'tools' ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: promptTokensOf(request), output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const message = { id: 'msg_sim', type: 'message', role: 'assistant', model, stop_sequence: null };

  if (!body.stream) {
    const answerBlocks = reply.type === 'text' ? [{ type: 'text', text: outputText }] : calls.map(({ id, name, input }) => ({ type: 'tool_use', id, name, input }));
    const content = [...(thinking.length ? [{ type: 'thinking', thinking: thinking.join(''), signature: 'sim' }] : []), ...answerBlocks];
    return exchange.json(200, { ...message, content, stop_reason: stopReason, usage });
  }

  const blocks: StreamBlock[] =
    reply.type === 'text'
      ? [{ start: { type: 'text', text: '' }, deltas: reply.chunks.map((text) => ({ type: 'text_delta', text })) }]
      : calls.map(({ id, name, json }) => ({
          start: { type: 'tool_use', id, name, input: {} },
          // Like Anthropic, a tool that takes nothing streams one empty piece, not "{}".
          deltas: piecesOf(json === '{}' ? '' : json, script.chunkSize).map((partial_json) => ({ type: 'input_json_delta', partial_json })),
        }));
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  exchange.startStream();
  exchange.send(event('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }));
  let index = 0;
  if (thinking.length) {
    exchange.send(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
    for (const text of thinking) exchange.send(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: text } }));
    exchange.send(event('content_block_stop', { index }));
    index++;
  }
  // Script timing (slow, midstream) counts the answer's deltas across its blocks, as it did when the answer was one text block.
  let sent = 0;
  for (const [n, block] of blocks.entries()) {
    exchange.send(event('content_block_start', { index, content_block: block.start }));
    if (n === 0) exchange.send(event('ping', {}));
    for (const delta of block.deltas) {
      if (sent > 0 && script.slowMs && !(await exchange.pause(script.slowMs))) return;
      if (!exchange.send(event('content_block_delta', { index, delta }))) return;
      if (script.midstreamError && sent === 1) {
        exchange.send(event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
        return void exchange.res.end();
      }
      sent++;
    }
    if (script.truncate && n === blocks.length - 1) return void exchange.res.end();
    exchange.send(event('content_block_stop', { index }));
    index++;
  }
  exchange.send(event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }));
  exchange.send(event('message_stop', {}));
  exchange.res.end();
}

interface StreamBlock {
  start: Record<string, unknown>;
  deltas: Record<string, unknown>[];
}

function piecesOf(text: string, size: number): string[] {
  return Array.from({ length: Math.max(1, Math.ceil(text.length / size)) }, (_, i) => text.slice(i * size, (i + 1) * size));
}

function readRequest(body: Record<string, unknown>): SimRequest {
  const history = (Array.isArray(body.messages) ? body.messages : []) as WireMessage[];
  if (history.some((m) => m.role !== 'user' && m.role !== 'assistant')) {
    throw new InvalidRequest('messages: roles must be "user" or "assistant"; system text goes in "system"');
  }
  const turns = history.flatMap((message, at) => (message.role === 'user' ? userTurns(message, at, history[at - 1]) : [assistantTurn(message, at)]));
  return { system: textOfSystem(body.system), turns, tools: toolsOf(body.tools), toolChoice: toolChoiceOf(body.tool_choice), json: null };
}

function textOfSystem(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return (system as Block[]).map((block, i) => textBlock(block, `system.${i}`)).join('');
}

function blocksOf(message: WireMessage): Block[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : Array.isArray(message.content) ? (message.content as Block[]) : [];
}

/**
 * A user message is a user turn, or, when it holds tool results, one tool turn per result (then a user turn for any
 * text beside them). Like the real API, it must answer each tool_use of the assistant message before it, and only those.
 */
function userTurns(message: WireMessage, at: number, previous: WireMessage | undefined): SimTurn[] {
  const calledIds = new Set(blocksOf(previous ?? {}).flatMap((block) => (block.type === 'tool_use' ? [block.id] : [])));
  const answeredIds = new Set<unknown>();
  const results: SimTurn[] = [];
  const user: SimTurn = { role: 'user', text: '', images: 0, toolCalls: 0 };
  for (const [i, block] of blocksOf(message).entries()) {
    const field = `messages.${at}.content.${i}`;
    if (block.type === 'text') user.text += textBlock(block, field);
    else if (block.type === 'image') user.images += imageBlock(block, field);
    else if (block.type === 'tool_result') {
      if (!calledIds.has(block.tool_use_id)) {
        throw new InvalidRequest(
          `${field}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
      answeredIds.add(block.tool_use_id);
      results.push(toolResultTurn(block, field));
    } else throw unexpectedBlock(block, field);
  }
  const unanswered = [...calledIds].filter((id) => !answeredIds.has(id));
  if (unanswered.length) {
    throw new InvalidRequest(
      `messages.${at - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
    );
  }
  return results.length && !user.text && !user.images ? results : [...results, user];
}

function toolResultTurn(block: Block, field: string): SimTurn {
  const turn: SimTurn = { role: 'tool', text: '', images: 0, toolCalls: 0 };
  const content = typeof block.content === 'string' || block.content === undefined ? [{ type: 'text', text: block.content ?? '' }] : block.content;
  if (!Array.isArray(content)) throw new InvalidRequest(`${field}.content: Input should be a valid list`);
  for (const [i, inner] of (content as Block[]).entries()) {
    if (inner.type === 'image') turn.images += imageBlock(inner, `${field}.content.${i}`);
    else turn.text += textBlock(inner, `${field}.content.${i}`);
  }
  return turn;
}

function assistantTurn(message: WireMessage, at: number): SimTurn {
  const turn: SimTurn = { role: 'assistant', text: '', images: 0, toolCalls: 0 };
  for (const [i, block] of blocksOf(message).entries()) {
    const field = `messages.${at}.content.${i}`;
    if (block.type === 'text') turn.text += textBlock(block, field);
    else if (block.type === 'tool_use') {
      if (typeof block.id !== 'string' || typeof block.name !== 'string' || typeof block.input !== 'object' || block.input === null || Array.isArray(block.input)) {
        throw new InvalidRequest(`${field}.tool_use: id, name and an object input are required`);
      }
      turn.toolCalls++;
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') throw unexpectedBlock(block, field);
  }
  return turn;
}

function textBlock(block: Block, field: string): string {
  if (block.type !== 'text' || typeof block.text !== 'string') throw new InvalidRequest(`${field}.text: Field required`);
  return block.text;
}

/** One image, when its source is one the API takes: base64 with an image media type, or an http(s) URL. */
function imageBlock(block: Block, field: string): number {
  const source = (block.source ?? {}) as Block;
  if (source.type === 'base64') {
    if (!IMAGE_MEDIA_TYPES.includes(String(source.media_type))) {
      throw new InvalidRequest(`${field}.image.source.base64.media_type: Input should be ${IMAGE_MEDIA_TYPES.map((type) => `'${type}'`).join(', ')}`);
    }
    if (typeof source.data !== 'string' || !source.data) throw new InvalidRequest(`${field}.image.source.base64.data: Field required`);
    return 1;
  }
  if (source.type === 'url' && typeof source.url === 'string' && URL.canParse(source.url) && /^https?:$/.test(new URL(source.url).protocol)) return 1;
  throw new InvalidRequest(`${field}.image.source: Input should be a base64 image source or an http(s) url source`);
}

function unexpectedBlock(block: Block, field: string): InvalidRequest {
  return new InvalidRequest(`${field}: Input tag '${String(block.type)}' found using 'type' does not match any of the expected tags in this message`);
}

function toolsOf(tools: unknown): SimTool[] {
  if (!Array.isArray(tools)) return [];
  return (tools as Block[]).map((tool, i) => {
    if (typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) throw new InvalidRequest(`tools.${i}.custom.name: String should match pattern '${TOOL_NAME.source}'`);
    if (typeof tool.input_schema !== 'object' || tool.input_schema === null) throw new InvalidRequest(`tools.${i}.custom.input_schema: Field required`);
    return { name: tool.name, parameters: tool.input_schema as Record<string, unknown> };
  });
}

function toolChoiceOf(choice: unknown): SimToolChoice {
  if (choice === undefined || choice === null) return 'auto';
  const { type, name } = choice as Block;
  if (type === 'tool' && typeof name === 'string') return { name };
  const known = TOOL_CHOICES[String(type)];
  if (!known) throw new InvalidRequest(`tool_choice: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`);
  return known;
}
