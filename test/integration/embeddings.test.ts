// Embeddings through the running server: routed, reserved, metered and priced like chat, one ledger row
// per call, refused by the same limits, and routed past providers without an embeddings API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingOf } from '../../src/simulator/model.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider } from '../testkit/chat.js';
import { Embed, ResolveRoute, UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const TEXTS = ['the first document', 'a second, longer document about embeddings', 'third'];
const close = (actual: number[][], expected: number[][]) => {
  expect(actual).toHaveLength(expected.length);
  for (const [i, vector] of actual.entries()) for (const [j, value] of vector.entries()) expect(value).toBeCloseTo(expected[i][j], 5);
};

describe.each([
  // text-embedding-3-small: 0.02 USD per 1M tokens; the simulator counts ~4 characters a token.
  { kind: 'OPENAI' as const, model: 'text-embedding-3-small', usageSource: 'PROVIDER' },
  // Gemini reports no counts: the gateway's estimate is recorded, and marked so.
  { kind: 'GEMINI' as const, model: 'text-embedding-004', usageSource: 'ESTIMATED' },
])('$kind', ({ kind, model, usageSource }) => {
  it('embeds a batch in order through the kind’s default embedding model, with usage, cost and a ledger row', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { kind });
    const result = await gw.execute(Embed, { input: { inputs: TEXTS, dimensions: 4, agent: 'indexer' } }, { token });
    expect(result.errors).toBeUndefined();
    const answer = result.data!.embed;
    close(
      answer.vectors,
      TEXTS.map((t) => embeddingOf(t, 4)),
    );
    const promptTokens = TEXTS.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
    expect(answer).toMatchObject({ providerId: provider.id, kind, model });
    expect(answer.usage).toMatchObject({ promptTokens, completionTokens: 0, totalTokens: promptTokens, usageSource });
    const row = await gw.db.prisma.usageEvent.findUniqueOrThrow({ where: { id: answer.usageEventId } });
    expect(row).toMatchObject({
      workspaceId: workspace.id,
      providerId: provider.id,
      model,
      operation: 'embedding',
      agent: 'indexer',
      status: 'SUCCEEDED',
      streamed: false,
      promptTokens,
      completionTokens: 0,
      usageSource,
      priceVersion: '2026-11-25',
      priceFallback: false,
      sessionId: null,
    });
    expect(Number(row.costMicros) / 1e6).toBe(answer.usage.costUsd);
  });
});

describe('routing and limits', () => {
  it('routes past a provider without embeddings, saying why, and refuses it when named', async () => {
    const { token } = await newOwner(gw);
    const anthropic = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', priority: 0 });
    const openai = await addSimProvider(gw, sim, token, { priority: 1 });
    const route = await gw.execute(ResolveRoute, { needs: ['EMBEDDINGS'] }, { token });
    expect(route.data!.resolveRoute.candidates.map((c) => [c.providerId, c.model, c.usable, c.skippedBecause])).toEqual([
      [openai.id, 'text-embedding-3-small', true, null],
      [anthropic.id, '', false, 'Anthropic has no embeddings API'],
    ]);
    const routed = await gw.execute(Embed, { input: { inputs: ['hello'] } }, { token });
    expect(routed.data!.embed.providerId).toBe(openai.id);
    const named = await gw.execute(Embed, { input: { inputs: ['hello'], providerId: anthropic.id } }, { token });
    expect(named.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'providerId' });
  });

  it('goes to the workspace’s embedding provider and model', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { priority: 0 });
    const second = await addSimProvider(gw, sim, token, { priority: 1 });
    const set = await gw.execute(UpdatePreferences, { input: { embeddingProviderId: second.id, embeddingModel: 'text-embedding-3-large' } }, { token });
    expect(set.errors).toBeUndefined();
    const answer = (await gw.execute(Embed, { input: { inputs: ['hello'] } }, { token })).data!.embed;
    expect(answer).toMatchObject({ providerId: second.id, model: 'text-embedding-3-large' });
  });

  it('is refused by the workspace’s daily token limit, with nothing sent upstream', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 10 } }, { token });
    const before = sim.requests.filter((r) => r.key === provider.key).length;
    const refused = await gw.execute(Embed, { input: { inputs: ['x'.repeat(200)] } }, { token });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(sim.requests.filter((r) => r.key === provider.key).length).toBe(before);
    const fits = await gw.execute(Embed, { input: { inputs: ['tiny'] } }, { token });
    expect(fits.errors).toBeUndefined();
  });

  it('refuses inputs outside its bounds, naming the field, before anything is routed', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    const before = sim.requests.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ inputs: [] }, 'inputs'],
      [{ inputs: Array.from({ length: 2049 }, () => 'a') }, 'inputs'],
      [{ inputs: [''] }, 'inputs'],
      [{ inputs: ['a'.repeat(100_001)] }, 'inputs'],
      [{ inputs: ['a'], dimensions: 0 }, 'dimensions'],
      [{ inputs: ['a'], model: 'bad model' }, 'model'],
      [{ inputs: ['a'], operation: 'x'.repeat(65) }, 'operation'],
    ];
    for (const [input, field] of cases) {
      const result = await gw.execute(Embed, { input: input as never }, { token });
      expect(result.errors?.[0].extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(sim.requests.length).toBe(before);
  });
});
