// OpenAI-compatible chat completions (also OpenRouter's flavour, with /key and priced /models).
import type { IncomingMessage } from 'node:http';
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';
import { countTokens, promptTokens, replyChunks, type SimMessage, THINKING } from './reply.js';

const ERROR_TYPES: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'bad_request'],
  401: ['invalid_request_error', 'invalid_api_key'],
  402: ['insufficient_quota', 'payment_required'],
  403: ['invalid_request_error', 'forbidden'],
  404: ['invalid_request_error', 'model_not_found'],
  408: ['timeout', 'request_timeout'],
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
}

export function openAiProtocol(name: 'openai' | 'openrouter', prefix: string): SimProtocol {
  const models = name === 'openrouter' ? SIM_MODELS.openrouter.map((m) => m.id) : SIM_MODELS.openai;
  return {
    name,
    prefix,
    key: (req) => bearer(req),
    // OpenRouter lists its models (with prices) to anyone.
    isPublic: (method, path) => name === 'openrouter' && method === 'GET' && path === '/models',
    error(exchange, status, message) {
      const [type, code] = ERROR_TYPES[status] ?? ['server_error', 'server_error'];
      // Like OpenAI, a refused key is echoed (partly) in the message: the gateway must never pass it on.
      if (status === 401 && exchange.key) message = `Incorrect API key provided: ${exchange.key.slice(0, 12)}****${exchange.key.slice(-6)}`;
      exchange.json(status, { error: { message, type, code } }, retryAfterHeaders(exchange, status));
    },
    async handle(exchange) {
      const { req, path } = exchange;
      if (req.method === 'GET' && path === '/models') {
        if (name === 'openrouter') {
          return exchange.json(200, {
            data: SIM_MODELS.openrouter.map((m) => ({ id: m.id, name: m.name, context_length: m.context, pricing: { prompt: m.prompt, completion: m.completion } })),
          });
        }
        return exchange.json(200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'simulator' })) });
      }
      if (req.method === 'GET' && path === '/key' && name === 'openrouter') {
        return exchange.json(200, { data: { label: 'simulated key', usage: 0, limit: null, is_free_tier: false } });
      }
      if (req.method === 'POST' && path === '/chat/completions') return chat(exchange, models, this);
      this.error(exchange, 404, `Unknown route ${req.method} ${path}`);
    },
  };
}

async function chat(exchange: SimExchange, models: string[], protocol: SimProtocol): Promise<void> {
  const { body, script } = exchange;
  const model = String(body.model ?? '');
  if (!models.includes(model)) return protocol.error(exchange, 404, `The model '${model}' does not exist`);
  const messages = (body.messages ?? []) as SimMessage[];
  const chunks = replyChunks(messages, script.chunks, script.chunkSize);
  const thinking = script.reasoning ? THINKING : [];
  const usage = {
    prompt_tokens: promptTokens(messages),
    completion_tokens: script.completionTokens ?? countTokens(thinking.join('') + chunks.join('')),
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: countTokens(thinking.join('')) },
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const base = { id: 'chatcmpl-sim', created: 1_700_000_000, model };

  if (!body.stream) {
    const message = { role: 'assistant', content: chunks.join(''), ...(thinking.length ? { reasoning_content: thinking.join('') } : {}) };
    return exchange.json(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }], usage });
  }

  const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    frame({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: d, finish_reason: finish }] });
  exchange.startStream();
  exchange.send(exchange.path && protocol.name === 'openrouter' ? ': OPENROUTER PROCESSING\n\n' : ': keep-alive\n\n');
  for (const text of thinking) if (!exchange.send(delta({ reasoning_content: text }))) return;
  for (const [index, text] of chunks.entries()) {
    if (index > 0 && script.slowMs && !(await exchange.pause(script.slowMs))) return;
    if (!exchange.send(delta(index === 0 ? { role: 'assistant', content: text } : { content: text }))) return;
    if (script.midstreamError && index === 1) {
      exchange.send(frame({ error: { message: 'Simulated failure mid-stream', type: 'server_error', code: 'server_error' } }));
      return void exchange.res.end();
    }
  }
  if (script.truncate) return void exchange.res.end();
  exchange.send(delta({}, 'stop'));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage && !script.omitUsage) exchange.send(frame({ ...base, object: 'chat.completion.chunk', choices: [], usage }));
  exchange.send('data: [DONE]\n\n');
  exchange.res.end();
}
