// The Gemini adapter, built as the gateway builds it (the egress-guarded fetch),
// against the simulator: every canonical part as Gemini takes it (recorded in
// sim.requests), schemas adapted until Gemini accepts them, images fetched
// through the guard and bounded, tool calls as pieces, embeddings.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AnswerEvent, GenerationOptions, Message, UpstreamRequest } from '../../src/modules/chat/canonical.js';
import type { ProviderCallError, ProviderTarget } from '../../src/modules/providers/adapters/adapter.js';
import { createGeminiAdapter } from '../../src/modules/providers/adapters/gemini.adapter.js';
import { toGeminiSchema } from '../../src/modules/providers/adapters/gemini-schema.js';
import { createGuardedHttp, type EgressPolicy } from '../../src/net/egress.js';
import { embeddingOf } from '../../src/simulator/model.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const MiB = 1024 * 1024;

let sim: Simulator;
let images: Server;
let imageBase: string;
/** What the image server saw: each path asked for, and whether the big one was sent to its end. */
const served: string[] = [];
let bigSentWhole: boolean | undefined;

beforeAll(async () => {
  sim = await startSimulator();
  images = createServer(async (req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/cat.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (req.url === '/page.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>not an image</p>');
    if (req.url === '/big.png') {
      // 64 MiB with no content-length: only reading it tells its size, and more than the socket buffers hold.
      res.writeHead(200, { 'content-type': 'image/png' });
      res.on('close', () => (bigSentWhole = res.writableFinished));
      const piece = Buffer.alloc(64 * 1024, 0x0a);
      for (let sent = 0; sent < 64 * MiB && !res.destroyed; sent += piece.length) {
        if (!res.write(piece)) await drainedOrClosed(res);
      }
      return void res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
});
afterAll(async () => {
  images.closeAllConnections();
  await new Promise((resolve) => images.close(resolve));
  await sim.stop();
});

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** The simulator is reached by name (`localhost`, a trusted host); a literal loopback address only where the policy allows it. */
const adapter = (policy: Partial<EgressPolicy> = {}) => {
  const http = createGuardedHttp({ allowLoopback: false, allowedHosts: new Set(['localhost']), allowedCidrs: [], ...policy }, { maxLineBytes: 4 * MiB });
  return createGeminiAdapter({ http, fetchImage: http.fetch, timeoutMs: 5000, idleTimeoutMs: 5000 });
};
const open = adapter({ allowedCidrs: ['127.0.0.0/8'] });
const strict = adapter();

const KEY = 'AIza-adapter-secret-key';
const target = (script = ''): ProviderTarget => ({
  kind: 'GEMINI',
  baseUrl: sim.baseUrls.gemini.replace('127.0.0.1', 'localhost'),
  apiKey: script ? `${KEY}#${script}` : KEY,
  credentialType: 'API_KEY',
});
const request = (messages: Message[], options: GenerationOptions = {}): UpstreamRequest => ({ model: 'gemini-2.0-flash', messages, options: { maxTokens: 200, ...options } });
const user = (...content: Message['content']): Message => ({ role: 'user', content });
const text = (value: string) => ({ type: 'text' as const, text: value });
const signal = () => new AbortController().signal;
/** The fields of a recorded generateContent body the tests read. */
interface GeminiBody {
  systemInstruction?: unknown;
  contents: Array<{ role: string; parts: unknown[] }>;
  tools?: unknown;
  toolConfig?: unknown;
  generationConfig?: unknown;
}
const lastBody = () => sim.requests.at(-1)?.body as GeminiBody;
const textOf = (events: AnswerEvent[]) => events.map((event) => (event.type === 'text' ? event.text : '')).join('');
const collect = async (events: AsyncIterable<AnswerEvent>) => {
  const all: AnswerEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
};
const failure = (run: Promise<unknown>) =>
  run.then(
    () => undefined,
    (error: unknown) => error as ProviderCallError,
  );

describe('the conversation, part by part', () => {
  it('sends system, text, images, tool calls and tool results as Gemini parts, without our ids', async () => {
    const dataUrl = `data:image/png;base64,${PNG.toString('base64')}`;
    const messages: Message[] = [
      { role: 'system', content: [text('Be brief.')] },
      user(text('Weather in Paris and Rome? See the map.'), { type: 'image', url: dataUrl, detail: 'low' }),
      {
        role: 'assistant',
        content: [
          text('Looking it up.'),
          { type: 'tool-call', call: { id: 'call_gw_0001', name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { type: 'tool-call', call: { id: 'call_gw_0002', name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', callId: 'call_gw_0001', name: 'get_weather', content: '{"celsius":21}' }] },
      { role: 'tool', content: [{ type: 'tool-result', callId: 'call_gw_0002', name: 'get_weather', content: 'sunny' }] },
    ];
    const events = await open.chat(target(), request(messages, { temperature: 0.2, topP: 0.9, stop: ['END'] }), signal());

    const body = lastBody();
    expect(body.systemInstruction).toEqual({ role: 'system', parts: [{ text: 'Be brief.' }] });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome? See the map.' }, { inlineData: { mimeType: 'image/png', data: PNG.toString('base64') } }] },
      {
        role: 'model',
        parts: [{ text: 'Looking it up.' }, { functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_weather', args: { city: 'Rome' } } }],
      },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'get_weather', response: { celsius: 21 } } }, { functionResponse: { name: 'get_weather', response: { result: 'sunny' } } }],
      },
    ]);
    expect(body.generationConfig).toEqual({ temperature: 0.2, topP: 0.9, maxOutputTokens: 200, stopSequences: ['END'] });
    expect(JSON.stringify(body)).not.toContain('call_gw_');
    expect(textOf(events)).toMatch(/^Tool said: sunny\./);
    expect(events.find((event) => event.type === 'finish')).toEqual({ type: 'finish', reason: 'stop' });
  });
});

describe('tools', () => {
  const parameters = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://example.com/lookup.json',
    type: 'object',
    additionalProperties: false,
    properties: {
      query: { type: 'string', examples: ['cats'], default: 'cats' },
      limit: { type: ['integer', 'null'] },
      mode: { const: 'fast' },
      owner: { $ref: '#/$defs/Person' },
      tags: { type: 'array', items: { anyOf: [{ type: 'string', format: 'email' }, { type: 'null' }] } },
    },
    required: ['query', 'owner'],
    $defs: { Person: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, boss: { $ref: '#/$defs/Person' } } } },
  };

  it('adapts a JSON Schema to what Gemini takes: no $schema/$id/additionalProperties/defaults/examples, nullable types, const as enum, local refs inlined', () => {
    expect(toGeminiSchema(parameters, 'tools')).toEqual({
      type: 'object',
      properties: {
        query: { type: 'string' },
        limit: { type: 'integer', nullable: true },
        mode: { type: 'string', enum: ['fast'] },
        // The recursive reference stops at its second level.
        owner: { type: 'object', properties: { name: { type: 'string' }, boss: {} } },
        tags: { type: 'array', items: { type: 'string', nullable: true } },
      },
      required: ['query', 'owner'],
    });
  });

  it('declares the tools with adapted parameters, forces the named one, and reads its call as one piece with no id', async () => {
    const tools = [
      { name: 'lookup', description: 'Looks things up', parameters },
      { name: 'now', parameters: { type: 'object', properties: {} } },
    ];
    const events = await open.chat(target(), request([user(text('Find cats'))], { tools, toolChoice: { type: 'tool', name: 'lookup' } }), signal());
    const body = lastBody();
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: 'lookup', description: 'Looks things up', parameters: toGeminiSchema(parameters, 'tools') }, { name: 'now' }] }]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } });
    const calls = events.filter((event) => event.type === 'tool-call');
    expect(calls).toEqual([{ type: 'tool-call', index: 0, name: 'lookup', argumentsDelta: expect.any(String) }]);
    expect(JSON.parse((calls[0] as { argumentsDelta: string }).argumentsDelta)).toEqual({
      query: 'sample',
      limit: 1,
      mode: 'fast',
      owner: { name: 'sample', boss: {} },
      tags: ['sample'],
    });
    expect(events.at(-2)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('streams parallel calls as pieces numbered 0, 1; tool choice none and required map to NONE and ANY', async () => {
    const tools = [
      { name: 'a', parameters: { type: 'object', properties: { x: { type: 'string' } } } },
      { name: 'b', parameters: { type: 'object', properties: { y: { type: 'number' } } } },
    ];
    const events = await collect(open.stream(target('parallel=2'), request([user(text('Go'))], { tools, toolChoice: { type: 'required' } }), signal()));
    expect(lastBody().toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(events.filter((event) => event.type === 'tool-call')).toEqual([
      { type: 'tool-call', index: 0, name: 'a', argumentsDelta: '{"x":"sample"}' },
      { type: 'tool-call', index: 1, name: 'b', argumentsDelta: '{"y":1}' },
    ]);
    expect(events.some((event) => event.type === 'usage')).toBe(true);

    const none = await open.chat(target(), request([user(text('Go'))], { tools, toolChoice: { type: 'none' } }), signal());
    expect(lastBody().toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(textOf(none)).toMatch(/^Echo: Go/);
  });
});

describe('JSON output', () => {
  it('json_object asks for application/json; json_schema adds the adapted schema', async () => {
    await open.chat(target(), request([user(text('Anything'))], { responseFormat: { type: 'json_object' } }), signal());
    expect(lastBody().generationConfig).toMatchObject({ responseMimeType: 'application/json' });
    expect(lastBody().generationConfig).not.toHaveProperty('responseSchema');

    const schema = { $schema: 'x', type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, age: { type: ['integer', 'null'] } } };
    const events = await open.chat(target(), request([user(text('A person'))], { responseFormat: { type: 'json_schema', name: 'person', schema, strict: true } }), signal());
    expect(lastBody().generationConfig).toMatchObject({ responseMimeType: 'application/json', responseSchema: toGeminiSchema(schema, 'responseFormat') });
    expect(JSON.parse(textOf(events))).toEqual({ name: 'sample', age: 1 });
  });
});

