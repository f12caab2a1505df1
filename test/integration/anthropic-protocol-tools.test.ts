// The simulator speaks Anthropic's tools, tool results and images faithfully enough that the real SDK,
// pointed at it, reads tool_use blocks whole and streamed, and gets the real API's 400s for what it refuses.
import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, RawMessageStreamEvent, Tool, ToolUseBlock } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, IMAGE_TOKENS } from '../../src/simulator/model.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

const model = 'claude-sonnet-4-0';
const client = (apiKey = 'sk-ant-sim') => new Anthropic({ apiKey, baseURL: sim.baseUrls.anthropic, maxRetries: 0 });
const weather: Tool = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
};
const time: Tool = { name: 'get-time', input_schema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } };
const question: MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

async function refusal(promise: Promise<unknown>): Promise<InstanceType<typeof Anthropic.BadRequestError>> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Anthropic.BadRequestError);
  expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  return error as InstanceType<typeof Anthropic.BadRequestError>;
}

describe('tool calls', () => {
  it('answers a tool_use block with stop_reason tool_use, its input counted as output tokens', async () => {
    const reply = await client().messages.create({ model, max_tokens: 100, messages: question, tools: [weather] });
    expect(reply.stop_reason).toBe('tool_use');
    expect(reply.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_sim/), name: 'get_weather', input: { city: 'sample', days: 1 } }]);
    expect(reply.usage.output_tokens).toBe(countTokens(JSON.stringify({ city: 'sample', days: 1 })));
    expect(reply.usage.input_tokens).toBe(countTokens('What is the weather in Paris?'));
  });

  it('streams the input as input_json_delta pieces of about chunk-size characters that concatenate to the input', async () => {
    const stream = await client('sk-ant-sim#chunk-size=5').messages.create({ model, max_tokens: 100, messages: question, tools: [weather], stream: true });
    const events: RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1])).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events.find((e) => e.type === 'content_block_start');
    expect(start).toMatchObject({ index: 0, content_block: { type: 'tool_use', id: expect.stringMatching(/^toolu_sim/), name: 'get_weather', input: {} } });
    const pieces = events.flatMap((e) => (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta' ? [e.delta.partial_json] : []));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((piece) => piece.length <= 5)).toBe(true);
    expect(JSON.parse(pieces.join(''))).toEqual({ city: 'sample', days: 1 });
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: countTokens(pieces.join('')) } });
  });

  it("gives the SDK's finalMessage the streamed tool_use input", async () => {
    const final = await client('sk-ant-sim#chunk-size=3&reasoning=1')
      .messages.stream({ model, max_tokens: 100, messages: question, tools: [weather] })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.map((block) => block.type)).toEqual(['thinking', 'tool_use']);
    expect((final.content[1] as ToolUseBlock).input).toEqual({ city: 'sample', days: 1 });
  });

  it('makes two calls in one turn with parallel=2, whole and streamed', async () => {
    const reply = await client('sk-ant-sim#parallel=2').messages.create({ model, max_tokens: 100, messages: question, tools: [weather, time] });
    const calls = reply.content as ToolUseBlock[];
    expect(calls.map((call) => [call.name, call.input])).toEqual([
      ['get_weather', { city: 'sample', days: 1 }],
      ['get-time', { zone: 'UTC' }],
    ]);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);

    const final = await client('sk-ant-sim#parallel=2&chunk-size=4')
      .messages.stream({ model, max_tokens: 100, messages: question, tools: [weather, time] })
      .finalMessage();
    expect(final.content).toEqual(calls.map((call) => expect.objectContaining({ type: 'tool_use', id: call.id, name: call.name, input: call.input })));
  });

  it('follows tool_choice: none answers with text, a named tool is called, any calls even after the tool turns', async () => {
    const none = await client().messages.create({ model, max_tokens: 100, messages: question, tools: [weather, time], tool_choice: { type: 'none' } });
    expect(none).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: expect.stringMatching(/^Echo: What is the weather/) }] });
    const named = await client().messages.create({ model, max_tokens: 100, messages: question, tools: [weather, time], tool_choice: { type: 'tool', name: 'get-time' } });
    expect(named.content).toEqual([expect.objectContaining({ name: 'get-time' })]);
    const any = await client('sk-ant-sim#tool-turns=0').messages.create({ model, max_tokens: 100, messages: question, tools: [weather], tool_choice: { type: 'any' } });
    expect(any.stop_reason).toBe('tool_use');
    const auto = await client('sk-ant-sim#tool-turns=0').messages.create({ model, max_tokens: 100, messages: question, tools: [weather], tool_choice: { type: 'auto' } });
    expect(auto.stop_reason).toBe('end_turn');
  });

  it('accepts stop_sequences and top_p', async () => {
    const params = { model, max_tokens: 100, messages: question, stop_sequences: ['END'], top_p: 0.5 };
    await expect(client().messages.create(params)).resolves.toMatchObject({ type: 'message', stop_reason: 'end_turn' });
  });
});

