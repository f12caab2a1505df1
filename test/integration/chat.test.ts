import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, MODELS, streamOverWs, text, types, userMessage } from '../testkit/chat.js';
import { Chat, ProviderById, ProviderUsage } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const owner = () => newOwner(gw);

/** What the simulator answers for a 48-character reply to "Hello there, simulator" (system "Be brief."). */
const EXPECTED_TEXT = 'Echo: Hello there, simulator. lorem ipsum dolor ';
const SYSTEM_AND_USER = [{ role: 'SYSTEM' as const, content: 'Be brief.' }, ...userMessage()];
// The simulator counts ~4 characters a token over what it received: 9 + 22 characters of prompt.
const EXPECTED_TOKENS = { promptTokens: 8, cachedPromptTokens: 0, completionTokens: 12, reasoningTokens: 0, totalTokens: 20, usageSource: 'PROVIDER' };
// 8 prompt and 12 completion tokens at the catalog's prices (USD per 1M tokens), rounded to the micro-dollar:
// gpt-4o-mini 0.15/0.60 → 8.4 µ$; claude-3-5-haiku-latest 0.80/4.00 → 54.4 µ$; gemini-2.0-flash 0.10/0.40 → 5.6 µ$.
const EXPECTED_COST_MICROS = { OPENAI: 8n, ANTHROPIC: 54n, GEMINI: 6n };
const expectedUsage = (kind: keyof typeof EXPECTED_COST_MICROS) => ({ ...EXPECTED_TOKENS, costUsd: Number(EXPECTED_COST_MICROS[kind]) / 1e6 });

describe.each(['OPENAI', 'ANTHROPIC', 'GEMINI'] as const)('%s chat', (kind) => {
  it("streams START, TEXT..., USAGE, DONE over graphql-ws with the provider's counts and a finalized ledger row", async () => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { kind });
    const { chunks, errors } = await streamOverWs(gw, token, { messages: SYSTEM_AND_USER, operation: 'test-op' });
    expect(errors).toBeUndefined();
    expect(types(chunks)).toEqual(['START', 'TEXT', 'USAGE', 'DONE']);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(chunks[0]).toMatchObject({ providerId: provider.id, kind, model: MODELS[kind] });
    expect(text(chunks)).toBe(EXPECTED_TEXT);
    const usage = chunks.find((c) => c.type === 'USAGE')!;
    expect(usage.usage).toEqual(expectedUsage(kind));
    expect(chunks.filter((c) => c.type === 'TEXT').at(-1)?.tokensSoFar).toBe(12);

    const row = await gw.db.prisma.usageEvent.findUniqueOrThrow({ where: { id: usage.usageEventId! } });
    expect(row).toMatchObject({
      workspaceId: workspace.id,
      providerId: provider.id,
      kind,
      model: MODELS[kind],
      operation: 'test-op',
      status: 'SUCCEEDED',
      streamed: true,
      promptTokens: 8,
      completionTokens: 12,
      totalTokens: 20,
      usageSource: 'PROVIDER',
      errorCode: null,
      sessionId: chunks[0].sessionId,
      costMicros: EXPECTED_COST_MICROS[kind],
      priceVersion: '2026-11-25',
      priceFallback: false,
    });
    expect(row.ttftMs).not.toBeNull();
    expect(row.durationMs).toBeGreaterThanOrEqual(row.ttftMs!);
    // The key went to this protocol's simulator, and nowhere else.
    expect(new Set(sim.requests.filter((r) => r.key === provider.key).map((r) => r.protocol))).toEqual(new Set([kind === 'OPENAI' ? 'openai' : kind.toLowerCase()]));
  });

  it('answers the non-streamed chat mutation the same way', async () => {
    const { token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { kind });
    const result = await gw.execute(Chat, { input: { messages: SYSTEM_AND_USER } }, { token });
    expect(result.errors).toBeUndefined();
    expect(result.data?.chat).toMatchObject({ content: EXPECTED_TEXT, providerId: provider.id, kind, model: MODELS[kind], fellBack: false, usage: expectedUsage(kind) });
    const row = await gw.db.prisma.usageEvent.findUniqueOrThrow({ where: { id: result.data!.chat.usageEventId } });
    expect(row).toMatchObject({ status: 'SUCCEEDED', streamed: false, totalTokens: 20, usageSource: 'PROVIDER' });
    const sent = sim.requests.find((r) => r.key === provider.key && r.method === 'POST')!;
    expect(JSON.stringify(sent.body)).not.toContain('"stream":true');
  });
});

