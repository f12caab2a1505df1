// Calls made with a gateway API key, through the doors' own clients: the key's daily token limit and monthly
// budget are met by the same atomic reservation as every other limit (no overshoot under concurrency), its
// calls a minute are bounded on every door, its ledger rows carry its id and agent, its allowed models are the
// only ones it reaches, and a member's key reaches no other member's personal provider.
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyRepository } from '../../src/modules/apikeys/api-key.repository.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import type { CreateApiKeyInput } from '../generated/graphql.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, CreateApiKey, SetAgentModelPreference } from '../testkit/documents.js';
import { disposeAll, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const KeyUsage = graphql(`
  query KeyUsage {
    apiKeys(first: 50) { edges { node { id tokensUsedToday spendThisMonthUsd } } }
  }
`);

const KeyEvents = graphql(`
  query KeyEvents($range: DateRangeInput!) {
    usageEvents(range: $range) { edges { node { apiKeyId agent status } } }
  }
`);

let gw: TestServer;
let sim: Simulator;
/** Moves the gateway's clock (rate windows are clock minutes) without touching the test's timers. */
let clockOffsetMs = 0;
beforeAll(async () => {
  [gw, sim] = await Promise.all([
    // Answers held back 3 s (the limit test) are within the provider timeout.
    startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', PROVIDER_TIMEOUT_MS: '10000' }, { clock: () => new Date(Date.now() + clockOffsetMs) }),
    startSimulator(),
  ]);
});
afterAll(disposeAll);

const HELLO = [{ role: 'user' as const, content: 'Hello' }];
const client = (secret: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
const createKey = async (token: string, input: CreateApiKeyInput) => {
  const result = await gw.execute(CreateApiKey, { input }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.createApiKey;
};
const upstreamCalls = (key: string) => sim.requests.filter((request) => request.key === key && request.method === 'POST').length;

/** The key's ledger rows summed, and its two counters. */
async function keyLedgerAndCounters(apiKeyId: string) {
  const [ledger] = await gw.db.sql.query<{ tokens: bigint; micros: bigint; rows: bigint }>(
    'SELECT COALESCE(sum(total_tokens), 0)::int8 AS tokens, COALESCE(sum(cost_micros), 0)::int8 AS micros, count(*) AS rows FROM usage_events WHERE api_key_id = $1::uuid',
    [apiKeyId],
  );
  const counters = await gw.db.sql.query<{ tokens: bigint; cost_micros: bigint }>('SELECT tokens, cost_micros FROM usage_counters WHERE scope = $1 ORDER BY period', [
    `apikey:${apiKeyId}`,
  ]);
  return { ledger, counters };
}

describe('calls made with a gateway API key', () => {
  it('meet its daily token limit in the reservation: of 30 concurrent streams on a key that fits 5, the rest are refused with 429 and the limit holds', async () => {
    const { token } = await newOwner(gw);
    // The simulator holds each answer back, so the 30 reservations meet the 5 in flight.
    const provider = await addSimProvider(gw, sim, token, { script: 'delay=3000' });
    const ask = (openai: OpenAI) => openai.chat.completions.create({ model: 'auto', messages: HELLO, max_tokens: 50, stream: true });

    // One call with an unlimited key tells what a call reserves; its row carries the key and the key's agent.
    const measuring = await createKey(token, { name: 'measuring', agent: 'ci-bot' });
    for await (const _chunk of await ask(client(measuring.secret)));
    const [measured] = await gw.db.prisma.usageEvent.findMany({ where: { apiKeyId: measuring.apiKey.id } });
    expect(measured).toMatchObject({ status: 'SUCCEEDED', agent: 'ci-bot', userId: expect.stringMatching(/^owner-/) });
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    const listedEvents = (await gw.execute(KeyEvents, { range }, { token })).data?.usageEvents.edges.map((edge) => edge.node);
    expect(listedEvents).toEqual([{ apiKeyId: measuring.apiKey.id, agent: 'ci-bot', status: 'SUCCEEDED' }]);

    const limited = await createKey(token, { name: 'limited', dailyTokenLimit: 5 * measured.reservedTokens });
    const openai = client(limited.secret);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, async () => {
        for await (const _chunk of await ask(openai));
      }),
    );
    const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as InstanceType<typeof OpenAI.APIError>] : []));
    // Five fit at once. A call that ends gives back what it reserved and did not use, so on a slow machine a
    // reservation that comes late may fit in that room: more answers then, never more tokens than the limit.
    const answered = results.filter((result) => result.status === 'fulfilled').length;
    expect(answered).toBeGreaterThanOrEqual(5);
    expect(refusals).toHaveLength(30 - answered);
    expect(refusals.length).toBeGreaterThanOrEqual(20);
    expect(refusals[0]).toMatchObject({ status: 429, type: 'insufficient_quota', code: 'limit_exceeded' });
    expect(refusals[0].message).toContain("the API key's daily token limit");
    expect(refusals[0].headers?.get('retry-after')).toMatch(/^\d+$/);
    expect(upstreamCalls(provider.key)).toBe(1 + answered);

    // The key's counters equal its ledger, and the API shows them.
    const { ledger, counters } = await keyLedgerAndCounters(limited.apiKey.id);
    expect(Number(ledger.rows)).toBe(answered); // a refused call writes no row
    expect(Number(ledger.tokens)).toBeLessThanOrEqual(5 * measured.reservedTokens);
    expect(counters.map((counter) => [counter.tokens, counter.cost_micros])).toEqual([
      [ledger.tokens, ledger.micros],
      [ledger.tokens, ledger.micros],
    ]);
    const listed = (await gw.execute(KeyUsage, {}, { token })).data!.apiKeys.edges.find((edge) => edge.node.id === limited.apiKey.id)!.node;
    expect(listed.tokensUsedToday).toBe(Number(ledger.tokens));
    expect(listed.spendThisMonthUsd).toBeCloseTo(Number(ledger.micros) / 1e6, 9);
  }, 30_000);

  it('meet its monthly budget the same way, over GraphQL too', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const { secret } = await createKey(token, { name: 'thrifty', monthlyBudgetUsd: 0.000001 });
    const refused = await gw.execute(Chat, { input: { messages: userMessage() } }, { token: secret });
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining("the API key's monthly budget"), extensions: { code: 'LIMIT_EXCEEDED' } });
    expect(upstreamCalls(provider.key)).toBe(0);
    // The owner's own calls (a JWT) are not the key's.
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
  });

  it("are bounded to the key's calls a minute on every door: of 10 at once on a key allowing 3, 3 are answered; the next minute admits again", async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const { secret } = await createKey(token, { name: 'paced', requestsPerMinute: 3 });
    // Early in a minute, so the ten calls share one window.
    clockOffsetMs += 60_000 - ((Date.now() + clockOffsetMs) % 60_000) + 1_000;
    const openai = client(secret);
    // Calls refused for what they ask (here, a provider that does not exist) take nothing from the minute.
    for (let i = 0; i < 2; i++) {
      const refused = await gw.execute(Chat, { input: { messages: userMessage(), providerId: randomUUID() } }, { token: secret });
      expect(refused.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => openai.chat.completions.create({ model: 'auto', messages: HELLO })));
    const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as InstanceType<typeof OpenAI.APIError>] : []));
    expect(refusals).toHaveLength(7);
    expect(refusals[0]).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'rate_limited' });
    expect(refusals[0].message).toContain('This API key allows 3 calls a minute');
    expect(Number(refusals[0].headers?.get('retry-after'))).toBeGreaterThanOrEqual(58);
    expect(upstreamCalls(provider.key)).toBe(3);

    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    const overMessages = await anthropic.messages.create({ model: 'auto', max_tokens: 50, messages: HELLO }).catch((error: unknown) => error);
    expect(overMessages).toMatchObject({ status: 429, error: { type: 'error', error: { type: 'rate_limit_error' } } });
    const overGraphql = await gw.execute(Chat, { input: { messages: userMessage() } }, { token: secret });
    expect(overGraphql.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(upstreamCalls(provider.key)).toBe(3);

    clockOffsetMs += 60_000;
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token: secret })).errors).toBeUndefined();
  });

  it("count a minute's calls in one window per key, which a call in another window restarts instead of waiting on (an instance's clock ahead locks no key out)", async () => {
    const { token } = await newOwner(gw);
    const { apiKey } = await createKey(token, { name: 'windowed', requestsPerMinute: 2 });
    const repository = createApiKeyRepository(gw.db);
    const take = (minute: string) => repository.takeFromWindow(apiKey.id, new Date(`2026-11-26T10:${minute}:00Z`), 2);
    expect([await take('05'), await take('05'), await take('05')]).toEqual([true, true, false]);
    // An instance 10 minutes ahead, then the others again: each window restarts the count, none refuses for the skew.
    expect([await take('15'), await take('05'), await take('05'), await take('05')]).toEqual([true, true, true, false]);
  });

  it("route as the key's agent unless the call names another", async () => {
    const { token } = await newOwner(gw);
    const general = await addSimProvider(gw, sim, token, { priority: 1 });
    const forAgent = await addSimProvider(gw, sim, token, { priority: 2 });
    const set = await gw.execute(SetAgentModelPreference, { input: { agentType: 'reviewer', providerId: forAgent.id, model: 'gpt-4o' } }, { token });
    expect(set.errors).toBeUndefined();
    const { secret } = await createKey(token, { name: 'reviewer bot', agent: 'reviewer' });
    const answered = await client(secret).chat.completions.create({ model: 'auto', messages: HELLO });
    expect(answered.model).toBe('gpt-4o');
    const named = await gw.execute(Chat, { input: { messages: userMessage(), agent: 'other' } }, { token: secret });
    expect(named.data?.chat.providerId).toBe(general.id);
  });

  it('reach only the models the key allows: listed, answered, and refused with 403 when named', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { label: 'sim' });
    const { secret } = await createKey(token, { name: 'gpt-4o only', allowedModels: ['gpt-4o'] });
    const openai = client(secret);
    const models = (await openai.models.list()).data.map((model) => model.id);
    expect(models).toEqual(['auto', 'sim/gpt-4o']);
    expect((await openai.chat.completions.create({ model: 'sim/gpt-4o', messages: HELLO })).model).toBe('gpt-4o');

    const named = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: HELLO }).catch((error: unknown) => error);
    expect(named).toMatchObject({ status: 403, type: 'permission_error' });
    expect((named as Error).message).toContain('This API key does not allow the model gpt-4o-mini: it allows gpt-4o');
    const overGraphql = await gw.execute(Chat, { input: { messages: userMessage(), model: 'gpt-4o-mini' } }, { token: secret });
    expect(overGraphql.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    // `auto` goes to the provider's default model (gpt-4o-mini), which the key does not allow: the route says so.
    const auto = await openai.chat.completions.create({ model: 'auto', messages: HELLO }).catch((error: unknown) => error);
    expect(auto).toMatchObject({ status: 400 });
    expect((auto as Error).message).toContain('the API key does not allow gpt-4o-mini');
  });

  it("of a member reach no other member's personal provider", async () => {
    const workspace = newWorkspace();
    const kim = await gw.token(workspace.claims('member', 'kim'));
    const lee = await gw.token(workspace.claims('member', 'lee'));
    const kims = await addSimProvider(gw, sim, kim, { scope: 'PERSONAL' });
    const { secret } = await createKey(lee, { name: 'lee bot' });
    const refused = await client(secret)
      .chat.completions.create({ model: `${kims.id}/gpt-4o-mini`, messages: HELLO })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(upstreamCalls(kims.key)).toBe(0);
  });
});
