// The OpenAI-compatible door through clients written against OpenAI, not against this gateway: the Vercel AI
// SDK (a whole tool loop with generateText, and streamText) and LangChain's ChatOpenAI with bound tools.
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider } from '../testkit/chat.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const rows = (workspaceId: string) => gw.db.prisma.usageEvent.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } });

async function owner(kind: 'OPENAI' | 'GEMINI' = 'OPENAI') {
  const { workspace, token } = await newOwner(gw);
  await addSimProvider(gw, sim, token, { kind });
  return { workspace, token };
}

describe('the Vercel AI SDK', () => {
  it.each(['OPENAI', 'GEMINI'] as const)('runs a tool loop to an answer with generateText (a %s provider), one ledger row per step', async (kind) => {
    const { workspace, token } = await owner(kind);
    const gateway = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: token });
    const calls: string[] = [];
    const result = await generateText({
      model: gateway.chat('auto'),
      prompt: 'What is the weather in Paris?',
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          execute: async ({ city }) => {
            calls.push(city);
            return `Sunny in ${city}`;
          },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(calls).toEqual(['sample']);
    expect(result.steps.map((step) => step.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(result.text).toMatch(/^Tool said: /);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect((await rows(workspace.id)).map((row) => [row.kind, row.status])).toEqual([
      [kind, 'SUCCEEDED'],
      [kind, 'SUCCEEDED'],
    ]);
  });

  it('streams text with streamText', async () => {
    const { workspace, token } = await owner();
    const gateway = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: token });
    const result = streamText({ model: gateway.chat('gpt-4o-mini'), prompt: 'Hello' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toMatch(/^Echo: Hello/);
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    expect(await rows(workspace.id)).toEqual([expect.objectContaining({ status: 'SUCCEEDED', streamed: true })]);
  });
});

describe('LangChain', () => {
  it('ChatOpenAI with bindTools gets a tool call, then an answer to its result', async () => {
    const { workspace, token } = await owner();
    const model = new ChatOpenAI({ model: 'auto', apiKey: token, configuration: { baseURL: `${gw.url}/v1` }, maxRetries: 0 });
    const withTools = model.bindTools([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ]);
    const question = { role: 'user', content: 'What is the weather in Paris?' };
    const called = await withTools.invoke([question]);
    expect(called.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'sample' } })]);
    const answered = await withTools.invoke([question, called, { role: 'tool', content: 'Sunny', tool_call_id: called.tool_calls![0].id! }]);
    expect(answered.content).toMatch(/^Tool said: Sunny/);
    expect((await rows(workspace.id)).map((row) => row.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });
});
