// The provider's own word on what a call cost, beside ours: OpenRouter is asked for it (`usage: {include: true}`)
// and its `usage.cost` is stored on the ledger row, streamed or not; a kind that does not report a cost is not
// asked and stores none; a figure that cannot be believed is dropped without failing the call. Admins compare
// the two by kind and model (costDiscrepancies): a model whose price went stale shows, one whose price is right
// does not.
import { randomUUID } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DISCREPANCY_DAYS } from '../../src/modules/usage/usage.service.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { addSimProvider, streamOverWs, userMessage } from '../testkit/chat.js';
import { AddProvider, Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const CostDiscrepancies = graphql(`
  query CostDiscrepancies($range: DateRangeInput!, $tolerance: Float) {
    costDiscrepancies(range: $range, tolerance: $tolerance) { kind model calls ourCostUsd providerCostUsd differingCalls unpricedCalls }
  }
`);

const ProviderCosts = graphql(`
  query ProviderCosts($range: DateRangeInput!) {
    usageEvents(range: $range, first: 50) { edges { node { id kind model status streamed usageSource costUsd providerCostUsd } } }
  }
`);

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
  // OpenRouter's prices are read from the simulator's list: ours and the simulator's agree unless a script says not.
  gw = await startTestServer({ OPENROUTER_CATALOG_URL: sim.baseUrls.openrouter });
});
afterAll(disposeAll);

const HOUR = 3_600_000;
/** An hour either side of now: every call of the test. */
const aroundNow = () => ({ from: new Date(Date.now() - HOUR).toISOString(), to: new Date(Date.now() + HOUR).toISOString() });
const CHEAP = 'openai/gpt-4o-mini';
const DEAR = 'anthropic/claude-3.5-sonnet';
/** Served by the simulator's OpenRouter, as OpenRouter serves variants, but named by no list. */
const UNLISTED = `${CHEAP}:nitro`;

/** An OpenRouter provider on the simulator; `script` (src/simulator/script.ts) goes into its key, which then is not validated (OWNER only). */
async function addOpenRouter(token: string, script?: string): Promise<{ id: string; key: string }> {
  const apiKey = `sk-or-${randomUUID()}${script ? `#${script}` : ''}`;
  const added = await gw.execute(AddProvider, { input: { kind: 'OPENROUTER', apiKey, baseUrl: sim.baseUrls.openrouter, skipValidation: Boolean(script) } }, { token });
  if (added.errors) throw new Error(JSON.stringify(added.errors));
  return { id: added.data!.addProvider.id, key: apiKey };
}

/** One chat and one stream through `providerId` with `model`; both must succeed. */
async function chatAndStream(token: string, providerId: string, model?: string): Promise<void> {
  const chat = await gw.execute(Chat, { input: { messages: userMessage(), providerId, model } }, { token });
  expect(chat.errors).toBeUndefined();
  const stream = await streamOverWs(gw, token, { messages: userMessage('And streamed'), providerId, model });
  expect(stream.chunks.at(-1)?.type).toBe('DONE');
}

