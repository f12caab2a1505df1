// The Anthropic adapter, built as the services build it (the egress-guarded fetch), against the simulator:
// every canonical part in the request body Anthropic receives, and tool_use blocks back as canonical events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerEvent, GenerationOptions, Message, ToolCallPiece, UpstreamRequest } from '../../src/modules/chat/canonical.js';
import type { ProviderTarget } from '../../src/modules/providers/adapters/adapter.js';
import { createAnthropicAdapter } from '../../src/modules/providers/adapters/anthropic.adapter.js';
import { createGuardedHttp } from '../../src/net/egress.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

const adapter = createAnthropicAdapter({
  http: createGuardedHttp({ allowLoopback: true, allowedHosts: new Set(), allowedCidrs: [] }, { maxLineBytes: 1 << 20 }),
  timeoutMs: 5_000,
  idleTimeoutMs: 5_000,
});

let keys = 0;
/** A target with a key of its own, so its requests can be told apart; `script` as the simulator reads it. */
const target = (script = ''): ProviderTarget => ({ kind: 'ANTHROPIC', baseUrl: sim.baseUrls.anthropic, apiKey: `sk-ant-${++keys}#${script}`, credentialType: 'API_KEY' });
const bodyOf = (t: ProviderTarget) => sim.requests.findLast((r) => r.key === t.apiKey && r.method === 'POST')!.body as Record<string, unknown>;
const request = (messages: Message[], options: GenerationOptions = {}): UpstreamRequest => ({ model: 'claude-sonnet-4-0', messages, options: { maxTokens: 200, ...options } });
const signal = () => AbortSignal.timeout(10_000);

async function streamed(t: ProviderTarget, upstream: UpstreamRequest): Promise<AnswerEvent[]> {
  const events: AnswerEvent[] = [];
  for await (const event of adapter.stream(t, upstream, signal())) events.push(event);
  return events;
}

const textOf = (events: AnswerEvent[]) => events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
const piecesOf = (events: AnswerEvent[]) => events.filter((e): e is ToolCallPiece => e.type === 'tool-call');
/** The calls the pieces make, by index: the first piece's id and name, the pieces' arguments concatenated. */
function callsOf(events: AnswerEvent[]) {
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  for (const piece of piecesOf(events)) {
    calls[piece.index] ??= { id: piece.id, name: piece.name, arguments: '' };
    calls[piece.index].arguments += piece.argumentsDelta;
  }
  return calls;
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const weather = { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const time = { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } };
const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });

/** A finished tool turn: two calls, their results, then a user's follow-up. */
const toolLoop: Message[] = [
  { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'Weather where these were taken?' },
      { type: 'image', url: `data:image/png;base64,${PNG}` },
      { type: 'image', url: 'https://example.com/cat.jpg', detail: 'low' },
    ],
  },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Checking.' },
      { type: 'tool-call', call: { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { type: 'tool-call', call: { id: 'call_b', name: 'get_time', arguments: '{}' } },
    ],
  },
  { role: 'tool', content: [{ type: 'tool-result', callId: 'call_a', name: 'get_weather', content: 'Sunny, 22 C' }] },
  { role: 'tool', content: [{ type: 'tool-result', callId: 'call_b', name: 'get_time', content: '' }] },
  user('And tomorrow?'),
];

