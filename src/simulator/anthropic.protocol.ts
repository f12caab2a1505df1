// Anthropic Messages: top-level system, required max_tokens, named SSE events.
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';
import { countTokens, promptTokens, replyChunks, type SimMessage, THINKING } from './reply.js';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

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

async function messages(exchange: SimExchange, protocol: SimProtocol): Promise<void> {
  const { body, script } = exchange;
  const model = String(body.model ?? '');
  if (!SIM_MODELS.anthropic.includes(model)) return protocol.error(exchange, 404, `model: ${model}`);
  if (typeof body.max_tokens !== 'number') return protocol.error(exchange, 400, 'max_tokens: Field required');
  const history = (body.messages ?? []) as SimMessage[];
  if (history.some((m) => m.role !== 'user' && m.role !== 'assistant')) {
    return protocol.error(exchange, 400, 'messages: roles must be "user" or "assistant"; system text goes in "system"');
  }
  const chunks = replyChunks(history, script.chunks, script.chunkSize);
  const thinking = script.reasoning ? THINKING : [];
  const inputTokens = promptTokens(history, typeof body.system === 'string' ? body.system : '');
  const outputTokens = countTokens(thinking.join('') + chunks.join(''));
  const usage = { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const message = { id: 'msg_sim', type: 'message', role: 'assistant', model, stop_sequence: null };

  if (!body.stream) {
    const content = [...(thinking.length ? [{ type: 'thinking', thinking: thinking.join(''), signature: 'sim' }] : []), { type: 'text', text: chunks.join('') }];
    return exchange.json(200, { ...message, content, stop_reason: 'end_turn', usage });
  }

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
  exchange.send(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
  exchange.send(event('ping', {}));
  for (const [n, text] of chunks.entries()) {
    if (n > 0 && script.slowMs && !(await exchange.pause(script.slowMs))) return;
    if (!exchange.send(event('content_block_delta', { index, delta: { type: 'text_delta', text } }))) return;
    if (script.midstreamError && n === 1) {
      exchange.send(event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
      return void exchange.res.end();
    }
  }
  if (script.truncate) return void exchange.res.end();
  exchange.send(event('content_block_stop', { index }));
  exchange.send(event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: outputTokens } }));
  exchange.send(event('message_stop', {}));
  exchange.res.end();
}
