// The OpenAI-compatible adapter, built as the gateway builds it (the egress-guarded fetch), against the
// simulator: each canonical part and option as the upstream received it, tool-call pieces back, the
// short form of long tool call ids, and embeddings.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerEvent, Message, ToolCallPiece, ToolDefinition, UpstreamRequest } from '../../src/modules/chat/canonical.js';
import type { ProviderTarget } from '../../src/modules/providers/adapters/adapter.js';
import { createOpenAiCompatibleAdapter, openAiToolCallId } from '../../src/modules/providers/adapters/openai-compatible.adapter.js';
import { createGuardedHttp } from '../../src/net/egress.js';
import { embeddingOf } from '../../src/simulator/model.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

const adapter = createOpenAiCompatibleAdapter({
  http: createGuardedHttp({ allowLoopback: true, allowedHosts: new Set(), allowedCidrs: [] }, { maxLineBytes: 1 << 20 }),
  timeoutMs: 5_000,
  idleTimeoutMs: 5_000,
});
const signal = new AbortController().signal;

/** A target with a key of its own, so the request it sends can be found among the simulator's. */
function target(script = ''): ProviderTarget {
  return { kind: 'OPENAI', baseUrl: sim.baseUrls.openai, apiKey: `sk-oa-${randomUUID()}${script ? `#${script}` : ''}`, credentialType: 'API_KEY' };
}
const sentBy = (t: ProviderTarget) => sim.requests.find((request) => request.key === t.apiKey)?.body as Record<string, unknown>;

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const time: ToolDefinition = { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } };
const ask = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const request = (messages: Message[], options: Partial<UpstreamRequest['options']> = {}): UpstreamRequest => ({
  model: 'gpt-4o-mini',
  messages,
  options: { maxTokens: 200, ...options },
});

/** A question, the assistant's call `id`, and its result. */
const toolLoop = (id: string): Message[] => [
  ask('Weather?'),
  { role: 'assistant', content: [{ type: 'tool-call', call: { id, name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
  { role: 'tool', content: [{ type: 'tool-result', callId: id, name: 'get_weather', content: 'Snow' }] },
];

async function collect(events: AsyncIterable<AnswerEvent>): Promise<AnswerEvent[]> {
  const all: AnswerEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}
const piecesOf = (events: AnswerEvent[]) => events.filter((event): event is ToolCallPiece => event.type === 'tool-call');
/** Each call's name, id and whole arguments, by index, from its pieces. */
function callsOf(events: AnswerEvent[]) {
  const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
  for (const piece of piecesOf(events)) {
    calls[piece.index] ??= { id: piece.id, name: piece.name, arguments: '' };
    calls[piece.index].arguments += piece.argumentsDelta;
  }
  return calls;
}

describe('the request', () => {
  it('sends every part and option in OpenAI form', async () => {
    const t = target();
    const messages: Message[] = [
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these: ' },
          { type: 'image', url: 'https://example.com/a.png', detail: 'high' },
          { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool-call', call: { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', callId: 'call_1', name: 'get_weather', content: 'Sunny' }] },
      { role: 'assistant', content: [{ type: 'tool-call', call: { id: 'call_2', name: 'get_time', arguments: '{}' } }] },
      { role: 'tool', content: [{ type: 'tool-result', callId: 'call_2', name: 'get_time', content: '12:00' }] },
      ask('Thanks'),
    ];
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await adapter.chat(
      t,
      request(messages, {
        temperature: 0.3,
        topP: 0.5,
        stop: ['END'],
        tools: [weather, time],
        toolChoice: { type: 'tool', name: 'get_time' },
        responseFormat: { type: 'json_schema', name: 'reply', schema, strict: true },
      }),
      signal,
    );
    expect(sentBy(t)).toMatchObject({
      temperature: 0.3,
      top_p: 0.5,
      stop: ['END'],
      max_tokens: 200,
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'The weather of a city', parameters: weather.parameters } },
        { type: 'function', function: { name: 'get_time', parameters: time.parameters } },
      ],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } },
    });
    expect(sentBy(t).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these: ' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('sends "required" and json_object as such, leaves out a tool choice without tools and a text format', async () => {
    const required = target();
    await adapter.chat(required, request([ask('Hi')], { tools: [weather], toolChoice: { type: 'required' }, responseFormat: { type: 'json_object' } }), signal);
    expect(sentBy(required)).toMatchObject({ tool_choice: 'required', response_format: { type: 'json_object' } });

    const plain = target();
    const events = await adapter.chat(plain, request([ask('Hi')], { toolChoice: { type: 'none' }, responseFormat: { type: 'text' }, stop: [] }), signal);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    for (const field of ['tools', 'tool_choice', 'response_format', 'stop', 'top_p']) expect(sentBy(plain)).not.toHaveProperty(field);
  });
});

