// The simulator's OpenAI-compatible protocol, as the real `openai` SDK sees it: tool calls (whole,
// streamed, parallel), tool results, the 400s the real API gives, JSON output and embeddings.
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, embeddingOf } from '../../src/simulator/model.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

const client = (apiKey = 'sk-sim') => new OpenAI({ apiKey, baseURL: sim.baseUrls.openai, maxRetries: 0 });
const model = 'gpt-4o-mini';
const question: ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

const weather: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
  },
};
const time: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } },
};

async function chunksOf(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('tool calls', () => {
  it('calls a tool in a whole answer, with content null and the arguments counted as completion', async () => {
    const reply = await client().chat.completions.create({ model, messages: question, tools: [weather] });
    const [choice] = reply.choices;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0];
    expect(call).toMatchObject({ id: expect.stringMatching(/^call_sim/), type: 'function', function: { name: 'get_weather' } });
    const { arguments: args } = (call as { function: { arguments: string } }).function;
    expect(JSON.parse(args)).toEqual({ city: 'sample', days: 1 });
    expect(reply.usage).toMatchObject({ completion_tokens: countTokens(args), prompt_tokens: countTokens('What is the weather in Paris?') });
  });

  it('streams a call as a first piece with id and name, then argument pieces that concatenate to JSON, then tool_calls and usage', async () => {
    const stream = await client('sk-sim#chunk-size=5').chat.completions.create({
      model,
      messages: question,
      tools: [weather],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await chunksOf(stream);
    const pieces = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(pieces[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_sim/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(pieces.length).toBeGreaterThan(3);
    for (const piece of pieces.slice(1)) {
      expect(piece.id).toBeUndefined();
      expect(piece.function?.name).toBeUndefined();
      expect(piece.function?.arguments?.length).toBeLessThanOrEqual(5);
    }
    const args = pieces.map((piece) => piece.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: 'sample', days: 1 });
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: countTokens(args) } });
  });

  it("makes two parallel calls with parallel=2, which the SDK's stream helper assembles", async () => {
    const stream = client('sk-sim#parallel=2&chunk-size=4').chat.completions.stream({ model, messages: question, tools: [weather, time] });
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0].message.tool_calls!.map((call) => call as { id: string; function: { name: string; arguments: string } });
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(calls.map((call) => call.function.name)).toEqual(['get_weather', 'get_time']);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    expect(calls.map((call) => JSON.parse(call.function.arguments))).toEqual([{ city: 'sample', days: 1 }, { zone: 'UTC' }]);

    const whole = await client('sk-sim#parallel=2').chat.completions.create({ model, messages: question, tools: [weather, time] });
    expect(whole.choices[0].message.tool_calls).toHaveLength(2);
  });

  it('calls the tool a named tool choice names, and none when the choice is "none"', async () => {
    const named = await client().chat.completions.create({ model, messages: question, tools: [weather, time], tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect(named.choices[0].message.tool_calls?.map((call) => (call as { function: { name: string } }).function.name)).toEqual(['get_time']);
    const none = await client().chat.completions.create({ model, messages: question, tools: [weather], tool_choice: 'none' });
    expect(none.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.stringMatching(/^Echo: /) } });
  });

  it('answers a tool result with "Tool said: …", streamed or not', async () => {
    const first = await client().chat.completions.create({ model, messages: question, tools: [weather] });
    const call = first.choices[0].message.tool_calls![0];
    const messages: ChatCompletionMessageParam[] = [
      ...question,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 degrees' },
    ];
    const reply = await client().chat.completions.create({ model, messages, tools: [weather] });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.choices[0].message.content).toMatch(/^Tool said: Sunny, 21 degrees\. /);
    expect(reply.choices[0].message.content).toHaveLength(48);

    const stream = await client('sk-sim#chunks=3&chunk-size=10').chat.completions.create({ model, messages, tools: [weather], stream: true });
    const text = (await chunksOf(stream)).map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Tool said: Sunny, 21 degrees. ');
  });

  it('takes an assistant message with text besides its calls, and a tool result as text parts', async () => {
    const messages: ChatCompletionMessageParam[] = [
      ...question,
      { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_abc', content: [{ type: 'text', text: 'Rain' }] },
    ];
    const reply = await client().chat.completions.create({ model, messages });
    expect(reply.choices[0].message.content).toMatch(/^Tool said: Rain\. /);
  });
});

