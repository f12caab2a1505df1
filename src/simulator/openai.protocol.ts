// OpenAI-compatible chat completions and embeddings (also OpenRouter's flavour, with /key, priced /models and
// each call's cost in its usage when asked with `usage: {include: true}`).
import type { IncomingMessage } from 'node:http';
import { answer, countTokens, EMBEDDING_MODELS, embeddingOf, promptTokensOf, type SimRequest, type SimToolChoice, type SimTurn, THINKING } from './model.js';
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';
import type { Script } from './script.js';

const ERROR_TYPES: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'bad_request'],
  401: ['invalid_request_error', 'invalid_api_key'],
  402: ['insufficient_quota', 'payment_required'],
  403: ['invalid_request_error', 'forbidden'],
  404: ['invalid_request_error', 'model_not_found'],
  408: ['timeout', 'request_timeout'],
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

/** OpenAI's rule for function and response-format names. */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const IMAGE_URL = /^(https:\/\/|data:image\/[a-z0-9.+-]+;base64,)/i;
const MAX_TOOL_CALL_ID = 40;

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
      exchange.json(status, { error: { message, type, code, param: null } }, retryAfterHeaders(exchange, status));
    },
    async handle(exchange) {
      const { req, path } = exchange;
      if (req.method === 'GET' && path === '/models') {
        if (name === 'openrouter') {
          return exchange.json(200, {
            data: SIM_MODELS.openrouter.map((m) => ({
              id: m.id,
              name: m.name,
              context_length: m.context,
              pricing: { prompt: m.prompt, completion: m.completion },
              supported_parameters: m.parameters,
              architecture: { input_modalities: m.inputs, output_modalities: ['text'] },
            })),
          });
        }
        const listed = [...models, ...EMBEDDING_MODELS.openai];
        return exchange.json(200, { object: 'list', data: listed.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'simulator' })) });
      }
      if (req.method === 'GET' && path === '/key' && name === 'openrouter') {
        return exchange.json(200, { data: { label: 'simulated key', usage: 0, limit: null, is_free_tier: false } });
      }
      if (req.method === 'POST' && path === '/chat/completions') return chat(exchange, models, this);
      if (req.method === 'POST' && path === '/embeddings') return embeddings(exchange, this);
      this.error(exchange, 404, `Unknown route ${req.method} ${path}`);
    },
  };
}

/** A request the real API would refuse, with the parameter it names. */
class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

function refuse(exchange: SimExchange, error: InvalidRequest): void {
  exchange.json(400, { error: { message: error.message, type: 'invalid_request_error', param: error.param, code: 'invalid_value' } });
}

type WireContent = string | null | undefined | Array<{ type: string; text?: string; image_url?: { url?: string; detail?: string } }>;

