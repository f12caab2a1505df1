// Agent-grade calls through the running server, on each protocol: tools offered, called (whole and
// streamed in pieces) and answered, two calls in one turn, images, JSON output, a three-step agent loop over
// graphql-ws with a ledger row per step, a tool loop that falls back to another protocol mid-loop, and a
// session that replays its tool calls. The upstream request is asserted in each protocol's own form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, type ChatInputVars, type Chunk, type MODELS, streamOverWs, text } from '../testkit/chat.js';
import { Chat, ResolveRoute, UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

type Kind = keyof typeof MODELS;
const KINDS: Kind[] = ['OPENAI', 'ANTHROPIC', 'GEMINI'];

const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false, $schema: 'http://json-schema.org/draft-07/schema#' },
};
const TIME = { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } };
const ASK = [{ role: 'USER' as const, content: 'What is the weather in Paris?' }];
/** Models the catalog lists with vision, per kind (Anthropic's default, Claude 3.5 Haiku, has none). */
const VISION_MODELS = { OPENAI: 'gpt-4o-mini', ANTHROPIC: 'claude-sonnet-4-0', GEMINI: 'gemini-2.0-flash' };
/** A one-pixel PNG. */
const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** The last upstream chat request made with a provider's key, as the simulator received it. */
const lastRequest = (key: string) => sim.requests.filter((request) => request.key === key && request.method === 'POST').at(-1)!.body as Record<string, unknown>;

