// Gemini generateContent / streamGenerateContent?alt=sse. A bad key is 400
// INVALID_ARGUMENT with reason API_KEY_INVALID, never 401.
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';
import { countTokens, promptTokens, replyChunks, type SimMessage, THINKING } from './reply.js';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

interface GeminiContent {
  role?: string;
  parts?: Array<{ text?: string }>;
}

export const geminiProtocol: SimProtocol = {
  name: 'gemini',
  prefix: '/gemini',
  key: (req, url) => (req.headers['x-goog-api-key'] as string | undefined) ?? url.searchParams.get('key') ?? undefined,
  error(exchange, status, message) {
    if (status === 401) {
      return exchange.json(400, {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
        },
      });
    }
    exchange.json(status, { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } }, retryAfterHeaders(exchange, status));
  },
  async handle(exchange) {
    const { req, path } = exchange;
    if (req.method === 'GET' && path === '/v1beta/models') {
      return exchange.json(200, {
        models: SIM_MODELS.gemini.map((id) => ({
          name: `models/${id}`,
          version: '001',
          displayName: id,
          inputTokenLimit: 1_048_576,
          outputTokenLimit: 8192,
          supportedGenerationMethods: ['generateContent', 'countTokens'],
        })),
      });
    }
    const call = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)$/.exec(path);
    if (req.method === 'POST' && call) return generate(exchange, call[1], call[2] === 'streamGenerateContent', this);
    this.error(exchange, 404, `Unknown route ${req.method} ${path}`);
  },
};

async function generate(exchange: SimExchange, model: string, stream: boolean, protocol: SimProtocol): Promise<void> {
  const { body, script } = exchange;
  if (!SIM_MODELS.gemini.includes(model)) return protocol.error(exchange, 404, `models/${model} is not found`);
  const contents = (body.contents ?? []) as GeminiContent[];
  const history: SimMessage[] = contents.map((c) => ({ role: c.role === 'model' ? 'assistant' : 'user', content: (c.parts ?? []).map((p) => p.text ?? '').join('') }));
  if (contents.some((c) => c.role && c.role !== 'user' && c.role !== 'model')) {
    return protocol.error(exchange, 400, 'Please use a valid role: user, model.');
  }
  const system = ((body.systemInstruction as GeminiContent | undefined)?.parts ?? []).map((p) => p.text ?? '').join('');
  const chunks = replyChunks(history, script.chunks, script.chunkSize);
  const thinking = script.reasoning ? THINKING : [];
  const promptTokenCount = promptTokens(history, system);
  const thoughtsTokenCount = countTokens(thinking.join(''));
  const usage = (text: string) => ({
    promptTokenCount,
    candidatesTokenCount: countTokens(text),
    totalTokenCount: promptTokenCount + countTokens(text) + thoughtsTokenCount,
    ...(thoughtsTokenCount ? { thoughtsTokenCount } : {}),
  });
  const candidate = (parts: unknown[], finishReason?: string) => ({ content: { parts, role: 'model' }, index: 0, ...(finishReason ? { finishReason } : {}) });
  const thoughtParts = thinking.map((text) => ({ text, thought: true }));

  if (!stream) {
    return exchange.json(200, { candidates: [candidate([...thoughtParts, { text: chunks.join('') }], 'STOP')], usageMetadata: usage(chunks.join('')), modelVersion: model });
  }
  const frame = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`;
  exchange.startStream();
  if (thoughtParts.length) exchange.send(frame({ candidates: [candidate(thoughtParts)], usageMetadata: usage(''), modelVersion: model }));
  let sent = '';
  for (const [index, text] of chunks.entries()) {
    if (index > 0 && script.slowMs && !(await exchange.pause(script.slowMs))) return;
    sent += text;
    const last = index === chunks.length - 1 && !script.truncate;
    if (!exchange.send(frame({ candidates: [candidate([{ text }], last ? 'STOP' : undefined)], usageMetadata: usage(sent), modelVersion: model }))) return;
    if (script.midstreamError && index === 1) {
      exchange.send(frame({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }));
      return void exchange.res.end();
    }
  }
  exchange.res.end();
}
