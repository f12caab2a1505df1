// The OpenAI-compatible door through the `openai` SDK, against the test server and the simulator: chat,
// streams with usage, tools and a tool loop, images, JSON output, embeddings, the model list and rule, a
// provider of another protocol answering, every error status, and a client leaving mid-stream.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiError } from '../../src/doors/openai/openai-errors.js';
import { ForbiddenError } from '../../src/errors.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider } from '../testkit/chat.js';
import { UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', CHAT_RETRY_BASE_MS: '5', CHAT_RETRY_MAX_DELAY_MS: '50' }), startSimulator()]);
});
afterAll(disposeAll);

const client = (token: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: token, maxRetries: 0 });
const rows = (workspaceId: string) => gw.db.prisma.usageEvent.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } });
const HELLO = [{ role: 'user' as const, content: 'Hello' }];
const WEATHER: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
/** A one-pixel PNG. */
const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

async function owner(options: Parameters<typeof addSimProvider>[3] = {}) {
  const { workspace, token } = await newOwner(gw);
  const provider = await addSimProvider(gw, sim, token, options);
  return { workspace, token, provider, openai: client(token) };
}

describe('chat completions', () => {
  it('answers a chat, with usage in OpenAI terms, and writes one ledger row', async () => {
    const { workspace, openai } = await owner();
    const completion = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'system', content: 'Be brief' }, ...HELLO], user: 'end-user-7' });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0].message.content).toMatch(/^Echo: Hello/);
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: expect.any(Number), prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    const [row, ...more] = await rows(workspace.id);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ status: 'SUCCEEDED', streamed: false, agent: null, operation: null, promptTokens: completion.usage!.prompt_tokens });
  });

  it('streams chunks, then a usage chunk with no choices, then [DONE]', async () => {
    const { workspace, openai } = await owner();
    const stream = await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true, stream_options: { include_usage: true }, max_completion_tokens: 100 });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toMatch(/^Echo: Hello/);
    expect(chunks.at(-2)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { completion_tokens: expect.any(Number) } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(await rows(workspace.id)).toEqual([expect.objectContaining({ status: 'SUCCEEDED', streamed: true })]);

    const raw = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${openai.apiKey}` },
      body: JSON.stringify({ model: 'auto', messages: HELLO, stream: true }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    expect(await raw.text()).toMatch(/"finish_reason":"stop"[^\n]*\n\ndata: \[DONE\]\n\n$/);
  });

  it('offers tools, streams a call by index, and runs the tool loop to an answer', async () => {
    const { workspace, openai } = await owner();
    const stream = await openai.chat.completions.create({ model: 'auto', messages: HELLO, tools: [WEATHER], tool_choice: 'auto', stream: true });
    const pieces: OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      pieces.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(pieces[0]).toMatchObject({ index: 0, id: expect.any(String), type: 'function', function: { name: 'get_weather' } });
    expect(pieces.slice(1).every((piece) => piece.index === 0 && piece.id === undefined)).toBe(true);
    const args = pieces.map((piece) => piece.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: 'sample' });

    const asked: OpenAI.Chat.ChatCompletionMessageParam[] = [
      ...HELLO,
      { role: 'assistant', content: null, tool_calls: [{ id: pieces[0].id!, type: 'function', function: { name: 'get_weather', arguments: args } }] },
      { role: 'tool', tool_call_id: pieces[0].id!, content: 'Sunny, 21 °C' },
    ];
    const answer = await openai.chat.completions.create({ model: 'auto', messages: asked, tools: [WEATHER] });
    expect(answer.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.stringMatching(/^Tool said: Sunny, 21 °C/) } });
    expect((await rows(workspace.id)).map((row) => row.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('returns a forced call whole when not streamed', async () => {
    const { openai } = await owner();
    const completion = await openai.chat.completions.create({
      model: 'auto',
      messages: HELLO,
      tools: [WEATHER],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: expect.any(String), type: 'function', function: { name: 'get_weather', arguments: '{"city":"sample"}' } }] },
    });
  });

  it('takes an image and answers JSON to a schema', async () => {
    const { openai } = await owner();
    const seen = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: PIXEL, detail: 'low' } },
          ],
        },
      ],
    });
    expect(seen.choices[0].message.content).toMatch(/^Echo: What is this\? \(1 image\)/);
    const json = await openai.chat.completions.create({
      model: 'auto',
      messages: HELLO,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'city', schema: { type: 'object', properties: { name: { type: 'string' }, people: { type: 'integer' } } }, strict: true },
      },
      stop: ['\n\n'],
      top_p: 0.9,
      temperature: 0.2,
    });
    expect(JSON.parse(json.choices[0].message.content!)).toEqual({ name: 'sample', people: 1 });
  });

  it('is answered by an Anthropic provider, tool calls included', async () => {
    const { workspace, openai } = await owner({ kind: 'ANTHROPIC' });
    const completion = await openai.chat.completions.create({ model: 'auto', messages: HELLO });
    expect(completion).toMatchObject({ model: 'claude-3-5-haiku-latest', choices: [{ message: { content: expect.stringMatching(/^Echo: Hello/) } }] });
    const stream = await openai.chat.completions.create({ model: 'auto', messages: HELLO, tools: [WEATHER], stream: true });
    const names: string[] = [];
    for await (const chunk of stream) for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.name) names.push(call.function.name);
    expect(names).toEqual(['get_weather']);
    expect((await rows(workspace.id)).map((row) => row.kind)).toEqual(['ANTHROPIC', 'ANTHROPIC']);
  });

  it('aborts the call when the client leaves mid-stream: the row is CANCELLED', async () => {
    const { workspace, openai, provider } = await owner({ script: 'slow=100&chunks=200&chunk-size=8' });
    const stream = await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true });
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 3) break;
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
    const row = await eventually(async () => (await rows(workspace.id)).find((r) => r.status === 'CANCELLED'));
    expect(row.streamed).toBe(true);
  });
});

describe('the model rule', () => {
  it('lists auto and <provider>/<model>, retrieves one, and routes each way: named provider, bare model, auto', async () => {
    const { workspace, token, openai } = await owner({ label: 'sim-openai' });
    const anthropic = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'team/claude', priority: 200 });
    const listed = (await openai.models.list()).data.map((model) => model.id);
    expect(listed[0]).toBe('auto');
    expect(listed).toContain('sim-openai/gpt-4o-mini');
    expect(listed).toContain('team/claude/claude-3-5-haiku-latest');
    // One by its id, as the SDK sends it (URL-encoded: the id holds slashes).
    expect(await openai.models.retrieve('team/claude/claude-3-5-haiku-latest')).toMatchObject({
      id: 'team/claude/claude-3-5-haiku-latest',
      object: 'model',
      owned_by: 'Anthropic',
    });
    expect(await openai.models.retrieve('sim-openai/no-such-model').catch((error: unknown) => error)).toMatchObject({ status: 404, code: 'model_not_found' });

    const byLabel = await openai.chat.completions.create({ model: 'team/claude/claude-3-5-haiku-latest', messages: HELLO });
    const byId = await openai.chat.completions.create({ model: `${anthropic.id}/claude-sonnet-4-0`, messages: HELLO });
    const bare = await openai.chat.completions.create({ model: 'claude-3-5-haiku-latest', messages: HELLO });
    const auto = await openai.chat.completions.create({ model: 'auto', messages: HELLO });
    expect([byLabel.model, byId.model, bare.model, auto.model]).toEqual(['claude-3-5-haiku-latest', 'claude-sonnet-4-0', 'claude-3-5-haiku-latest', 'gpt-4o-mini']);
    expect((await rows(workspace.id)).map((row) => row.kind)).toEqual(['ANTHROPIC', 'ANTHROPIC', 'ANTHROPIC', 'OPENAI']);
  });

  it('refuses a model nothing offers with 404 model_not_found, saying how to name one', async () => {
    const { openai } = await owner();
    const refusal = await openai.chat.completions.create({ model: 'no-such-model', messages: HELLO }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OpenAI.NotFoundError);
    expect(refusal).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect((refusal as Error).message).toContain('<provider label or id>/<model>');
  });
});

describe('embeddings', () => {
  it('embeds a string (base64, the SDK default) and an array (float), with dimensions and usage', async () => {
    const { workspace, openai } = await owner();
    const one = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'Hello' });
    expect(one.data[0].embedding).toHaveLength(8);
    expect(Math.hypot(...one.data[0].embedding)).toBeCloseTo(1, 5);
    const raw = await fetch(`${gw.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${openai.apiKey}` },
      body: JSON.stringify({ model: 'auto', input: 'Hello', encoding_format: 'base64' }),
    }).then((response) => response.json() as Promise<{ data: Array<{ embedding: string }> }>);
    const bytes = Buffer.from(raw.data[0].embedding, 'base64');
    expect(Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(i * 4))).toEqual(one.data[0].embedding);

    const many = await openai.embeddings.create({ model: 'auto', input: ['a', 'b'], encoding_format: 'float', dimensions: 4 });
    expect(many.data.map((item) => [item.index, item.embedding.length])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(many.usage.prompt_tokens).toBeGreaterThan(0);
    expect((await rows(workspace.id)).map((row) => [row.status, row.operation])).toEqual([
      ['SUCCEEDED', 'embedding'],
      ['SUCCEEDED', 'embedding'],
      ['SUCCEEDED', 'embedding'],
    ]);
  });
});

describe('errors in OpenAI shapes and statuses', () => {
  const refusalOf = (call: Promise<unknown>) => call.then(() => expect.fail('expected a refusal')).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

  it('401 without or with a bad credential', async () => {
    const none = await refusalOf(new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'not-a-jwt', maxRetries: 0 }).models.list());
    expect(none).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(none).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const response = await fetch(`${gw.url}/v1/models`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
  });

  it('403 for a role that is not allowed', () => {
    expect(openAiError(new ForbiddenError())).toMatchObject({ status: 403, body: { error: { type: 'permission_error', code: 'forbidden' } } });
  });

  it('400 naming the OpenAI parameter', async () => {
    const { openai } = await owner();
    const cases: Array<[Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming>, string]> = [
      [{ n: 2 }, 'n'],
      [{ temperature: 5 }, 'temperature'],
      [{ top_p: 0 }, 'top_p'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ max_completion_tokens: -1 }, 'max_completion_tokens'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ tool_choice: { type: 'function', function: { name: 'missing' } }, tools: [WEATHER] }, 'tool_choice'],
      [{ tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools'],
      [{ messages: [] }, 'messages'],
    ];
    for (const [params, param] of cases) {
      const refusal = await refusalOf(openai.chat.completions.create({ model: 'auto', messages: HELLO, ...params }));
      expect(refusal, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect(refusal.param, JSON.stringify(params)).toBe(param);
    }
    const embedding = await refusalOf(openai.embeddings.create({ model: 'auto', input: [] }));
    expect(embedding).toMatchObject({ status: 400, param: 'input' });
  });

  it('429 for our limits, with retry-after and no automatic retry', async () => {
    const { token, openai, workspace } = await owner();
    expect((await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 1 } }, { token })).errors).toBeUndefined();
    for (const stream of [false, true]) {
      const refusal = await refusalOf(openai.chat.completions.create({ model: 'auto', messages: HELLO, stream }));
      expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refusal).toMatchObject({ status: 429, type: 'insufficient_quota', code: 'limit_exceeded' });
      expect(refusal.headers?.get('retry-after')).toBe('60');
      expect(refusal.headers?.get('x-should-retry')).toBe('false');
    }
    expect(await rows(workspace.id)).toEqual([]);
  });

  it('429, 502 and 503 for upstream failures, and a mid-stream failure as an error event', async () => {
    const cases: Array<[string, number, string]> = [
      ['status=429&retry-after=1', 429, 'upstream_rate_limited'],
      ['status=401', 502, 'invalid_credentials'],
      ['status=503', 503, 'provider_unavailable'],
    ];
    for (const [script, status, code] of cases) {
      const { openai, provider } = await owner({ script });
      const refusal = await refusalOf(openai.chat.completions.create({ model: 'auto', messages: HELLO }));
      expect(refusal, script).toMatchObject({ status, code });
      expect(refusal.message).not.toContain(provider.key.slice(0, 20));
      if (status === 429) expect(refusal.headers?.get('retry-after')).toBe('1');
    }
    const { openai, workspace } = await owner({ script: 'midstream=error' });
    const stream = await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true });
    const texts: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((error: unknown) => error);
    expect(texts.join('')).toMatch(/^Echo/);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((await rows(workspace.id)).at(-1)!.status).toBe('FAILED');
  });
});

describe('bounds', () => {
  it('refuses a body over the bound with 413 in OpenAI shape', async () => {
    const { token } = await newOwner(gw);
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(gw.config.maxRequestBodyBytes) }] }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null } });
  });

  it('counts an open stream against MAX_OPERATIONS_PER_USER, like a subscription: 429 RATE_LIMITED past it', async () => {
    const capped = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', MAX_OPERATIONS_PER_USER: '1' });
    const { token } = await newOwner(capped);
    await addSimProvider(capped, sim, token, { script: 'slow=100&chunks=50&chunk-size=8' });
    const openai = new OpenAI({ baseURL: `${capped.url}/v1`, apiKey: token, maxRetries: 0 });
    const first = await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true });
    const reading = first[Symbol.asyncIterator]();
    await reading.next();
    const refusal = (await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true }).catch((error: unknown) => error)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(refusal).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refusal.headers?.get('retry-after')).toBe('1');
    await reading.return?.();
    // Once the first stream is gone, a stream is taken again.
    await eventually(async () => {
      const again = await openai.chat.completions.create({ model: 'auto', messages: HELLO, stream: true }).catch(() => undefined);
      again?.controller.abort();
      return again;
    });
  });
});
