// Connecting an OpenRouter key makes the gateway read OpenRouter's priced model
// list (from OPENROUTER_CATALOG_URL, without the key), store it for every
// instance, and price OpenRouter calls with it.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_MODELS } from '../../src/simulator/models.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider, Chat, Models } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
  gw = await startTestServer({ OPENROUTER_CATALOG_URL: sim.baseUrls.openrouter });
});
afterAll(disposeAll);

const WEATHER = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

describe('OpenRouter prices', () => {
  it('are read after an OpenRouter key is added, without sending it, stored, and loaded by another instance', async () => {
    const { token } = await newOwner(gw);
    const key = `sk-or-${randomUUID()}`;
    const added = await gw.execute(AddProvider, { input: { kind: 'OPENROUTER', apiKey: key, baseUrl: sim.baseUrls.openrouter } }, { token });
    expect(added.errors).toBeUndefined();
    const refreshed = await gw.app.services.openRouterSync.settled();
    expect(refreshed, gw.logs.filter((l) => l.includes('OpenRouter')).join('\n')).toBe(SIM_MODELS.openrouter.length);

    const listed = await gw.execute(Models, { kind: 'OPENROUTER', search: 'llama 3.1 8b', first: 10 }, { token });
    const node = listed.data!.models.edges[0].node;
    expect(node).toMatchObject({
      id: 'OPENROUTER:meta-llama/llama-3.1-8b-instruct',
      displayName: 'Meta: Llama 3.1 8B Instruct',
      inputUsdPerMTok: 0.02,
      outputUsdPerMTok: 0.05,
      contextWindow: 131072,
    });
    expect(node.priceVersion).toMatch(/^openrouter:20\d\d-/);
    // The public list was read without any credential.
    const listReads = sim.requests.filter((r) => r.protocol === 'openrouter' && r.path.endsWith('/models') && r.method === 'GET' && !r.key);
    expect(listReads.length).toBeGreaterThanOrEqual(1);

    const stored = await gw.db.sql.query<{ n: bigint }>(`SELECT count(*) AS n FROM catalog_models WHERE kind = 'OPENROUTER'`);
    expect(Number(stored[0].n)).toBe(SIM_MODELS.openrouter.length);
    const other = await startTestServer({}, { db: gw.db });
    const seenThere = await other.execute(
      Models,
      { kind: 'OPENROUTER', search: 'llama 3.1 8b', first: 1 },
      { token: await other.token({ workspace: 'ws-other', user: 'u', role: 'member' }) },
    );
    expect(seenThere.data!.models.edges[0].node.priceVersion).toBe(node.priceVersion);
  });

  it('carry what the list says each model can do: a model the shipped catalog does not know takes tools when OpenRouter says so, and is refused them when it says not', async () => {
    const { token } = await newOwner(gw);
    const added = await gw.execute(AddProvider, { input: { kind: 'OPENROUTER', apiKey: `sk-or-${randomUUID()}`, baseUrl: sim.baseUrls.openrouter } }, { token });
    expect(added.errors).toBeUndefined();
    await gw.app.services.openRouterSync.settled();
    const capabilities = async (server: TestServer, search: string) =>
      (await server.execute(Models, { kind: 'OPENROUTER', search, first: 1 }, { token: await server.token({ workspace: 'ws-caps', user: 'u', role: 'member' }) })).data!.models
        .edges[0].node.capabilities;
    expect(await capabilities(gw, 'mistral small 3.1')).toEqual(['streaming', 'tools', 'json']);
    expect(await capabilities(gw, 'mythomax')).toEqual(['streaming']);
    expect(await capabilities(gw, 'gpt 4o mini')).toEqual(['streaming', 'vision', 'tools', 'json']);

    const providerId = added.data!.addProvider.id;
    const withTools = (model: string) => ({ providerId, model, messages: [{ role: 'USER' as const, content: 'What is the weather in Paris?' }], tools: [WEATHER] });
    const answered = await gw.execute(Chat, { input: withTools('mistralai/mistral-small-3.1-24b-instruct') }, { token });
    expect(answered.errors).toBeUndefined();
    const refused = await gw.execute(Chat, { input: withTools('gryphe/mythomax-l2-13b') }, { token });
    expect(refused.errors?.[0]).toMatchObject({
      message: 'gryphe/mythomax-l2-13b cannot take tools (per the model catalog): choose a model that can',
      extensions: { code: 'BAD_USER_INPUT', field: 'tools' },
    });

    // Stored with the prices: another instance reads the same.
    const other = await startTestServer({}, { db: gw.db });
    expect(await capabilities(other, 'mistral small 3.1')).toEqual(['streaming', 'tools', 'json']);

    // A row stored before the list's capabilities were read says nothing: an instance that loads it refuses the model nothing.
    await gw.db.sql.query(`UPDATE catalog_models SET capabilities = NULL WHERE kind = 'OPENROUTER' AND model = 'gryphe/mythomax-l2-13b'`);
    const loaded = await startTestServer({}, { db: gw.db });
    expect(await capabilities(loaded, 'mythomax')).toEqual([]);
    const unknown = await loaded.execute(Chat, { input: withTools('gryphe/mythomax-l2-13b') }, { token });
    expect(unknown.errors).toBeUndefined();
  });

  it('reach the OpenAI door: the openai SDK naming a synced model that takes tools gets its tool call, one that does not is refused naming tools', async () => {
    const { token } = await newOwner(gw);
    const added = await gw.execute(AddProvider, { input: { kind: 'OPENROUTER', apiKey: `sk-or-${randomUUID()}`, baseUrl: sim.baseUrls.openrouter } }, { token });
    expect(added.errors).toBeUndefined();
    await gw.app.services.openRouterSync.settled();
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: token, maxRetries: 0 });
    const tools = [{ type: 'function' as const, function: WEATHER }];
    const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

    const answer = await openai.chat.completions.create({ model: 'mistralai/mistral-small-3.1-24b-instruct', messages, tools });
    expect(answer.choices[0].finish_reason).toBe('tool_calls');
    expect(answer.choices[0].message.tool_calls?.map((call) => call.type === 'function' && call.function.name)).toEqual(['get_weather']);

    const refused = await openai.chat.completions.create({ model: 'gryphe/mythomax-l2-13b', messages, tools }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, param: 'tools', message: expect.stringContaining('gryphe/mythomax-l2-13b cannot take tools (per the model catalog)') });
  });

  it('keep the shipped prices when the list cannot be read, and say so in the log without the key', async () => {
    const broken = await startTestServer({ OPENROUTER_CATALOG_URL: `${sim.url}/nowhere` });
    const { token } = await newOwner(broken);
    const priceVersion = async () => (await broken.execute(Models, { kind: 'OPENROUTER', search: 'gpt 4o mini', first: 1 }, { token })).data!.models.edges[0].node.priceVersion;
    const before = await priceVersion();
    const key = `sk-or-${randomUUID()}`;
    expect((await broken.execute(AddProvider, { input: { kind: 'OPENROUTER', apiKey: key, baseUrl: sim.baseUrls.openrouter } }, { token })).errors).toBeUndefined();
    expect(await broken.app.services.openRouterSync.settled()).toBe(0);
    expect(await priceVersion()).toBe(before);
    const warning = broken.logs.find((line) => line.includes('OpenRouter prices not refreshed'));
    expect(warning).toMatch(/OpenRouter model list answered 40\d/);
    for (const line of broken.logs) expect(line).not.toContain(key.slice(6, 20));
  });
});