describe('tool calls back', () => {
  it('gives one piece per call, with id, name and the whole arguments, from a whole answer', async () => {
    const events = await adapter.chat(target('parallel=2'), request([ask('Weather and time?')], { tools: [weather, time] }), signal);
    expect(piecesOf(events)).toEqual([
      { type: 'tool-call', index: 0, id: expect.stringMatching(/^call_sim/), name: 'get_weather', argumentsDelta: '{"city":"sample"}' },
      { type: 'tool-call', index: 1, id: expect.stringMatching(/^call_sim/), name: 'get_time', argumentsDelta: '{"zone":"sample"}' },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('streams pieces that carry name and id only first and concatenate to each call’s JSON', async () => {
    const events = await collect(adapter.stream(target('parallel=2&chunk-size=3'), request([ask('Weather and time?')], { tools: [weather, time] }), signal));
    const pieces = piecesOf(events);
    expect(pieces.length).toBeGreaterThan(6);
    for (const index of [0, 1]) {
      const [first, ...rest] = pieces.filter((piece) => piece.index === index);
      expect(first).toMatchObject({ id: expect.stringMatching(/^call_sim/), name: index === 0 ? 'get_weather' : 'get_time' });
      for (const piece of rest) expect(piece).toEqual({ type: 'tool-call', index, argumentsDelta: expect.any(String) });
    }
    expect(callsOf(events).map((call) => JSON.parse(call.arguments))).toEqual([{ city: 'sample' }, { zone: 'sample' }]);
    expect(events.find((event) => event.type === 'usage')).toBeDefined();
    expect(events.find((event) => event.type === 'finish')).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('fails a tool-call stream cut before its end, after the pieces that came', async () => {
    const events: AnswerEvent[] = [];
    const run = async () => {
      for await (const event of adapter.stream(target('truncate=1&slow=5'), request([ask('Weather?')], { tools: [weather] }), signal)) events.push(event);
    };
    await expect(run()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(callsOf(events)[0]).toMatchObject({ name: 'get_weather', arguments: '{"city":"sample"}' });
  });

  it('maps an id longer than 40 characters to the same short id in the call and its result, so they pair', async () => {
    const longId = `toolu_${'x'.repeat(58)}`;
    const short = openAiToolCallId(longId, 'OPENAI');
    expect(short).toMatch(/^call_[A-Za-z0-9_-]+$/);
    expect(short.length).toBeLessThanOrEqual(40);
    expect(openAiToolCallId(longId, 'OPENAI')).toBe(short);
    expect(openAiToolCallId(`${longId.slice(0, -1)}y`, 'OPENAI')).not.toBe(short);
    expect(openAiToolCallId('call_short', 'OPENAI')).toBe('call_short');

    const t = target();
    const events = await collect(adapter.stream(t, request(toolLoop(longId), { tools: [weather] }), signal));
    const sent = sentBy(t).messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
    expect(sent[1].tool_calls?.[0].id).toBe(short);
    expect(sent[2].tool_call_id).toBe(short);
    const text = events.flatMap((event) => (event.type === 'text' ? [event.text] : [])).join('');
    expect(text).toMatch(/^Tool said: Snow\. /);
  });

  it('gives Mistral the 9 letters and digits it insists on, unless the id already is such', async () => {
    const mistral = openAiToolCallId('call_sim0_0', 'MISTRAL');
    expect(mistral).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(openAiToolCallId('aB3xK9mP2', 'MISTRAL')).toBe('aB3xK9mP2');

    const t = { ...target(), kind: 'MISTRAL' as const };
    await adapter.chat(t, request(toolLoop('call_sim0_0'), { tools: [weather] }), signal);
    const sent = sentBy(t).messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
    expect([sent[1].tool_calls?.[0].id, sent[2].tool_call_id]).toEqual([mistral, mistral]);
  });

  it('surfaces the upstream refusal of a result that answers no call as a refused request', async () => {
    const messages: Message[] = [ask('Weather?'), { role: 'tool', content: [{ type: 'tool-result', callId: 'call_nowhere', name: 'get_weather', content: 'Snow' }] }];
    await expect(adapter.chat(target(), request(messages), signal)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
  });
});

describe('embeddings', () => {
  it('embeds a batch in order, as floats, with dimensions and the prompt tokens', async () => {
    const t = target();
    const inputs = ['alpha', 'beta gamma', 'delta'];
    const result = await adapter.embed!(t, { model: 'text-embedding-3-small', inputs, dimensions: 16 }, signal);
    expect(result.vectors).toEqual(inputs.map((input) => embeddingOf(input, 16)));
    expect(result.promptTokens).toBe(2 + 3 + 2);
    expect(sentBy(t)).toEqual({ model: 'text-embedding-3-small', input: inputs, encoding_format: 'float', dimensions: 16 });
  });

  it('leaves dimensions out when none are asked, and maps an unknown model to a refused request', async () => {
    const t = target();
    const result = await adapter.embed!(t, { model: 'text-embedding-ada-002', inputs: ['one'] }, signal);
    expect(result.vectors).toEqual([embeddingOf('one', 8)]);
    expect(sentBy(t)).not.toHaveProperty('dimensions');
    await expect(adapter.embed!(target(), { model: 'gpt-4o-mini', inputs: ['one'] }, signal)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', status: 404 });
  });
});

describe("OpenRouter's reported cost", () => {
  it('adds a BYOK call’s fee and upstream charge in dollars, then rounds once to the micro-dollar', async () => {
    // Each part is 0.4 micro-dollars: rounded apart they would be 0 + 0, together they are 0.8, so 1.
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, cost: 4e-7, is_byok: true, cost_details: { upstream_inference_cost: 4e-7 } };
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'c',
            object: 'chat.completion',
            created: 1,
            model: 'm',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const events = await adapter.chat({ kind: 'OPENROUTER', baseUrl, apiKey: 'sk-or-byok', credentialType: 'API_KEY' }, request([ask('Hi')]), signal);
      expect(events.find((event) => event.type === 'usage')).toMatchObject({ providerCostMicros: 1n });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