describe('the request Anthropic receives', () => {
  it('carries every part: images as base64 and url sources, tool calls as tool_use, the results of a turn and the text after them in one user message', async () => {
    const t = target();
    const events = await adapter.chat(t, request(toolLoop, { tools: [weather, time] }), signal());
    expect(bodyOf(t)).toMatchObject({
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather where these were taken?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_b', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          // An empty result goes without content: Anthropic refuses empty text.
          content: [
            { type: 'tool_result', tool_use_id: 'call_a', content: 'Sunny, 22 C' },
            { type: 'tool_result', tool_use_id: 'call_b' },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect((bodyOf(t).messages as unknown[]).length).toBe(3);
    // The conversation already had its tool turn: the simulated model answers with text.
    expect(textOf(events)).toMatch(/^Echo: And tomorrow\?/);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('keeps plain text messages as strings, as before', async () => {
    const t = target();
    await adapter.chat(t, request([user('Hello'), { role: 'assistant', content: [{ type: 'text', text: 'Hi.' }] }, user('Again')]), signal());
    expect(bodyOf(t).messages).toEqual([
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: 'Again' },
    ]);
  });

  it('sends tools with input_schema, each tool choice in its Anthropic form, stop as stop_sequences and topP as top_p', async () => {
    const t = target();
    await adapter.chat(t, request([user('Hi')], { tools: [weather, time], toolChoice: { type: 'required' }, stop: ['END'], topP: 0.5, temperature: 0.2 }), signal());
    expect(bodyOf(t)).toMatchObject({
      tools: [
        { name: 'get_weather', description: 'Weather of a city', input_schema: weather.parameters },
        { name: 'get_time', input_schema: time.parameters },
      ],
      tool_choice: { type: 'any' },
      stop_sequences: ['END'],
      top_p: 0.5,
      temperature: 0.2,
    });
    expect((bodyOf(t).tools as object[])[1]).not.toHaveProperty('description');
    const choices = [
      [{ type: 'auto' }, { type: 'auto' }],
      [{ type: 'none' }, { type: 'none' }],
      [
        { type: 'tool', name: 'get_time' },
        { type: 'tool', name: 'get_time' },
      ],
    ] as const;
    for (const [toolChoice, wire] of choices) {
      const each = target();
      await adapter.chat(each, request([user('Hi')], { tools: [weather, time], toolChoice }), signal());
      expect(bodyOf(each).tool_choice).toEqual(wire);
    }
    const none = target();
    await adapter.chat(none, request([user('Hi')]), signal());
    expect(bodyOf(none)).not.toHaveProperty('tools');
    expect(bodyOf(none)).not.toHaveProperty('tool_choice');
  });
});

describe('tool calls back', () => {
  it('gives a whole tool_use as one piece with id, name and the arguments, and passes stop_reason tool_use through', async () => {
    const events = await adapter.chat(target('parallel=2'), request([user('Weather?')], { tools: [weather, time] }), signal());
    expect(piecesOf(events)).toEqual([
      { type: 'tool-call', index: 0, id: 'toolu_sim10', name: 'get_weather', argumentsDelta: '{"city":"sample"}' },
      { type: 'tool-call', index: 1, id: 'toolu_sim11', name: 'get_time', argumentsDelta: '{"zone":"sample"}' },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('streams tool_use pieces numbered 0, 1 over the calls only (not the thinking block), the first piece naming the call', async () => {
    const events = await streamed(target('parallel=2&chunk-size=4&reasoning=1'), request([user('Weather?')], { tools: [weather, time] }));
    expect(events.some((e) => e.type === 'thinking')).toBe(true);
    const pieces = piecesOf(events);
    expect(pieces.length).toBeGreaterThan(4);
    expect(pieces.filter((p) => p.name)).toEqual([
      { type: 'tool-call', index: 0, id: 'toolu_sim10', name: 'get_weather', argumentsDelta: '' },
      { type: 'tool-call', index: 1, id: 'toolu_sim11', name: 'get_time', argumentsDelta: '' },
    ]);
    expect(pieces.filter((p) => !p.name).every((p) => p.id === undefined && p.argumentsDelta.length <= 4)).toBe(true);
    expect(callsOf(events).map((call) => JSON.parse(call.arguments))).toEqual([{ city: 'sample' }, { zone: 'sample' }]);
    expect(events.find((e) => e.type === 'usage')).toMatchObject({ usage: { completionTokens: expect.any(Number) } });
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
  });
});

describe('JSON output through a forced tool', () => {
  const schema = { type: 'object', properties: { city: { type: 'string' }, warm: { type: 'boolean' } } };

  it('offers the schema as a tool, forces it, and returns its input as text with end_turn, whole and streamed', async () => {
    const whole = target();
    const options: GenerationOptions = { responseFormat: { type: 'json_schema', name: 'forecast', schema, strict: true } };
    const events = await adapter.chat(whole, request([user('Forecast?')], options), signal());
    expect(bodyOf(whole)).toMatchObject({ tools: [{ name: 'forecast', input_schema: schema }], tool_choice: { type: 'tool', name: 'forecast' } });
    expect(piecesOf(events)).toEqual([]);
    expect(JSON.parse(textOf(events))).toEqual({ city: 'sample', warm: true });
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });

    const pieces = await streamed(target('chunk-size=3'), request([user('Forecast?')], options));
    expect(piecesOf(pieces)).toEqual([]);
    expect(pieces.filter((e) => e.type === 'text').length).toBeGreaterThan(3);
    expect(JSON.parse(textOf(pieces))).toEqual({ city: 'sample', warm: true });
    expect(pieces.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('answers json_object through a json_answer tool taking any object', async () => {
    const t = target();
    const events = await adapter.chat(t, request([user('Anything')], { responseFormat: { type: 'json_object' } }), signal());
    expect(bodyOf(t)).toMatchObject({ tools: [{ name: 'json_answer', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'json_answer' } });
    expect(JSON.parse(textOf(events))).toEqual({});
  });

  it("with the caller's tools as well, lets the model call them first, then answer in JSON", async () => {
    const options: GenerationOptions = { tools: [weather], responseFormat: { type: 'json_schema', name: 'forecast', schema, strict: false } };
    const first = target();
    const calling = await streamed(first, request([user('Forecast?')], options));
    expect(bodyOf(first)).toMatchObject({ tools: [{ name: 'get_weather' }, { name: 'forecast' }], tool_choice: { type: 'any' } });
    expect(callsOf(calling)).toEqual([{ id: 'toolu_sim10', name: 'get_weather', arguments: '{"city":"sample"}' }]);
    expect(calling.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });

    const answering = await streamed(
      target(),
      request(
        [
          user('Forecast?'),
          { role: 'assistant', content: [{ type: 'tool-call', call: { id: 'toolu_sim10', name: 'get_weather', arguments: '{"city":"sample"}' } }] },
          { role: 'tool', content: [{ type: 'tool-result', callId: 'toolu_sim10', name: 'get_weather', content: 'Sunny' }] },
        ],
        options,
      ),
    );
    expect(piecesOf(answering)).toEqual([]);
    expect(JSON.parse(textOf(answering))).toEqual({ city: 'sample', warm: true });
    expect(answering.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });
});