describe('protocol details', () => {
  it('passes thinking through as THINKING chunks and counts reasoning tokens', async () => {
    const { token } = await owner();
    await addSimProvider(gw, sim, token, { kind: 'OPENAI', script: 'reasoning=1' });
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage(), model: 'deepseek-reasoner' });
    expect(types(chunks).slice(0, 3)).toEqual(['START', 'THINKING', 'THINKING']);
    expect(chunks.find((c) => c.type === 'USAGE')?.usage?.reasoningTokens).toBe(12);
  });

  it('sends Anthropic system text top level and max_tokens, and Gemini the model role', async () => {
    const { token } = await owner();
    const anthropic = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC' });
    const history = [...SYSTEM_AND_USER, { role: 'ASSISTANT' as const, content: 'Hi.' }, { role: 'USER' as const, content: 'Again' }];
    await streamOverWs(gw, token, { messages: history, providerId: anthropic.id });
    const anthropicBody = sim.requests.find((r) => r.key === anthropic.key && r.method === 'POST')!.body as Record<string, unknown>;
    expect(anthropicBody).toMatchObject({ system: 'Be brief.', max_tokens: 4096, messages: [{ role: 'user' }, { role: 'assistant' }, { role: 'user' }] });

    const gemini = await addSimProvider(gw, sim, token, { kind: 'GEMINI' });
    await streamOverWs(gw, token, { messages: history, providerId: gemini.id, maxTokens: 64 });
    const geminiBody = sim.requests.find((r) => r.key === gemini.key && r.method === 'POST')!.body as Record<string, unknown>;
    expect(geminiBody).toMatchObject({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user' }, { role: 'model' }, { role: 'user' }],
      generationConfig: { maxOutputTokens: 64 },
    });
  });

  it('estimates usage when a complete stream reports none, and says so', async () => {
    const { token } = await owner();
    await addSimProvider(gw, sim, token, { kind: 'OPENAI', script: 'usage=none' });
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage() });
    const usage = chunks.find((c) => c.type === 'USAGE')!;
    expect(usage.usage).toMatchObject({ usageSource: 'ESTIMATED', completionTokens: 12 });
    const row = await gw.db.prisma.usageEvent.findUniqueOrThrow({ where: { id: usage.usageEventId! } });
    expect(row.usageSource).toBe('ESTIMATED');
  });
});

describe('counters', () => {
  it("move with every finalized call: the provider's tokensUsedToday equals its ledger rows' tokens", async () => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token);
    await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    await streamOverWs(gw, token, { messages: SYSTEM_AND_USER });
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id } });
    const total = rows.reduce((sum, row) => sum + row.totalTokens, 0);
    expect(rows).toHaveLength(2);
    const listed = await gw.execute(ProviderById, { id: provider.id }, { token });
    expect(listed.errors).toBeUndefined();
    const counters = await gw.db.prisma.usageCounter.findMany({ where: { workspaceId: workspace.id } });
    expect(counters.map((c) => [c.scope.split(':')[0], Number(c.tokens), c.requests]).sort()).toEqual([
      ['provider', total, 2],
      ['provider', total, 2],
      ['workspace', total, 2],
      ['workspace', total, 2],
    ]);
    const usage = await gw.execute(ProviderUsage, { id: provider.id }, { token });
    const cost = rows.reduce((sum, row) => sum + row.costMicros, 0n);
    expect(cost).toBeGreaterThan(0n);
    expect(counters.map((c) => c.costMicros)).toEqual([cost, cost, cost, cost]);
    expect(usage.data?.provider).toEqual({ tokensUsedToday: total, spendThisMonthUsd: Number(cost) / 1e6 });
  });
});

describe('bad input', () => {
  it.each([
    [{ messages: [] }, 'messages'],
    [{ messages: userMessage(), temperature: 3 }, 'temperature'],
    [{ messages: userMessage(), maxTokens: 0 }, 'maxTokens'],
    [{ messages: userMessage(), agent: 'bad agent!' }, 'agent'],
  ])('refuses %j naming %s, and writes no ledger row', async (input, field) => {
    const { workspace, token } = await owner();
    await addSimProvider(gw, sim, token);
    const result = await gw.execute(Chat, { input }, { token });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it('says what to configure when there is no provider', async () => {
    const { token } = await owner();
    const result = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toContain('addProvider');
  });
});
