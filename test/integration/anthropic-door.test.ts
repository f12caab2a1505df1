// The Anthropic Messages door, through @anthropic-ai/sdk pointed at the gateway: messages answered by a
// provider of either protocol, streamed tool_use blocks, the tool loop, errors in Anthropic's shape and
// statuses, and a client that leaves mid-stream. Every call is a ledger row.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider } from '../testkit/chat.js';
import { UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

/** The SDK as an agent would build it: the gateway's URL, the caller's credential as its key, no retries of its own. */
const client = (apiKey: string) => new Anthropic({ apiKey, baseURL: gw.url, maxRetries: 0 });
const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};
const ASK = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

describe.each(['OPENAI', 'ANTHROPIC'] as const)('answered by an %s provider', (kind) => {
  it('answers a message with usage and a ledger row', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind });
    const message = await client(token).messages.create({ model: 'auto', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello there, simulator' }] });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: expect.stringMatching(/^Echo: Hello there, simulator/) }],
    });
    expect(message.usage.output_tokens).toBe(12);
    expect(message.id).toMatch(/^msg_/);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { providerId: provider.id } });
    expect(rows.map((row) => [row.status, row.streamed, row.completionTokens])).toEqual([['SUCCEEDED', false, 12]]);
  });

  it('streams a tool_use block with input_json_delta pieces, then answers the tool result', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind, script: 'chunk-size=5' });
    const stream = client(token).messages.stream({ model: 'auto', max_tokens: 200, messages: ASK, tools: [WEATHER] });
    const names: string[] = [];
    stream.on('streamEvent', (event) => names.push(event.type));
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    const use = message.content.find((block) => block.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'sample' } });
    expect(names[0]).toBe('message_start');
    expect(names.filter((name) => name === 'content_block_delta').length).toBeGreaterThan(1);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);

    const answer = await client(token).messages.create({
      model: 'auto',
      max_tokens: 200,
      tools: [WEATHER],
      messages: [...ASK, { role: 'assistant', content: message.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(answer.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Tool said: sunny/) });
  });
});

describe('the door', () => {
  it('names a provider as <id>/<model>, and passes images and stop sequences through', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind: 'GEMINI' });
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const message = await client(token).messages.create({
      model: `${provider.id}/gemini-2.0-flash`,
      max_tokens: 200,
      stop_sequences: ['END'],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
          ],
        },
      ],
    });
    expect(message.model).toBe('gemini-2.0-flash');
    expect((message.content[0] as { text: string }).text).toContain('(1 image)');
    const sent = sim.requests.filter((request) => request.key === provider.key && request.method === 'POST').at(-1)!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ generationConfig: { stopSequences: ['END'] } });
    expect(JSON.stringify(sent.contents)).toContain(pixel);
  });

  it('answers errors in Anthropic’s shape and statuses', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    const failure = (promise: Promise<unknown>) => promise.then(() => null).catch((error: unknown) => error as InstanceType<typeof Anthropic.APIError>);

    const anonymous = await failure(client('not-a-token').messages.create({ model: 'auto', max_tokens: 10, messages: ASK }));
    expect(anonymous).toMatchObject({ status: 401, error: { type: 'error', error: { type: 'authentication_error' } } });
    const badTool = await failure(client(token).messages.create({ model: 'auto', max_tokens: 10, messages: ASK, tools: [{ ...WEATHER, name: 'bad name' }] }));
    expect(badTool).toMatchObject({
      status: 400,
      error: { type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/^tools\[0\]: name must match/) } },
    });
    const noMaxTokens = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto', messages: ASK }),
    });
    expect([noMaxTokens.status, await noMaxTokens.json()]).toEqual([
      400,
      { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: a whole number is required' } },
    ]);

    const tooLarge = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(gw.config.maxRequestBodyBytes) }] }),
    });
    expect([tooLarge.status, ((await tooLarge.json()) as { error: { type: string } }).error.type]).toEqual([413, 'request_too_large']);

    await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 5 } }, { token });
    const limited = await failure(client(token).messages.create({ model: 'auto', max_tokens: 10, messages: ASK }));
    expect(limited).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
  });

  it('answers 529 overloaded_error when every provider failed, and nothing of the upstream error', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { script: 'status=503' });
    const error = await client(token)
      .messages.create({ model: 'auto', max_tokens: 10, messages: ASK })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 529, error: { type: 'error', error: { type: 'overloaded_error' } } });
    expect(JSON.stringify(error)).not.toContain('Simulated');
  });

  it('ends the upstream call when the client leaves mid-stream: the row is CANCELLED', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: 'slow=100&chunks=40' });
    const stream = client(token).messages.stream({ model: 'auto', max_tokens: 500, messages: ASK });
    const ended = stream.done().catch((error: unknown) => error);
    await new Promise<void>((resolve) => stream.on('text', () => resolve()));
    stream.abort();
    expect(await ended).toBeInstanceOf(Anthropic.APIUserAbortError);
    const row = await eventually(async () => {
      const found = await gw.db.prisma.usageEvent.findFirst({ where: { providerId: provider.id } });
      return found?.status === 'CANCELLED' ? found : undefined;
    });
    expect(row.streamed).toBe(true);
    await eventually(() => sim.requests.find((request) => request.key === provider.key && request.method === 'POST')?.closedByClient || undefined);
  });

  it('counts an open stream against MAX_OPERATIONS_PER_USER, like a subscription: 429 past it', async () => {
    const capped = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', MAX_OPERATIONS_PER_USER: '1' });
    const { workspace, token } = await newOwner(capped);
    await addSimProvider(capped, sim, token, { script: 'slow=100&chunks=50' });
    const anthropic = new Anthropic({ apiKey: token, baseURL: capped.url, maxRetries: 0 });
    const first = anthropic.messages.stream({ model: 'auto', max_tokens: 500, messages: ASK });
    const ended = first.done().catch(() => undefined);
    await new Promise<void>((resolve) => first.on('text', () => resolve()));
    const refusal = await anthropic.messages.create({ model: 'auto', max_tokens: 10, messages: ASK, stream: true }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
    first.abort();
    await ended;
    // Once the first stream is over on the server (its row final, its quota given back), a stream is taken again.
    await eventually(async () => {
      const again = await anthropic.messages.create({ model: 'auto', max_tokens: 10, messages: ASK, stream: true }).catch(() => undefined);
      again?.controller.abort();
      return again;
    });
    // The aborted calls' after-call effects (finalize, then the usage tick over the bus) end before the servers close.
    await eventually(async () => ((await capped.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id, status: 'RESERVED' } })) === 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
});