describe('images by URL', () => {
  const withImage = (url: string) => request([user(text('What is this?'), { type: 'image', url })]);

  it('fetches the image through the guarded fetch and sends its bytes inline', async () => {
    await open.chat(target(), withImage(`${imageBase}/cat.png`), signal());
    expect(lastBody().contents[0].parts[1]).toEqual({ inlineData: { mimeType: 'image/png', data: PNG.toString('base64') } });
    expect(served).toContain('/cat.png');
  });

  it.each([
    ['larger than 5 MiB', '/big.png', 'larger than 5 MiB'],
    ['not an image', '/page.html', 'text/html, not an image'],
    ['missing', '/missing.png', 'HTTP 404'],
  ])('refuses one %s with BAD_USER_INPUT on messages, before calling Gemini', async (_, path, reason) => {
    const before = sim.requests.length;
    const error = await failure(collect(open.stream(target(), withImage(`${imageBase}${path}`), signal())));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'messages' } });
    expect(error?.message).toContain(reason);
    expect(error?.message).not.toContain('AIza');
    expect(sim.requests.length).toBe(before);
  });

  it('stops reading an image without a length once it passes the cap', async () => {
    bigSentWhole = undefined;
    await failure(open.chat(target(), withImage(`${imageBase}/big.png`), signal()));
    await vi.waitFor(() => expect(bigSentWhole).toBe(false));
  });

  it.each([`http://127.0.0.1:PORT/cat.png`, 'http://[::1]/cat.png', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/cat.png', 'file:///etc/passwd'])(
    'refuses %s when the egress policy forbids private addresses, fetching nothing',
    async (url) => {
      const asked = served.length;
      const before = sim.requests.length;
      const error = await failure(strict.chat(target(), withImage(url.replace('PORT', imageBase.split(':').at(-1)!)), signal()));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'messages' } });
      expect(error?.message).toContain('egress policy');
      expect(served.length).toBe(asked);
      expect(sim.requests.length).toBe(before);
    },
  );
});

describe('embeddings', () => {
  it('embeds every input in order, with the asked dimensions, in batches of 100, and leaves the tokens to the core', async () => {
    const inputs = Array.from({ length: 150 }, (_, i) => `text ${i}`);
    const before = sim.requests.length;
    const result = await open.embed!(target(), { model: 'text-embedding-004', inputs, dimensions: 16 }, signal());
    expect(result).toEqual({ vectors: inputs.map((input) => embeddingOf(input, 16)), promptTokens: null });
    const calls = sim.requests.slice(before);
    expect(calls.map((call) => call.path)).toEqual(Array(2).fill('/gemini/v1beta/models/text-embedding-004:batchEmbedContents'));
    expect((calls[0].body as { requests: unknown[] }).requests[0]).toEqual({
      model: 'models/text-embedding-004',
      content: { parts: [{ text: 'text 0' }] },
      outputDimensionality: 16,
    });
    expect((calls[1].body as { requests: unknown[] }).requests).toHaveLength(50);
  });

  it('maps a refused model to a provider error', async () => {
    const error = await failure(open.embed!(target(), { model: 'gemini-2.0-flash', inputs: ['x'] }, signal()));
    expect(error).toMatchObject({ status: 404 });
  });
});