interface WireMessage {
  role: string;
  content: WireContent;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

interface WireTool {
  type: string;
  function?: { name?: string; description?: string; parameters?: Record<string, unknown> };
}

/** The wire request as the simulated model reads it, refused (InvalidRequest) where OpenAI would refuse it. */
function simRequestOf(body: Record<string, unknown>): SimRequest {
  const messages = (body.messages ?? []) as WireMessage[];
  const callIds = new Set<string>();
  let system = '';
  const turns: SimTurn[] = [];
  for (const [i, message] of messages.entries()) {
    const { text, images } = contentOf(message.content, `messages[${i}].content`);
    if (message.role === 'system' || message.role === 'developer') {
      system += text;
    } else if (message.role === 'assistant') {
      const calls = message.tool_calls ?? [];
      for (const [j, call] of calls.entries()) callIds.add(checkedToolCallId(call.id, `messages[${i}].tool_calls[${j}].id`));
      // The arguments are text the model reads back, so they count as prompt.
      turns.push({ role: 'assistant', text: text + calls.map((call) => call.function.arguments).join(''), images, toolCalls: calls.length });
    } else if (message.role === 'tool') {
      if (!message.tool_call_id || !callIds.has(checkedToolCallId(message.tool_call_id, `messages[${i}].tool_call_id`))) {
        throw new InvalidRequest(
          `Invalid parameter: 'tool_call_id' of '${message.tool_call_id ?? ''}' not found in 'tool_calls' of previous message.`,
          `messages.[${i}].tool_call_id`,
        );
      }
      turns.push({ role: 'tool', text, images: 0, toolCalls: 0 });
    } else {
      turns.push({ role: 'user', text, images, toolCalls: 0 });
    }
  }
  const tools = ((body.tools ?? []) as WireTool[]).map((tool, i) => {
    const toolName = tool.function?.name ?? '';
    if (tool.type !== 'function' || !NAME.test(toolName)) {
      throw new InvalidRequest(
        `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
        `tools[${i}].function.name`,
      );
    }
    return { name: toolName, parameters: tool.function?.parameters ?? {} };
  });
  if (body.tool_choice !== undefined && tools.length === 0) {
    throw new InvalidRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
  }
  const json = jsonOf(body.response_format);
  // OpenAI's own rule for JSON mode.
  if (json && !json.schema && !/json/i.test(system + turns.map((turn) => turn.text).join(''))) {
    throw new InvalidRequest("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
  }
  return { system, turns, tools, toolChoice: toolChoiceOf(body.tool_choice), json };
}

function checkedToolCallId(id: string, param: string): string {
  if (id.length > MAX_TOOL_CALL_ID) {
    throw new InvalidRequest(
      `Invalid '${param}': string too long. Expected a string with maximum length ${MAX_TOOL_CALL_ID}, but got a string with length ${id.length} instead.`,
      param,
    );
  }
  return id;
}

function contentOf(content: WireContent, param: string): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  let text = '';
  let images = 0;
  for (const [i, part] of (content ?? []).entries()) {
    if (part.type === 'text') text += part.text ?? '';
    if (part.type === 'image_url') {
      if (!IMAGE_URL.test(part.image_url?.url ?? '')) {
        throw new InvalidRequest("Invalid 'image_url': expected an https URL or a base64-encoded data URL with an image MIME type.", `${param}[${i}].image_url.url`);
      }
      images++;
    }
  }
  return { text, images };
}

function toolChoiceOf(choice: unknown): SimToolChoice {
  if (choice === 'none' || choice === 'required') return choice;
  const named = (choice as { function?: { name?: string } } | undefined)?.function?.name;
  return named ? { name: named } : 'auto';
}

function jsonOf(format: unknown): SimRequest['json'] {
  const { type, json_schema: schema } = (format ?? {}) as { type?: string; json_schema?: { name?: string; schema?: Record<string, unknown> } };
  if (type === 'json_object') return {};
  if (type !== 'json_schema') return null;
  if (!NAME.test(schema?.name ?? '')) {
    throw new InvalidRequest("Invalid 'response_format.json_schema.name': string does not match pattern '^[a-zA-Z0-9_-]+$'.", 'response_format.json_schema.name');
  }
  return { schema: schema?.schema ?? {} };
}

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

async function chat(exchange: SimExchange, models: string[], protocol: SimProtocol): Promise<void> {
  const { body, script } = exchange;
  const model = String(body.model ?? '');
  // OpenRouter also serves a listed model's variants (`openai/gpt-4o-mini:nitro`), which its list does not name.
  const listedAs = protocol.name === 'openrouter' ? model.replace(/:[a-z]+$/, '') : model;
  if (!models.includes(listedAs)) return protocol.error(exchange, 404, `The model '${model}' does not exist`);
  let request: SimRequest;
  try {
    request = simRequestOf(body);
  } catch (error) {
    if (error instanceof InvalidRequest) return refuse(exchange, error);
    throw error;
  }
  // OpenAI refuses a parameter it does not know; `usage` is OpenRouter's.
  if (protocol.name !== 'openrouter' && body.usage !== undefined) return refuse(exchange, new InvalidRequest('Unrecognized request argument supplied: usage', 'usage'));
  const reply = answer(request, script);
  const turn = request.turns.filter((t) => t.role === 'assistant' && t.toolCalls > 0).length;
  const calls =
    reply.type === 'tools'
      ? reply.calls.map((call, i) => ({ id: `call_sim${turn}_${i}`, type: 'function' as const, function: { name: call.name, arguments: JSON.stringify(call.arguments) } }))
      : [];
  const text = reply.type === 'text' ? reply.chunks : [];
  const thinking = script.reasoning ? THINKING : [];
  const finishReason = calls.length ? 'tool_calls' : 'stop';
  const completionText = thinking.join('') + text.join('') + calls.map((call) => call.function.arguments).join('');
  const usage = {
    prompt_tokens: promptTokensOf(request),
    completion_tokens: script.completionTokens ?? countTokens(completionText),
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: countTokens(thinking.join('')) },
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const cost =
    protocol.name === 'openrouter' && (body.usage as { include?: unknown } | undefined)?.include === true ? reportedCost(costOf(listedAs, usage, script.costFactor), script) : {};
  const base = { id: 'chatcmpl-sim', created: 1_700_000_000, model };

  if (!body.stream) {
    const message = {
      role: 'assistant',
      content: calls.length ? null : text.join(''),
      refusal: null,
      ...(calls.length ? { tool_calls: calls } : {}),
      ...(thinking.length ? { reasoning_content: thinking.join('') } : {}),
    };
    return exchange.json(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finishReason }], usage: { ...usage, ...cost } });
  }

  // What OpenAI streams for each call: its id, type and name with empty arguments, then the arguments in pieces.
  const pieces: Record<string, unknown>[] = text.map((content) => ({ content }));
  for (const [index, call] of calls.entries()) {
    const first: ToolCallDelta = { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } };
    pieces.push({ tool_calls: [first] });
    for (let at = 0; at < call.function.arguments.length; at += script.chunkSize) {
      pieces.push({ tool_calls: [{ index, function: { arguments: call.function.arguments.slice(at, at + script.chunkSize) } } satisfies ToolCallDelta] });
    }
  }
  pieces[0] = { role: 'assistant', ...(calls.length ? { content: null } : {}), ...pieces[0] };

  const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    frame({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: d, finish_reason: finish }] });
  exchange.startStream();
  exchange.send(protocol.name === 'openrouter' ? ': OPENROUTER PROCESSING\n\n' : ': keep-alive\n\n');
  for (const piece of thinking) if (!exchange.send(delta({ reasoning_content: piece }))) return;
  for (const [index, piece] of pieces.entries()) {
    if (index > 0 && script.slowMs && !(await exchange.pause(script.slowMs))) return;
    if (!exchange.send(delta(piece))) return;
    if (script.midstreamError && index === 1) {
      exchange.send(frame({ error: { message: 'Simulated failure mid-stream', type: 'server_error', code: 'server_error' } }));
      return void exchange.res.end();
    }
  }
  if (script.truncate) return void exchange.res.end();
  exchange.send(delta({}, finishReason));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage && !script.omitUsage) exchange.send(frame({ ...base, object: 'chat.completion.chunk', choices: [], usage: { ...usage, ...cost } }));
  exchange.send('data: [DONE]\n\n');
  exchange.res.end();
}

/** OpenRouter's cost fields for a call that cost `usd` upstream: all of it in `cost`, or for BYOK (script `byok-fee`) only the fee there. */
function reportedCost(usd: number, script: Script): Record<string, unknown> {
  if (script.byokFee === undefined) return { cost: usd };
  return { cost: usd * script.byokFee, is_byok: true, cost_details: { upstream_inference_cost: usd } };
}

/** What OpenRouter says a call cost, in USD: its tokens at the model's listed price (GET /models), times `factor` (script `cost-factor`). */
function costOf(model: string, usage: { prompt_tokens: number; completion_tokens: number }, factor: number): number {
  const listed = SIM_MODELS.openrouter.find((m) => m.id === model)!;
  return (usage.prompt_tokens * Number(listed.prompt) + usage.completion_tokens * Number(listed.completion)) * factor;
}

async function embeddings(exchange: SimExchange, protocol: SimProtocol): Promise<void> {
  const { body } = exchange;
  const model = String(body.model ?? '');
  if (!EMBEDDING_MODELS.openai.includes(model)) return protocol.error(exchange, 404, `The model '${model}' does not exist`);
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 2048 || !inputs.every((input) => typeof input === 'string' && input.length > 0)) {
    return refuse(exchange, new InvalidRequest("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'input'));
  }
  const { dimensions } = body;
  if (dimensions !== undefined && (model === 'text-embedding-ada-002' || !Number.isInteger(dimensions) || (dimensions as number) < 1)) {
    return refuse(exchange, new InvalidRequest('This model does not support specifying dimensions.', 'dimensions'));
  }
  const base64 = body.encoding_format === 'base64';
  const data = (inputs as string[]).map((input, index) => {
    const vector = embeddingOf(input, (dimensions as number | undefined) ?? 8);
    return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
  });
  const promptTokens = (inputs as string[]).reduce((sum, input) => sum + countTokens(input), 0);
  exchange.json(200, { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
}

/** OpenAI's base64 encoding: the vector as little-endian float32s. */
function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4);
  return bytes.toString('base64');
}