async function chat(token: string, input: ChatInputVars) {
  const result = await gw.execute(Chat, { input }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.chat;
}

/** The tool calls a stream carried, from its TOOL_CALL pieces. */
function callsOf(chunks: Chunk[]): Array<{ id: string; name: string; arguments: string }> {
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for (const chunk of chunks.filter((c) => c.type === 'TOOL_CALL')) {
    const index = chunk.toolIndex!;
    if (chunk.toolCallId) {
      expect(calls[index]).toBeUndefined();
      calls[index] = { id: chunk.toolCallId, name: chunk.toolName!, arguments: '' };
    }
    calls[index].arguments += chunk.argumentsDelta ?? '';
  }
  return calls;
}

/** Where each protocol puts what was offered and asked. */
const WIRE = {
  OPENAI: {
    toolNames: (body: Record<string, unknown>) => (body.tools as Array<{ type: string; function: { name: string } }>).map((tool) => `${tool.type}:${tool.function.name}`),
    lastMessage: (body: Record<string, unknown>) => (body.messages as unknown[]).at(-1),
  },
  ANTHROPIC: {
    toolNames: (body: Record<string, unknown>) => (body.tools as Array<{ name: string; input_schema: unknown }>).map((tool) => `input_schema:${tool.name}`),
    lastMessage: (body: Record<string, unknown>) => (body.messages as unknown[]).at(-1),
  },
  GEMINI: {
    toolNames: (body: Record<string, unknown>) =>
      (body.tools as Array<{ functionDeclarations: Array<{ name: string }> }>).flatMap((tool) => tool.functionDeclarations.map((declaration) => `declaration:${declaration.name}`)),
    lastMessage: (body: Record<string, unknown>) => (body.contents as unknown[]).at(-1),
  },
};
const OFFERED_FORM = { OPENAI: 'function:get_weather', ANTHROPIC: 'input_schema:get_weather', GEMINI: 'declaration:get_weather' };

describe.each(KINDS)('%s', (kind) => {
  it('offers a tool and returns the call whole, with an id the client can send back', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind });
    const answer = await chat(token, { messages: ASK, tools: [WEATHER] });
    expect(answer.finishReason).toBe('tool_calls');
    expect(answer.content).toBe('');
    expect(answer.toolCalls).toEqual([{ id: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), name: 'get_weather', arguments: expect.any(String) }]);
    expect(JSON.parse(answer.toolCalls[0].arguments)).toEqual({ city: 'sample' });
    expect(WIRE[kind].toolNames(lastRequest(provider.key))).toEqual([OFFERED_FORM[kind]]);
  });

  it('streams a tool call as TOOL_CALL pieces that concatenate to its arguments, then answers its result', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind, script: 'chunk-size=5' });
    const { chunks, errors } = await streamOverWs(gw, token, { messages: ASK, tools: [WEATHER] });
    expect(errors).toBeUndefined();
    expect(chunks.at(-1)).toMatchObject({ type: 'DONE', finishReason: 'tool_calls' });
    const pieces = chunks.filter((c) => c.type === 'TOOL_CALL');
    // Gemini sends a call whole; the others in pieces.
    if (kind !== 'GEMINI') expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.slice(1).every((piece) => piece.toolCallId === null && piece.toolName === null)).toBe(true);
    const [call] = callsOf(chunks);
    expect(call.name).toBe('get_weather');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'sample' });

    const answer = await chat(token, {
      messages: [...ASK, { role: 'ASSISTANT', toolCalls: [call] }, { role: 'TOOL', toolCallId: call.id, content: 'sunny, 21 °C' }],
      tools: [WEATHER],
    });
    expect(answer.content.startsWith('Tool said: sunny')).toBe(true);
    expect(answer.toolCalls).toEqual([]);
    expect(JSON.stringify(WIRE[kind].lastMessage(lastRequest(provider.key)))).toContain('sunny, 21 °C');
  });

  it('gives a tool that takes nothing {} as its arguments, streamed and not', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind });
    const NOW = { name: 'now', parameters: { type: 'object', properties: {} } };
    const answer = await chat(token, { messages: ASK, tools: [NOW] });
    expect(answer.toolCalls).toEqual([{ id: expect.any(String), name: 'now', arguments: '{}' }]);
    const { chunks } = await streamOverWs(gw, token, { messages: ASK, tools: [NOW] });
    expect(callsOf(chunks)).toEqual([{ id: expect.any(String), name: 'now', arguments: '{}' }]);
  });

  it('returns two tool calls of one turn, with distinct ids', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind, script: 'parallel=2' });
    const answer = await chat(token, { messages: ASK, tools: [WEATHER, TIME] });
    expect(answer.toolCalls.map((call) => call.name)).toEqual(['get_weather', 'get_time']);
    expect(new Set(answer.toolCalls.map((call) => call.id)).size).toBe(2);
    const { chunks } = await streamOverWs(gw, token, { messages: ASK, tools: [WEATHER, TIME] });
    expect(callsOf(chunks).map((call) => [call.name, JSON.parse(call.arguments)])).toEqual([
      ['get_weather', { city: 'sample' }],
      ['get_time', { zone: 'UTC' }],
    ]);
  });

  it('sends an image part in the protocol’s form', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind, script: 'chunks=8' });
    const answer = await chat(token, {
      model: VISION_MODELS[kind],
      messages: [
        {
          role: 'USER',
          parts: [
            { type: 'TEXT', text: 'What is this?' },
            { type: 'IMAGE', imageUrl: PIXEL, detail: 'low' },
          ],
        },
      ],
    });
    expect(answer.content).toContain('(1 image)');
    const sent = JSON.stringify(WIRE[kind].lastMessage(lastRequest(provider.key)));
    const form = { OPENAI: '"image_url"', ANTHROPIC: '"media_type":"image/png"', GEMINI: '"inlineData"' }[kind];
    expect(sent).toContain(form);
    expect(sent).toContain(PIXEL.split(',')[1]);
  });

  it('answers JSON_SCHEMA output as JSON text that fits the schema', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind });
    const schema = { type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } }, required: ['city', 'celsius'] };
    const answer = await chat(token, { messages: ASK, responseFormat: { type: 'JSON_SCHEMA', name: 'weather', schema }, stop: ['END'], topP: 0.5 });
    expect(JSON.parse(answer.content)).toEqual({ city: 'sample', celsius: 1 });
    expect(answer.toolCalls).toEqual([]);
    const body = lastRequest(provider.key);
    const native = {
      OPENAI: () => expect(body).toMatchObject({ response_format: { type: 'json_schema', json_schema: { name: 'weather' } }, stop: ['END'], top_p: 0.5 }),
      ANTHROPIC: () => expect(body).toMatchObject({ tool_choice: { type: 'tool', name: 'weather' }, stop_sequences: ['END'], top_p: 0.5 }),
      GEMINI: () => expect(body).toMatchObject({ generationConfig: { responseMimeType: 'application/json', stopSequences: ['END'], topP: 0.5 } }),
    };
    native[kind]();
  });

  it('answers JSON_OBJECT as a JSON object, even when no message says "json" (OpenAI requires one to)', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind });
    const answer = await chat(token, { messages: ASK, responseFormat: { type: 'JSON_OBJECT' } });
    // Anthropic's answer tool takes any object ({} from the simulator); the others echo the question.
    expect(JSON.parse(answer.content)).toEqual(kind === 'ANTHROPIC' ? {} : { echo: 'What is the weather in Paris?' });
  });

  it('runs a three-step agent loop over graphql-ws, one ledger row per step', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind, script: 'tool-turns=2' });
    const tools = [WEATHER, TIME];
    const messages: ChatInputVars['messages'] = [...ASK];
    const usageEventIds: string[] = [];
    for (let step = 0; step < 5; step++) {
      const { chunks, errors } = await streamOverWs(gw, token, { messages, tools, agent: 'loop-agent' });
      expect(errors).toBeUndefined();
      usageEventIds.push(chunks.find((c) => c.type === 'USAGE')!.usageEventId!);
      const calls = callsOf(chunks);
      if (calls.length === 0) {
        expect(text(chunks)).toMatch(/^Tool said: /);
        break;
      }
      messages.push({ role: 'ASSISTANT', toolCalls: calls });
      for (const call of calls) messages.push({ role: 'TOOL', toolCallId: call.id, content: `${call.name} done` });
    }
    expect(usageEventIds).toHaveLength(3);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { id: { in: usageEventIds } } });
    expect(rows.map((row) => [row.status, row.agent, row.kind])).toEqual(usageEventIds.map(() => ['SUCCEEDED', 'loop-agent', kind]));
  });
});

