// Gemini generateContent / streamGenerateContent?alt=sse / batchEmbedContents.
// A bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID, never 401.
// Gemini parses a request as a protocol buffer and checks it before the model
// sees it; so does this, for what the gateway could get wrong: a schema keyword
// Gemini has no field for ($schema, additionalProperties, $ref, const, a list
// of types), an image by URL instead of its bytes, a function response that
// answers no call of the turn before it. Each is a 400 INVALID_ARGUMENT.
// Function calls carry no id (Gemini pairs responses with calls by name and
// order), and a streamed call arrives whole, in one chunk.
import { answer, countTokens, EMBEDDING_MODELS, embeddingOf, promptTokensOf, type SimRequest, type SimToolChoice, type SimTurn, THINKING } from './model.js';
import { SIM_MODELS } from './models.js';
import { retryAfterHeaders, type SimExchange, type SimProtocol } from './protocol.js';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The fields of Gemini's Schema message: any other name in a schema is refused. */
const SCHEMA_FIELDS = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'anyOf',
  'propertyOrdering',
  'default',
  'items',
  'minimum',
  'maximum',
]);

/** Each embedding model's vector length, the most outputDimensionality may ask for. */
const EMBEDDING_DIMENSIONS: Record<string, number> = { 'text-embedding-004': 768, 'gemini-embedding-001': 3072 };
const MAX_EMBED_BATCH = 100;
const MAX_STOP_SEQUENCES = 5;

interface GeminiPart {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType?: string; data?: string };
  fileData?: { mimeType?: string; fileUri?: string };
  functionCall?: { name?: string; args?: Record<string, unknown> };
  functionResponse?: { name?: string; response?: unknown };
}

interface GeminiContent {
  role?: string;
  parts?: GeminiPart[];
}

type Schema = Record<string, unknown>;

/** A request Gemini would refuse, with its message. */
class InvalidArgument extends Error {}

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
      const model = (id: string, inputTokenLimit: number, outputTokenLimit: number, supportedGenerationMethods: string[]) => ({
        name: `models/${id}`,
        version: '001',
        displayName: id,
        inputTokenLimit,
        outputTokenLimit,
        supportedGenerationMethods,
      });
      return exchange.json(200, {
        models: [
          ...SIM_MODELS.gemini.map((id) => model(id, 1_048_576, 8192, ['generateContent', 'countTokens'])),
          ...EMBEDDING_MODELS.gemini.map((id) => model(id, 2048, 1, ['embedContent'])),
        ],
      });
    }
    const call = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(path);
    try {
      if (req.method === 'POST' && call?.[2] === 'batchEmbedContents') return embed(exchange, call[1], this);
      if (req.method === 'POST' && call) return await generate(exchange, call[1], call[2] === 'streamGenerateContent', this);
    } catch (error) {
      if (error instanceof InvalidArgument) return this.error(exchange, 400, error.message);
      throw error;
    }
    this.error(exchange, 404, `Unknown route ${req.method} ${path}`);
  },
};