async function providerCosts(token: string) {
  const result = await gw.execute(ProviderCosts, { range: aroundNow() }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.usageEvents.edges.map((edge) => edge.node);
}

/** The chat bodies the simulator received with this provider's key. */
const chatBodiesOf = (key: string) =>
  sim.requests.filter((request) => request.key === key && request.path.endsWith('/chat/completions')).map((request) => request.body as Record<string, unknown>);

describe("the provider's reported cost", () => {
  it('is asked of OpenRouter and stored beside ours on the ledger row, for a chat and a stream', async () => {
    const { workspace, token } = await newOwner(gw);
    const { id, key } = await addOpenRouter(token);
    await chatAndStream(token, id);

    const events = await providerCosts(token);
    expect(events.map((event) => [event.streamed, event.status, event.usageSource])).toEqual([
      [true, 'SUCCEEDED', 'PROVIDER'],
      [false, 'SUCCEEDED', 'PROVIDER'],
    ]);
    for (const event of events) {
      expect(event.providerCostUsd).toBeGreaterThan(0);
      // Our price is the one the simulator lists: the two agree to the micro-dollar each rounds to.
      expect(Math.abs(event.providerCostUsd! - event.costUsd)).toBeLessThanOrEqual(0.000001);
    }
    const rows = await gw.db.sql.query<{ provider_cost_micros: bigint | null }>('SELECT provider_cost_micros FROM usage_events WHERE workspace_id = $1', [workspace.id]);
    expect(rows.map((row) => typeof row.provider_cost_micros)).toEqual(['bigint', 'bigint']);
    expect(chatBodiesOf(key).map((body) => body.usage)).toEqual([{ include: true }, { include: true }]);

    // The CSV export carries it beside ours too.
    const { from, to } = aroundNow();
    const csv = await (await fetch(`${gw.url}/export/usage.csv?${new URLSearchParams({ from, to })}`, { headers: { authorization: `Bearer ${token}` } })).text();
    const records = parseCsv(csv, { columns: true }) as Array<Record<string, string>>;
    expect(records.map((record) => Number(record.provider_cost_usd))).toEqual(events.map((event) => event.providerCostUsd).reverse());
  });

  it('is not asked of a kind that does not report one, and stays null', async () => {
    const { token } = await newOwner(gw);
    const { id, key } = await addSimProvider(gw, sim, token, { kind: 'OPENAI' });
    await chatAndStream(token, id);

    expect((await providerCosts(token)).map((event) => [event.streamed, event.usageSource, event.providerCostUsd])).toEqual([
      [true, 'PROVIDER', null],
      [false, 'PROVIDER', null],
    ]);
    const bodies = chatBodiesOf(key);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) expect(body).not.toHaveProperty('usage');
  });

  it("is OpenRouter's fee plus the upstream provider's charge for an account that brings its own provider keys (BYOK)", async () => {
    const { token } = await newOwner(gw);
    // `cost` is then only OpenRouter's fee (5% here); the provider billed the account's own key the listed price.
    const { id } = await addOpenRouter(token, 'byok-fee=0.05');
    await chatAndStream(token, id);

    const events = await providerCosts(token);
    expect(events).toHaveLength(2);
    for (const event of events) expect(Math.abs(event.providerCostUsd! - 1.05 * event.costUsd)).toBeLessThanOrEqual(0.000002);
  });

  it.each([
    ['negative', 'cost-factor=-1'],
    ['absurd (over $1,000 for one call)', 'cost-factor=1e12'],
  ])('is dropped when %s, and the call still succeeds with its counts', async (_case, script) => {
    const { token } = await newOwner(gw);
    const { id } = await addOpenRouter(token, script);
    await chatAndStream(token, id);

    expect((await providerCosts(token)).map((event) => [event.status, event.usageSource, event.providerCostUsd])).toEqual([
      ['SUCCEEDED', 'PROVIDER', null],
      ['SUCCEEDED', 'PROVIDER', null],
    ]);
  });

  it('leaves the OpenAI door as the openai SDK knows it, and is stored for its calls too', async () => {
    const { workspace, token } = await newOwner(gw);
    await addOpenRouter(token);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: token, maxRetries: 0 });

    const completion = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Hello' }] });
    expect(completion.choices[0].message.content).toMatch(/^Echo: Hello/);
    expect(completion.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(completion.usage).not.toHaveProperty('cost');
    const stream = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Hello' }], stream: true, stream_options: { include_usage: true } });
    const usages = [];
    for await (const chunk of stream) if (chunk.usage) usages.push(chunk.usage);
    expect(usages).toHaveLength(1);
    expect(usages[0]).not.toHaveProperty('cost');

    const rows = await gw.db.sql.query<{ cost_micros: bigint; provider_cost_micros: bigint | null }>(
      'SELECT cost_micros, provider_cost_micros FROM usage_events WHERE workspace_id = $1',
      [workspace.id],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Number(row.provider_cost_micros) - Number(row.cost_micros)).toBeOneOf([-1, 0, 1]);
  });
});

