// The simulator must speak each protocol faithfully enough that the real SDKs,
// pointed at it, parse replies, streams (comments, usage, thinking) and errors.
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenerativeAI } from '@google/generative-ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { disposeAll, eventually, startSimulator } from '../testkit/server.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(disposeAll);

const messages = [{ role: 'user' as const, content: 'Say hello to the simulator' }];

describe('OpenAI-compatible', () => {
  const client = (apiKey = 'sk-sim') => new OpenAI({ apiKey, baseURL: sim.baseUrls.openai, maxRetries: 0 });

  it('answers every request with the outage status while one is set, and normally after', async () => {
    sim.setOutage('openai', 503);
    await expect(client().chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toMatchObject({ status: 503 });
    await expect(client().models.list()).rejects.toMatchObject({ status: 503 });
    // Only that protocol's base URL is down.
    const claude = new Anthropic({ apiKey: 'sk-ant-sim', baseURL: sim.baseUrls.anthropic, maxRetries: 0 });
    await expect(claude.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 50, messages })).resolves.toMatchObject({ type: 'message' });
    sim.setOutage('openai');
    await expect(client().chat.completions.create({ model: 'gpt-4o-mini', messages })).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('answers a chat with usage', async () => {
    const reply = await client().chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(reply.choices[0].message.content).toMatch(/^Echo: Say hello/);
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 12, total_tokens: 19 });
  });

  it('streams deltas, skips comment lines, and sends usage last when asked', async () => {
    const stream = await client('sk-sim#chunks=5&chunk-size=6&reasoning=1').chat.completions.create({
      model: 'deepseek-reasoner',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let thinking = '';
    let usage;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      text += delta?.content ?? '';
      thinking += delta?.reasoning_content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toHaveLength(30);
    expect(thinking).toContain('Considering');
    expect(usage).toMatchObject({ prompt_tokens: 7, completion_tokens_details: { reasoning_tokens: 12 } });
  });

  it('maps a scripted 429 to the SDK error with retry-after', async () => {
    const error = await client('sk-sim#status=429&retry-after=2')
      .chat.completions.create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('2');
  });

  it('records that an aborted stream was closed by the client', async () => {
    const controller = new AbortController();
    const key = `sk-abort-${Date.now()}#slow=100&chunks=50`;
    const stream = await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { signal: controller.signal });
    for await (const _chunk of stream) {
      controller.abort();
      break;
    }
    const request = await eventually(() => sim.requests.find((r) => r.key === key && r.closedByClient));
    expect(request.completed).toBe(false);
  });
});

describe('Anthropic', () => {
  const client = (apiKey = 'sk-ant-sim') => new Anthropic({ apiKey, baseURL: sim.baseUrls.anthropic, maxRetries: 0 });

  it('answers a message with usage, taking system at the top level', async () => {
    const reply = await client().messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, system: 'Be brief.', messages });
    expect(reply.content[0]).toMatchObject({ type: 'text' });
    expect(reply.usage).toMatchObject({ input_tokens: 9, output_tokens: 12 });
  });

  it('streams named events with thinking, text and final usage', async () => {
    const stream = client('sk-ant-sim#reasoning=1').messages.stream({ model: 'claude-sonnet-4-0', max_tokens: 100, messages });
    let thinking = '';
    stream.on('thinking', (delta) => (thinking += delta));
    const final = await stream.finalMessage();
    expect(thinking).toContain('Drafting');
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(10);
  });

  it('delivers an in-band error event as an SDK error mid-stream', async () => {
    const stream = client('sk-ant-sim#midstream=error&chunks=6').messages.stream({ model: 'claude-sonnet-4-0', max_tokens: 100, messages });
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(String(error)).toContain('overloaded_error');
  });

  it('refuses a missing max_tokens with 400 like the real API', async () => {
    const error = await client()
      .messages.create({ model: 'claude-sonnet-4-0', messages } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('Gemini', () => {
  const model = (key = 'AIza-sim', name = 'gemini-2.0-flash') =>
    new GoogleGenerativeAI(key).getGenerativeModel({ model: name, systemInstruction: 'Be brief.' }, { baseUrl: sim.baseUrls.gemini });

  it('answers generateContent with usageMetadata', async () => {
    const result = await model().generateContent({ contents: [{ role: 'user', parts: [{ text: 'Say hello to the simulator' }] }] });
    expect(result.response.text()).toMatch(/^Echo: Say hello/);
    expect(result.response.usageMetadata).toMatchObject({ promptTokenCount: 9, candidatesTokenCount: 12, totalTokenCount: 21 });
  });

  it('streams with alt=sse and complete usage on the last chunk', async () => {
    const result = await model('AIza-sim#chunks=3&chunk-size=10').generateContentStream({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    let text = '';
    for await (const chunk of result.stream) text += chunk.text();
    expect(text).toHaveLength(30);
    expect((await result.response).usageMetadata?.candidatesTokenCount).toBe(8);
  });

  it('answers a bad key with 400 API_KEY_INVALID, as Gemini does', async () => {
    const error = await model('AIza-sim#status=401')
      .generateContent('hi')
      .catch((e: unknown) => e);
    expect(String(error)).toContain('API key not valid');
    expect(String(error)).toContain('400');
  });
});