describe('across protocols', () => {
  it('keeps a tool loop paired when a fallback on another protocol answers its result', async () => {
    const { token } = await newOwner(gw);
    const gemini = await addSimProvider(gw, sim, token, { kind: 'GEMINI', priority: 0 });
    const anthropic = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', priority: 1 });
    const step1 = await chat(token, { messages: ASK, tools: [WEATHER] });
    expect(step1.providerId).toBe(gemini.id);
    // Gemini gives its calls no id: this one is the gateway's, and must reach Anthropic on the call and its result.
    const [call] = step1.toolCalls;
    expect(call.id).toMatch(/^call_/);

    sim.setOutage('gemini', 503);
    try {
      const step2 = await chat(token, {
        messages: [...ASK, { role: 'ASSISTANT', toolCalls: [call] }, { role: 'TOOL', toolCallId: call.id, content: 'rain' }],
        tools: [WEATHER],
      });
      expect(step2).toMatchObject({ providerId: anthropic.id, fellBack: true });
      expect(step2.content.startsWith('Tool said: rain.')).toBe(true);
    } finally {
      sim.setOutage('gemini');
    }
    const blocks = (lastRequest(anthropic.key).messages as Array<{ content: Array<Record<string, unknown>> }>).flatMap((message) => message.content);
    const use = blocks.find((block) => block.type === 'tool_use')!;
    const result = blocks.find((block) => block.type === 'tool_result')!;
    expect([use.id, result.tool_use_id]).toEqual([call.id, call.id]);
  });

  it('puts the results of a turn in the order of its calls for Gemini, which pairs them by name and order', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind: 'GEMINI', script: 'parallel=2' });
    const [weather, time] = (await chat(token, { messages: ASK, tools: [WEATHER, TIME] })).toolCalls;
    const answer = await chat(token, {
      messages: [
        ...ASK,
        { role: 'ASSISTANT', toolCalls: [weather, time] },
        { role: 'TOOL', toolCallId: time.id, content: '12:00' },
        { role: 'TOOL', toolCallId: weather.id, content: 'hail' },
      ],
      tools: [WEATHER, TIME],
    });
    expect(answer.finishReason).toBe('stop');
    const last = WIRE.GEMINI.lastMessage(lastRequest(provider.key)) as { parts: Array<{ functionResponse: { name: string; response: unknown } }> };
    expect(last.parts.map((part) => [part.functionResponse.name, part.functionResponse.response])).toEqual([
      ['get_weather', { result: 'hail' }],
      ['get_time', { result: '12:00' }],
    ]);
  });

  it('refuses an image URL Gemini would need fetched from a private address, sending nothing to Gemini', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind: 'GEMINI' });
    const result = await gw.execute(Chat, { input: { messages: [{ role: 'USER', parts: [{ type: 'IMAGE', imageUrl: `https://127.0.0.1:1/cat.png` }] }] } }, { token });
    expect(result.errors?.[0]).toMatchObject({ message: expect.stringContaining('egress policy'), extensions: { code: 'BAD_USER_INPUT', field: 'messages' } });
    expect(sim.requests.filter((request) => request.key === provider.key && request.method === 'POST')).toEqual([]);
  });

  it('continues a session whose stored turn holds tool calls: only the TOOL message is sent again', async () => {
    const { token } = await newOwner(gw);
    await gw.execute(UpdatePreferences, { input: { storeConversationHistory: true } }, { token });
    const provider = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC' });
    const step1 = await chat(token, { messages: ASK, tools: [WEATHER] });
    const [call] = step1.toolCalls;
    const step2 = await chat(token, { sessionId: step1.sessionId, messages: [{ role: 'TOOL', toolCallId: call.id, content: 'fog' }], tools: [WEATHER] });
    expect(step2.content.startsWith('Tool said: fog.')).toBe(true);
    const sent = lastRequest(provider.key).messages as Array<{ role: string; content: unknown }>;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const stored = await gw.db.prisma.chatMessage.findMany({ where: { sessionId: step1.sessionId! }, orderBy: { seq: 'asc' } });
    expect(stored.map((m) => m.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    expect(stored[1].parts).toEqual([{ type: 'tool-call', call }]);
  });

  it('keeps image references, not image bytes, in a stored session', async () => {
    const { token } = await newOwner(gw);
    await gw.execute(UpdatePreferences, { input: { storeConversationHistory: true } }, { token });
    const provider = await addSimProvider(gw, sim, token, { kind: 'OPENAI' });
    const https = 'https://images.example/cat.png';
    const step1 = await chat(token, {
      messages: [
        {
          role: 'USER',
          parts: [
            { type: 'TEXT', text: 'Two images' },
            { type: 'IMAGE', imageUrl: PIXEL },
            { type: 'IMAGE', imageUrl: https },
          ],
        },
      ],
    });
    const stored = await gw.db.prisma.chatMessage.findFirstOrThrow({ where: { sessionId: step1.sessionId!, seq: 0 } });
    expect(JSON.stringify(stored.parts)).not.toContain(PIXEL.split(',')[1]);
    await chat(token, { sessionId: step1.sessionId, messages: [{ role: 'USER', content: 'And now?' }] });
    const replayed = JSON.stringify((lastRequest(provider.key).messages as unknown[])[0]);
    expect(replayed).toContain(https);
    expect(replayed).toContain('history keeps no image bytes');
  });
});