describe('costDiscrepancies', () => {
  it('flags the model whose price was made wrong on purpose, and not the one whose price is right, most differing first', async () => {
    const { token } = await newOwner(gw);
    // OpenRouter bills Claude a quarter above the price our catalog holds for it (the simulator's script): a stale price.
    const { id: right } = await addOpenRouter(token);
    const { id: stale } = await addOpenRouter(token, 'cost-factor=1.25');
    const silent = await addSimProvider(gw, sim, token, { kind: 'OPENAI' });
    await chatAndStream(token, right, CHEAP);
    await chatAndStream(token, stale, DEAR);
    await chatAndStream(token, silent.id);

    const report = await gw.execute(CostDiscrepancies, { range: aroundNow() }, { token });
    expect(report.errors).toBeUndefined();
    const [wrong, fine, ...others] = report.data!.costDiscrepancies;
    // The OpenAI calls reported no cost: they are not compared.
    expect(others).toEqual([]);
    expect(wrong).toMatchObject({ kind: 'OPENROUTER', model: DEAR, calls: 2, differingCalls: 2 });
    expect(wrong.providerCostUsd / wrong.ourCostUsd).toBeCloseTo(1.25, 2);
    expect(fine).toMatchObject({ kind: 'OPENROUTER', model: CHEAP, calls: 2, differingCalls: 0 });
    expect(Math.abs(fine.providerCostUsd - fine.ourCostUsd)).toBeLessThanOrEqual(0.000002);

    // A tolerance wider than the gap (a share of the larger cost: 0.25 / 1.25 = 20%) flags nothing.
    const tolerant = await gw.execute(CostDiscrepancies, { range: aroundNow(), tolerance: 0.25 }, { token });
    expect(tolerant.data!.costDiscrepancies.map((row) => [row.model, row.differingCalls])).toEqual([
      [DEAR, 0],
      [CHEAP, 0],
    ]);
    // Another workspace sees none of it.
    const { token: other } = await newOwner(gw);
    expect((await gw.execute(CostDiscrepancies, { range: aroundNow() }, { token: other })).data!.costDiscrepancies).toEqual([]);
  });

  it('counts the calls of a model the gateway has no price for as unpriced, not as differing', async () => {
    const { token } = await newOwner(gw);
    const { id } = await addOpenRouter(token);
    // A variant OpenRouter serves but does not list: no price of ours, so priced by the kind's fallback rule.
    await chatAndStream(token, id, UNLISTED);
    await chatAndStream(token, id, CHEAP);

    const report = await gw.execute(CostDiscrepancies, { range: aroundNow(), tolerance: 0 }, { token });
    expect(report.errors).toBeUndefined();
    expect(report.data!.costDiscrepancies.map(({ model, calls, differingCalls, unpricedCalls }) => ({ model, calls, differingCalls, unpricedCalls }))).toEqual([
      { model: UNLISTED, calls: 2, differingCalls: 0, unpricedCalls: 2 },
      { model: CHEAP, calls: 2, differingCalls: 0, unpricedCalls: 0 },
    ]);
  });

  it('is refused to a member, with FORBIDDEN', async () => {
    const { workspace } = await newOwner(gw);
    const member = await gw.token(workspace.claims('member', `member-${randomUUID()}`));
    const refused = await gw.execute(CostDiscrepancies, { range: aroundNow() }, { token: member });
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a range backwards or too long, and a tolerance outside 0 to 1, with BAD_USER_INPUT naming the argument', async () => {
    const { token } = await newOwner(gw);
    const at = Date.parse('2026-03-01T00:00:00Z');
    const range = (days: number) => ({ from: new Date(at).toISOString(), to: new Date(at + days * 24 * HOUR).toISOString() });
    const refusal = async (variables: { range: { from: string; to: string }; tolerance?: number }) => {
      const result = await gw.execute(CostDiscrepancies, variables, { token });
      expect(result.data).toBeNull();
      return result.errors?.[0].extensions;
    };
    expect(await refusal({ range: range(-1) })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range' });
    expect(await refusal({ range: range(0) })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range' });
    expect(await refusal({ range: range(MAX_DISCREPANCY_DAYS + 1) })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range', limit: 'rangeDays' });
    for (const tolerance of [-0.01, 1.01, 2]) expect(await refusal({ range: range(1), tolerance })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tolerance' });
    // The bounds themselves are answered.
    for (const tolerance of [0, 1]) {
      const answered = await gw.execute(CostDiscrepancies, { range: range(MAX_DISCREPANCY_DAYS), tolerance }, { token });
      expect(answered.errors).toBeUndefined();
      expect(answered.data!.costDiscrepancies).toEqual([]);
    }
  });
});