async function generate(exchange: SimExchange, model: string, stream: boolean, protocol: SimProtocol): Promise<void> {
  const { script } = exchange;
  if (!SIM_MODELS.gemini.includes(model)) return protocol.error(exchange, 404, `models/${model} is not found`);
  const request = readRequest(exchange.body);
  const result = answer(request, script);
  const thinking = script.reasoning ? THINKING : [];
  const promptTokenCount = promptTokensOf(request);
  const thoughtsTokenCount = countTokens(thinking.join(''));
  const usage = (text: string) => ({
    promptTokenCount,
    candidatesTokenCount: countTokens(text),
    totalTokenCount: promptTokenCount + countTokens(text) + thoughtsTokenCount,
    ...(thoughtsTokenCount ? { thoughtsTokenCount } : {}),
  });
  const candidate = (parts: unknown[], finishReason?: string) => ({ content: { parts, role: 'model' }, index: 0, ...(finishReason ? { finishReason } : {}) });
  const thoughtParts = thinking.map((text) => ({ text, thought: true }));
  const frame = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`;

  if (result.type === 'tools') {
    const calls = result.calls.map((call) => ({ functionCall: { name: call.name, args: call.arguments } }));
    const output = JSON.stringify(calls);
    if (!stream) return exchange.json(200, { candidates: [candidate([...thoughtParts, ...calls], 'STOP')], usageMetadata: usage(output), modelVersion: model });
    exchange.startStream();
    if (thoughtParts.length) exchange.send(frame({ candidates: [candidate(thoughtParts)], usageMetadata: usage(''), modelVersion: model }));
    exchange.send(frame({ candidates: [candidate(calls, script.truncate ? undefined : 'STOP')], usageMetadata: usage(output), modelVersion: model }));
    return void exchange.res.end();
  }

  const { chunks } = result;
  if (!stream) {
    return exchange.json(200, { candidates: [candidate([...thoughtParts, { text: chunks.join('') }], 'STOP')], usageMetadata: usage(chunks.join('')), modelVersion: model });
  }
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

/** The wire request as the simulated model reads it; throws InvalidArgument where Gemini would refuse it. */
function readRequest(body: Record<string, unknown>): SimRequest {
  const contents = (body.contents ?? []) as GeminiContent[];
  const turns = contents.flatMap((content, index) => turnsOf(content, index, contents[index - 1]));
  const system = ((body.systemInstruction as GeminiContent | undefined)?.parts ?? []).map((part) => part.text ?? '').join('');

  const declarations = ((body.tools ?? []) as Array<{ functionDeclarations?: Array<{ name?: string; parameters?: Schema }> }>).flatMap((tool, t) =>
    (tool.functionDeclarations ?? []).map((declaration, f) => {
      if (declaration.parameters) checkParameters(declaration.parameters, `tools[${t}].function_declarations[${f}].parameters`);
      return { name: String(declaration.name ?? ''), parameters: lowerTypes(declaration.parameters ?? {}) };
    }),
  );
  const calling = (body.toolConfig as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } } | undefined)?.functionCallingConfig;
  const mode = calling?.mode ?? 'AUTO';
  const allowed = calling?.allowedFunctionNames ?? [];
  if (!['AUTO', 'ANY', 'NONE', 'MODE_UNSPECIFIED'].includes(mode)) throw new InvalidArgument(`Invalid value at 'tool_config.function_calling_config.mode', "${mode}"`);
  if (allowed.length > 0 && mode !== 'ANY') throw new InvalidArgument('allowed_function_names should only be set when the mode is ANY.');
  const unknown = allowed.find((name) => !declarations.some((declaration) => declaration.name === name));
  if (unknown) throw new InvalidArgument(`allowed_function_names names "${unknown}", which no function declaration declares.`);
  const toolChoice: SimToolChoice = mode === 'NONE' ? 'none' : mode !== 'ANY' ? 'auto' : allowed.length === 1 ? { name: allowed[0] } : 'required';

  const config = (body.generationConfig ?? {}) as { responseMimeType?: string; responseSchema?: Schema; stopSequences?: string[] };
  if (config.responseSchema) {
    if (config.responseMimeType !== 'application/json') throw new InvalidArgument('response_schema is only supported when response_mime_type is application/json.');
    checkSchema(config.responseSchema, 'generation_config.response_schema');
  }
  if ((config.stopSequences?.length ?? 0) > MAX_STOP_SEQUENCES) throw new InvalidArgument(`generation_config.stop_sequences may hold at most ${MAX_STOP_SEQUENCES} sequences.`);

  return {
    system,
    turns,
    tools: allowed.length > 0 ? declarations.filter((declaration) => allowed.includes(declaration.name)) : declarations,
    toolChoice,
    json: config.responseMimeType === 'application/json' ? (config.responseSchema ? { schema: lowerTypes(config.responseSchema) } : {}) : null,
  };
}

/** A model turn is the assistant's; a user (or function) turn gives one tool turn per function response, then the user's text and images. */
function turnsOf(content: GeminiContent, index: number, previous: GeminiContent | undefined): SimTurn[] {
  const role = content.role ?? 'user';
  const parts = content.parts ?? [];
  const text = (of: GeminiPart[]) => of.map((part) => part.text ?? '').join('');
  if (role === 'model') return [{ role: 'assistant', text: text(parts), images: 0, toolCalls: parts.filter((part) => part.functionCall).length }];
  if (role !== 'user' && role !== 'function') throw new InvalidArgument('Please use a valid role: user, model.');
  for (const [p, part] of parts.entries()) checkPart(part, `contents[${index}].parts[${p}]`);
  const responses = parts.filter((part) => part.functionResponse);
  if (responses.length > 0) checkResponses(responses, previous);
  const rest = parts.filter((part) => !part.functionResponse);
  return [
    ...responses.map((part): SimTurn => ({ role: 'tool', text: responseText(part.functionResponse?.response), images: 0, toolCalls: 0 })),
    ...(rest.length > 0 || responses.length === 0 ? [{ role: 'user' as const, text: text(rest), images: rest.filter((part) => part.inlineData).length, toolCalls: 0 }] : []),
  ];
}

function checkPart(part: GeminiPart, path: string): void {
  if (part.fileData) throw new InvalidArgument(`Invalid or unsupported file uri: ${part.fileData.fileUri ?? ''}`);
  if (!part.inlineData) return;
  const { mimeType = '', data = '' } = part.inlineData;
  if (!mimeType.startsWith('image/')) throw new InvalidArgument(`Unsupported MIME type: ${mimeType}`);
  // Protocol buffers' JSON takes standard or URL-safe base64, padded or not.
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) throw new InvalidArgument(`Invalid value at '${path}.inline_data.data' (TYPE_BYTES), Base64 decoding failed`);
}

/** Gemini pairs responses with the calls of the model turn just before, by name: as many responses as calls, each naming one. */
function checkResponses(responses: GeminiPart[], previous: GeminiContent | undefined): void {
  const calls = (previous?.role === 'model' ? (previous.parts ?? []) : []).filter((part) => part.functionCall).map((part) => part.functionCall?.name);
  if (calls.length === 0) throw new InvalidArgument('Please ensure that function response turn comes immediately after a function call turn.');
  const stray = responses.find((part) => !calls.includes(part.functionResponse?.name));
  if (stray) throw new InvalidArgument(`Function response "${stray.functionResponse?.name}" answers no function call of the previous turn.`);
  if (responses.length !== calls.length) {
    throw new InvalidArgument('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
  }
}

/** A function's parameters: a schema Gemini can parse, and an object with properties (a function that takes nothing declares no parameters). */
function checkParameters(parameters: Schema, path: string): void {
  checkSchema(parameters, path);
  if (String(parameters.type).toLowerCase() === 'object' && Object.keys(parameters.properties ?? {}).length === 0) {
    throw new InvalidArgument(`* GenerateContentRequest.${path}.properties: should be non-empty for OBJECT type`);
  }
}

function checkSchema(schema: Schema, path: string): void {
  for (const [name, value] of Object.entries(schema)) {
    if (!SCHEMA_FIELDS.has(name)) throw new InvalidArgument(`Invalid JSON payload received. Unknown name "${name}" at '${path}': Cannot find field.`);
    if (name === 'type' && Array.isArray(value))
      throw new InvalidArgument(`Invalid JSON payload received. Unknown name "type" at '${path}': Proto field is not repeating, cannot start list.`);
    const notString = name === 'enum' && Array.isArray(value) ? value.findIndex((item) => typeof item !== 'string') : -1;
    if (notString !== -1) throw new InvalidArgument(`Invalid value at '${path}.enum[${notString}]' (TYPE_STRING), ${JSON.stringify((value as unknown[])[notString])}`);
  }
  for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) checkSchema(property, `${path}.properties[${name}].value`);
  if (schema.items) checkSchema(schema.items as Schema, `${path}.items`);
  for (const [i, member] of ((schema.anyOf ?? []) as Schema[]).entries()) checkSchema(member, `${path}.any_of[${i}]`);
}

/** Gemini's types are case-blind (STRING, string); the model reads JSON Schema's lower-case ones. */
function lowerTypes(schema: Schema): Schema {
  const result: Schema = { ...schema };
  if (typeof schema.type === 'string') result.type = schema.type.toLowerCase();
  if (schema.properties) result.properties = Object.fromEntries(Object.entries(schema.properties as Record<string, Schema>).map(([name, value]) => [name, lowerTypes(value)]));
  if (schema.items) result.items = lowerTypes(schema.items as Schema);
  if (schema.anyOf) result.anyOf = (schema.anyOf as Schema[]).map(lowerTypes);
  return result;
}

function embed(exchange: SimExchange, model: string, protocol: SimProtocol): void {
  const dimensions = EMBEDDING_DIMENSIONS[model];
  if (!dimensions) {
    protocol.error(exchange, 404, `models/${model} is not found for API version v1beta, or is not supported for batchEmbedContents.`);
    return;
  }
  const requests = (exchange.body.requests ?? []) as Array<{ model?: string; content?: GeminiContent; outputDimensionality?: number }>;
  if (requests.length === 0) throw new InvalidArgument('* BatchEmbedContentsRequest.requests: contents is not specified');
  if (requests.length > MAX_EMBED_BATCH) throw new InvalidArgument(`* BatchEmbedContentsRequest.requests: at most ${MAX_EMBED_BATCH} requests can be in one batch`);
  const embeddings = requests.map((request, i) => {
    if (request.model !== `models/${model}`)
      throw new InvalidArgument(`* BatchEmbedContentsRequest.requests[${i}].model: the model must be the one named in the URL, models/${model}`);
    const length = request.outputDimensionality ?? dimensions;
    if (!Number.isInteger(length) || length < 1 || length > dimensions) {
      throw new InvalidArgument(`* BatchEmbedContentsRequest.requests[${i}].output_dimensionality: must be between 1 and ${dimensions}`);
    }
    return { values: embeddingOf((request.content?.parts ?? []).map((part) => part.text ?? '').join(''), length) };
  });
  exchange.json(200, { embeddings });
}

/** A response the gateway wrapped (`{result: text}`, for a result that is not a JSON object) reads as its text, like the other protocols' results. */
function responseText(response: unknown): string {
  const wrapped = response as { result?: unknown } | undefined;
  if (wrapped && typeof wrapped === 'object' && Object.keys(wrapped).length === 1 && typeof wrapped.result === 'string') return wrapped.result;
  return JSON.stringify(response ?? {});
}