describe('capabilities', () => {
  it('refuses tools or images sent explicitly to a model the catalog says lacks them, naming the field', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const before = sim.requests.length;
    // The catalog lists chatgpt-4o-latest with vision but no tools, and o1-mini with tools but no vision.
    const tools = await gw.execute(Chat, { input: { providerId: provider.id, model: 'chatgpt-4o-latest', messages: ASK, tools: [WEATHER] } }, { token });
    expect(tools.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tools' });
    const image = [{ role: 'USER' as const, parts: [{ type: 'IMAGE' as const, imageUrl: PIXEL }] }];
    const vision = await gw.execute(Chat, { input: { model: 'o1-mini', messages: image } }, { token });
    expect(vision.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'messages' });
    // A model the catalog does not know passes through.
    expect((await gw.execute(Chat, { input: { model: 'llama3.1', messages: image } }, { token })).errors).toBeUndefined();
    expect(sim.requests.length).toBe(before + 1);
  });

  it('skips a preferred model that lacks vision, with the reason in resolveRoute, and falls back', async () => {
    const { token } = await newOwner(gw);
    // The catalog lists claude-3-5-haiku-latest (the kind's default model) without vision.
    const first = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', priority: 0 });
    const second = await addSimProvider(gw, sim, token, { priority: 1 });
    const route = await gw.execute(ResolveRoute, { needs: ['VISION'] }, { token });
    expect(route.data!.resolveRoute.candidates.map((c) => [c.providerId, c.usable, c.skippedBecause])).toEqual([
      [first.id, false, 'claude-3-5-haiku-latest cannot take images (per the model catalog)'],
      [second.id, true, null],
    ]);
    const answer = await chat(token, { messages: [{ role: 'USER', parts: [{ type: 'IMAGE', imageUrl: PIXEL }] }] });
    expect(answer.providerId).toBe(second.id);
  });
});