describe("refusals in OpenAI's shape", () => {
  const refusal = (messages: ChatCompletionMessageParam[], tools: ChatCompletionTool[] = [weather]) =>
    client()
      .chat.completions.create({ model, messages, tools })
      .catch((error: unknown) => error);

  it('refuses a tool result whose tool_call_id matches no earlier call', async () => {
    const error = await refusal([
      ...question,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_real', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_other', content: 'Sunny' },
    ]);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages.[2].tool_call_id' });
    expect(String(error)).toContain("'call_other' not found");
  });

  it('refuses a tool call id longer than 40 characters, as OpenAI does', async () => {
    const id = `call_${'x'.repeat(60)}`;
    const error = await refusal([
      ...question,
      { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: id, content: 'Sunny' },
    ]);
    expect(error).toMatchObject({ status: 400, param: 'messages[1].tool_calls[0].id' });
    expect(String(error)).toContain('maximum length 40');
  });

  it('refuses an image URL that is neither https nor a base64 data URL of an image', async () => {
    for (const url of ['http://example.com/cat.png', 'data:text/plain;base64,aGk=', 'file:///etc/passwd']) {
      const error = await refusal([{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }]);
      expect(error).toMatchObject({ status: 400, param: 'messages[0].content[0].image_url.url' });
    }
    const fine = await client().chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Two pictures' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(fine.choices[0].message.content).toMatch(/^Echo: Two pictures \(2 images\)/);
    expect(fine.usage?.prompt_tokens).toBe(countTokens('Two pictures') + 2 * 85);
  });

  it('refuses a tool name outside ^[a-zA-Z0-9_-]{1,64}$', async () => {
    for (const name of ['get weather', 'a'.repeat(65), 'dotted.name', '']) {
      const error = await refusal(question, [{ type: 'function', function: { name, parameters: { type: 'object' } } }]);
      expect(error).toMatchObject({ status: 400, param: 'tools[0].function.name' });
    }
  });
});

describe('JSON output', () => {
  it('answers a json_schema response format with JSON that fits the schema, streamed or not', async () => {
    const response_format = {
      type: 'json_schema' as const,
      json_schema: {
        name: 'review',
        strict: true,
        schema: { type: 'object', properties: { title: { type: 'string' }, score: { type: 'number' }, tags: { type: 'array', items: { type: 'string' } } } },
      },
    };
    const reply = await client().chat.completions.create({ model, messages: question, response_format });
    expect(JSON.parse(reply.choices[0].message.content!)).toEqual({ title: 'sample', score: 1, tags: ['sample'] });

    const stream = await client('sk-sim#chunk-size=7').chat.completions.create({ model, messages: question, response_format, stream: true });
    const text = (await chunksOf(stream)).map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(JSON.parse(text)).toEqual({ title: 'sample', score: 1, tags: ['sample'] });
  });

  it('answers json_object with a JSON object, and refuses it, as OpenAI does, when no message says "json"', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: 'Answer in JSON.' }, ...question];
    const reply = await client().chat.completions.create({ model, messages, response_format: { type: 'json_object' } });
    expect(JSON.parse(reply.choices[0].message.content!)).toEqual({ echo: 'What is the weather in Paris?' });
    const refused = await client()
      .chat.completions.create({ model, messages: question, response_format: { type: 'json_object' } })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 400, param: 'messages' });
  });
});

describe('embeddings', () => {
  const close = (actual: number[], expected: number[]) => {
    expect(actual).toHaveLength(expected.length);
    for (const [i, value] of expected.entries()) expect(actual[i]).toBeCloseTo(value, 6);
  };

  it("answers the SDK's default (base64 float32) and float alike", async () => {
    const decoded = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
    close(decoded.data[0].embedding, embeddingOf('hello world', 8));
    expect(decoded).toMatchObject({ object: 'list', model: 'text-embedding-3-small', usage: { prompt_tokens: 3, total_tokens: 3 } });
    expect(sim.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });

    const float = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'float' });
    expect(float.data[0]).toEqual({ object: 'embedding', index: 0, embedding: embeddingOf('hello world', 8) });
  });

  it('honours dimensions and keeps a batch in order', async () => {
    const inputs = ['first text', 'second text', 'third'];
    const reply = await client().embeddings.create({ model: 'text-embedding-3-large', input: inputs, dimensions: 20, encoding_format: 'float' });
    expect(reply.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(reply.data.map((item) => item.embedding)).toEqual(inputs.map((input) => embeddingOf(input, 20)));
    expect(reply.usage.prompt_tokens).toBe(inputs.reduce((sum, input) => sum + countTokens(input), 0));
  });

  it('refuses a model that does not embed with 404, and dimensions on ada-002 or an empty input with 400', async () => {
    await expect(client().embeddings.create({ model: 'gpt-4o-mini', input: 'hi' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client().embeddings.create({ model: 'text-embedding-ada-002', input: 'hi', dimensions: 4 })).rejects.toMatchObject({ status: 400, param: 'dimensions' });
    await expect(client().embeddings.create({ model: 'text-embedding-3-small', input: [] })).rejects.toMatchObject({ status: 400, param: 'input' });
  });

  it('lists the embedding models with the chat models', async () => {
    const ids: string[] = [];
    for await (const listed of client().models.list()) ids.push(listed.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'text-embedding-3-small', 'text-embedding-ada-002']));
  });
});