describe('tool results', () => {
  async function calledTurn(): Promise<MessageParam[]> {
    const reply = await client().messages.create({ model, max_tokens: 100, messages: question, tools: [weather] });
    return [...question, { role: 'assistant', content: reply.content as ToolUseBlock[] }];
  }

  it('answers "Tool said: ..." with the result, given as a string or as text blocks, marked as an error or not', async () => {
    const history = await calledTurn();
    const id = ((history[1].content as ToolUseBlock[])[0] as ToolUseBlock).id;
    const asString = await client().messages.create({
      model,
      max_tokens: 100,
      tools: [weather],
      messages: [...history, { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '22 degrees and sunny' }] }],
    });
    expect(asString).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: expect.stringMatching(/^Tool said: 22 degrees and sunny\. /) }] });
    expect((asString.content[0] as { text: string }).text).toHaveLength(4 * 12);

    const asBlocks = await client().messages.create({
      model,
      max_tokens: 100,
      tools: [weather],
      messages: [...history, { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'no such city' }], is_error: true }] }],
    });
    expect(asBlocks.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Tool said: no such city\. /) });
  });

  it('refuses a tool_result whose tool_use_id no tool_use of the message before it has, as the real API does', async () => {
    const history = await calledTurn();
    const error = await refusal(
      client().messages.create({
        model,
        max_tokens: 100,
        messages: [...history, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_elsewhere', content: 'x' }] }],
      }),
    );
    expect(error.message).toContain('toolu_elsewhere');
    // A result with no tool_use before it at all.
    await refusal(client().messages.create({ model, max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'x' }] }] }));
  });

  it('refuses a tool_use left without its tool_result in the next message', async () => {
    const history = await calledTurn();
    const error = await refusal(client().messages.create({ model, max_tokens: 100, messages: [...history, { role: 'user', content: 'Never mind' }] }));
    expect(error.message).toContain('without `tool_result` blocks');
  });
});

describe('images and validation', () => {
  it('takes images as base64 and as a URL, and counts them in the input tokens', async () => {
    const text = 'Describe these';
    const reply = await client().messages.create({
      model,
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(reply.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Echo: Describe these \(2 images\)\. /) });
    expect(reply.usage.input_tokens).toBe(countTokens(text) + 2 * IMAGE_TOKENS);
  });

  it('refuses an image source that is neither an image in base64 nor an http(s) URL', async () => {
    const image = (source: Record<string, unknown>) => [{ role: 'user' as const, content: [{ type: 'image', source }] }] as never;
    await refusal(client().messages.create({ model, max_tokens: 100, messages: image({ type: 'base64', media_type: 'application/pdf', data: PNG }) }));
    await refusal(client().messages.create({ model, max_tokens: 100, messages: image({ type: 'url', url: 'ftp://example.com/cat.jpg' }) }));
    await refusal(client().messages.create({ model, max_tokens: 100, messages: image({ type: 'url', url: 'data:image/png;base64,AAAA' }) }));
  });

  it('refuses a tool name outside ^[a-zA-Z0-9_-]{1,64}$ and an unknown tool_choice', async () => {
    const error = await refusal(client().messages.create({ model, max_tokens: 100, messages: question, tools: [{ ...weather, name: 'get weather' }] }));
    expect(error.message).toContain('tools.0');
    await refusal(client().messages.create({ model, max_tokens: 100, messages: question, tools: [{ ...weather, name: 'x'.repeat(65) }] }));
    await refusal(client().messages.create({ model, max_tokens: 100, messages: question, tools: [weather], tool_choice: { type: 'required' } as never }));
  });

  it('takes system as text blocks, counted like the same string', async () => {
    const asString = await client().messages.create({ model, max_tokens: 100, system: 'Be brief. Be kind.', messages: question });
    const asBlocks = await client().messages.create({
      model,
      max_tokens: 100,
      system: [
        { type: 'text', text: 'Be brief. ' },
        { type: 'text', text: 'Be kind.' },
      ],
      messages: question,
    });
    expect(asBlocks.usage.input_tokens).toBe(asString.usage.input_tokens);
  });

  it('has no embeddings route (Anthropic offers none)', async () => {
    const response = await fetch(`${sim.baseUrls.anthropic}/v1/embeddings`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-sim', 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: 'hi' }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});
