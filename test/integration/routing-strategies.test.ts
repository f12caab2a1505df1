// Routing strategies (PRIORITY, CHEAPEST, FASTEST) and the cost of a call before it is made (estimateCost),
// through the API against the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTING_TTL_MS } from '../../src/modules/chat/route.service.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import type { ChatInput, RoutingStrategy } from '../generated/graphql.js';
import { addSimProvider, streamOverWs, userMessage } from '../testkit/chat.js';
import { AddProvider, Chat, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const Strategy = graphql(`
  mutation SetRoutingStrategy($input: PreferencesInput!) {
    updatePreferences(input: $input) { routingStrategy }
  }
`);

const AgentStrategy = graphql(`
  mutation SetAgentRoutingStrategy($input: AgentModelPreferenceInput!) {
    setAgentModelPreference(input: $input) { agentType model routingStrategy estimatedUsdPerMTok }
  }
`);

const Strategies = graphql(`
  query RoutingStrategies {
    preferences { routingStrategy agentPreferences { agentType routingStrategy estimatedUsdPerMTok } }
  }
`);

const Route = graphql(`
  query StrategyRoute($agent: String, $model: String) {
    resolveRoute(agent: $agent, model: $model) { candidates { providerId model reason usable skippedBecause expectedCostUsd expectedTtftMs } }
  }
`);

const Estimate = graphql(`
  query EstimateCost($input: ChatInput!) {
    estimateCost(input: $input) { lowUsd highUsd candidates { providerId model expectedCostUsd } }
  }
`);

const Ledger = graphql(`
  query StrategyLedger($range: DateRangeInput!) {
    usageEvents(range: $range, first: 100) { edges { node { id providerId model status costUsd fallbackFrom } } }
  }
`);

const Sessions = graphql(`
  query StrategySessions {
    sessions(first: 10) { edges { node { id } } }
  }
`);

const RANGE = { from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
/** A one-pixel PNG. */
const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', CHAT_RETRY_BASE_MS: '5', CHAT_RETRY_MAX_DELAY_MS: '20' }), startSimulator()]);
});
afterAll(disposeAll);

/** A workspace whose providers (OpenAI protocol, on the simulator; OpenAI unless said) serve these models, by priority in this order. */
async function workspaceWith(server: TestServer, models: Array<{ model: string; script?: string; kind?: 'OLLAMA' }>) {
  const workspace = newWorkspace();
  const token = await server.token(workspace.claims('owner'));
  const ids: string[] = [];
  for (const [i, { model, script, kind }] of models.entries()) {
    const priority = (i + 1) * 10;
    const id = kind
      ? (await server.execute(AddProvider, { input: { kind, apiKey: 'local', baseUrl: sim.baseUrls.openai, priority, label: model, skipValidation: true } }, { token })).data!
          .addProvider.id
      : (await addSimProvider(server, sim, token, { script, priority, label: model })).id;
    expect((await server.execute(UpdateProvider, { id, input: { defaultModel: model } }, { token })).errors).toBeUndefined();
    ids.push(id);
  }
  return { workspace, token, ids };
}

async function useStrategy(server: TestServer, token: string, routingStrategy: RoutingStrategy) {
  const result = await server.execute(Strategy, { input: { routingStrategy } }, { token });
  expect(result.errors).toBeUndefined();
  expect(result.data!.updatePreferences.routingStrategy).toBe(routingStrategy);
}

const route = async (server: TestServer, token: string, variables: { agent?: string; model?: string } = {}) => {
  const result = await server.execute(Route, variables, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.resolveRoute.candidates;
};

const chat = async (server: TestServer, token: string, input: ChatInput) => {
  const result = await server.execute(Chat, { input }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.chat;
};

describe('CHEAPEST', () => {
  it('picks the cheaper of two capable providers, and resolveRoute states the expected cost that ranked each', async () => {
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o' }, { model: 'gpt-4o-mini' }]);
    const [dear, cheap] = ids;
    expect((await chat(gw, token, { messages: userMessage() })).providerId).toBe(dear); // PRIORITY by default
    expect((await gw.execute(Strategies, {}, { token })).data!.preferences.routingStrategy).toBe('PRIORITY');

    await useStrategy(gw, token, 'CHEAPEST');
    const candidates = await route(gw, token);
    expect(candidates.map((c) => [c.providerId, c.model])).toEqual([
      [cheap, 'gpt-4o-mini'],
      [dear, 'gpt-4o'],
    ]);
    // A nominal call of 1,000 prompt tokens and 500 output tokens, at the catalog's prices (gpt-4o: $2/$8 since 2026-08-01).
    expect(candidates[0].expectedCostUsd).toBeCloseTo(0.00015 + 0.0003, 9);
    expect(candidates[1].expectedCostUsd).toBeCloseTo(0.002 + 0.004, 9);
    expect(candidates[0].reason).toBe('cheapest: $0.000450 expected (1000 prompt tokens at $0.15/MTok, 500 output at $0.6/MTok); auto-failover by priority');
    expect(candidates[1].reason).toBe('cheapest: $0.006000 expected (1000 prompt tokens at $2/MTok, 500 output at $8/MTok); highest priority (no default set)');

    const answered = await chat(gw, token, { messages: userMessage() });
    expect([answered.providerId, answered.model, answered.fellBack]).toEqual([cheap, 'gpt-4o-mini', false]);
    // A call that names its provider is not re-ranked.
    expect((await chat(gw, token, { messages: userMessage(), providerId: dear })).providerId).toBe(dear);
  });

  it('skips a cheaper model that lacks vision for an image request', async () => {
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o' }, { model: 'o3-mini' }]);
    const [sees, blind] = ids;
    await useStrategy(gw, token, 'CHEAPEST');
    expect((await chat(gw, token, { messages: userMessage() })).providerId).toBe(blind);
    const image = [
      {
        role: 'USER' as const,
        parts: [
          { type: 'TEXT' as const, text: 'What is this?' },
          { type: 'IMAGE' as const, imageUrl: PIXEL },
        ],
      },
    ];
    expect((await chat(gw, token, { messages: image })).providerId).toBe(sees);
    const vision = await gw.execute(graphql(`query VisionRoute { resolveRoute(needs: [VISION]) { candidates { providerId usable skippedBecause } } }`), {}, { token });
    expect(vision.data!.resolveRoute.candidates).toEqual([
      { providerId: sees, usable: true, skippedBecause: null },
      { providerId: blind, usable: false, skippedBecause: 'o3-mini cannot take images (per the model catalog)' },
    ]);
  });

  it('skips a model that cannot answer in JSON, or whose context window cannot hold the call', async () => {
    // A local gemma2 costs nothing per token, answers no JSON and holds 8,192 tokens.
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o' }, { model: 'gpt-4o-mini' }, { model: 'gemma2', kind: 'OLLAMA' }]);
    const [dear, cheap, free] = ids;
    await useStrategy(gw, token, 'CHEAPEST');
    const estimated = async (input: ChatInput) => (await gw.execute(Estimate, { input }, { token })).data!.estimateCost.candidates.map((c) => c.providerId);
    expect(await estimated({ messages: userMessage() })).toEqual([free, cheap, dear]);
    expect(await estimated({ messages: userMessage(), responseFormat: { type: 'JSON_OBJECT' } })).toEqual([cheap, dear]);
    const json = await chat(gw, token, { messages: userMessage(), responseFormat: { type: 'JSON_OBJECT' } });
    expect(json.providerId).toBe(cheap);
    // What a front end shows an agent that wants JSON: the model that cannot answer in it, skipped, and why.
    const jsonRoute = await gw.execute(graphql(`query JsonRoute { resolveRoute(needs: [JSON]) { candidates { providerId usable skippedBecause } } }`), {}, { token });
    expect(jsonRoute.data!.resolveRoute.candidates).toEqual([
      { providerId: cheap, usable: true, skippedBecause: null },
      { providerId: dear, usable: true, skippedBecause: null },
      { providerId: free, usable: false, skippedBecause: 'gemma2 cannot answer in JSON (per the model catalog)' },
    ]);
    // About 12,000 prompt tokens and 100 of answer do not fit in 8,192.
    expect(await estimated({ messages: userMessage('word '.repeat(9_600)), maxTokens: 100 })).toEqual([cheap, dear]);
  });

  it('falls back in cost order: the cheapest failing, the next cheapest answers, and the ledger shows both', async () => {
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o' }, { model: 'gpt-4o-mini', script: 'status=503' }, { model: 'o3-mini' }]);
    const [dearest, cheapest, middle] = ids;
    await useStrategy(gw, token, 'CHEAPEST');
    expect((await route(gw, token)).map((c) => c.providerId)).toEqual([cheapest, middle, dearest]);
    const answered = await chat(gw, token, { messages: userMessage() });
    expect([answered.providerId, answered.fellBack]).toEqual([middle, true]);
    const rows = (await gw.execute(Ledger, { range: RANGE }, { token })).data!.usageEvents.edges.map((e) => e.node).reverse();
    expect(rows.map((row) => [row.providerId, row.status])).toEqual([...rows.filter((row) => row.providerId === cheapest).map(() => [cheapest, 'FAILED']), [middle, 'SUCCEEDED']]);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.at(-1)!.fallbackFrom).toBe(rows.at(-2)!.id);
  });

  it("follows the agent preference's own strategy over the workspace's, and reads it back", async () => {
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o' }, { model: 'gpt-4o-mini' }]);
    const [dear, cheap] = ids;
    await useStrategy(gw, token, 'CHEAPEST');
    const set = await gw.execute(AgentStrategy, { input: { agentType: 'careful', providerId: dear, model: 'gpt-4o', routingStrategy: 'PRIORITY' } }, { token });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setAgentModelPreference).toEqual({ agentType: 'careful', model: 'gpt-4o', routingStrategy: 'PRIORITY', estimatedUsdPerMTok: (3 * 2 + 8) / 4 });
    expect((await gw.execute(AgentStrategy, { input: { agentType: 'thrifty', providerId: dear, model: 'gpt-4o' } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Strategies, {}, { token })).data!.preferences).toEqual({
      routingStrategy: 'CHEAPEST',
      agentPreferences: [
        { agentType: 'careful', routingStrategy: 'PRIORITY', estimatedUsdPerMTok: 3.5 },
        { agentType: 'thrifty', routingStrategy: null, estimatedUsdPerMTok: 3.5 },
      ],
    });
    expect((await chat(gw, token, { messages: userMessage(), agent: 'careful' })).providerId).toBe(dear);
    expect((await route(gw, token, { agent: 'careful' }))[0].reason).toBe('agent preference');
    // Without its own strategy, the agent's preferred provider is one candidate among the others.
    expect((await chat(gw, token, { messages: userMessage(), agent: 'thrifty' })).providerId).toBe(cheap);
    // A model named without a provider stays first; the fallbacks behind it are ranked.
    expect((await route(gw, token, { model: 'gpt-4o' })).map((c) => [c.providerId, c.model])).toEqual([
      [dear, 'gpt-4o'],
      [cheap, 'gpt-4o-mini'],
    ]);
  });
});

describe("CHEAPEST with the operator's platform providers", () => {
  it("ranks the workspace's own keys first, a cheaper platform model after them, and keeps a named model with no fallback to itself", async () => {
    const local = await startTestServer({
      CREDENTIAL_CHANGES_PER_HOUR: '1000',
      PLATFORM_PROVIDERS: JSON.stringify([
        { kind: 'OPENAI', apiKey: 'sk-platform-routing-0123456789abcdef', baseUrl: sim.baseUrls.openai, label: 'House', defaultModel: 'gpt-4o-mini' },
      ]),
    });
    const { workspace, token, ids } = await workspaceWith(local, [{ model: 'gpt-4o' }]);
    await useStrategy(local, token, 'CHEAPEST');
    const candidates = await route(local, token);
    expect(candidates.map((c) => c.providerId)[0]).toBe(ids[0]);
    expect(candidates.map((c) => c.model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(candidates[1].expectedCostUsd!).toBeLessThan(candidates[0].expectedCostUsd!);
    expect((await chat(local, token, { messages: userMessage() })).providerId).toBe(ids[0]);

    // A model named with no fallback allowed is that model or nothing, even when a cheaper candidate could answer.
    await local.db.sql.query(`UPDATE providers SET status = 'DEGRADED' WHERE id = $1::uuid`, [ids[0]]);
    local.app.services.routes.forget(workspace.id);
    const named = await chat(local, token, { messages: userMessage(), model: 'gpt-4o', allowFallback: false });
    expect([named.providerId, named.model, named.fellBack]).toEqual([ids[0], 'gpt-4o', false]);
  });
});

describe('FASTEST', () => {
  it("follows the measured time to first token: the providers' medians over the health window, as they change", async () => {
    let now = new Date();
    const local = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', HEALTH_WINDOW_MS: '60000' }, { clock: () => now });
    const { token, ids } = await workspaceWith(local, [{ model: 'gpt-4o-mini', script: 'delay=300' }, { model: 'gpt-4o-mini' }]);
    const [a, b] = ids;
    await useStrategy(local, token, 'FASTEST');
    const unmeasured = await route(local, token);
    expect(unmeasured.map((c) => [c.providerId, c.expectedTtftMs])).toEqual([
      [a, null],
      [b, null],
    ]);
    expect(unmeasured[0].reason).toBe(
      'fastest: no successful call in the health window to measure (after the measured ones, in priority order); highest priority (no default set)',
    );

    // Streams measure a first token; a call answered whole (its whole time) says nothing of it and is not counted.
    const measure = async () => {
      for (const providerId of [a, b]) {
        expect((await streamOverWs(local, token, { messages: userMessage(), providerId })).chunks.at(-1)?.type).toBe('DONE');
        await chat(local, token, { messages: userMessage(), providerId });
      }
      now = new Date(now.getTime() + ROUTING_TTL_MS); // the kept routing, and its measurements, are read again (the next route still has the old ones)
    };
    /** The route once the routing read after `measure` is in: both providers measured, in this order. */
    const routeOnceMeasured = (order: string[]) =>
      eventually(async () => {
        const candidates = await route(local, token);
        return candidates.map((c) => c.providerId).join() === order.join() && candidates.every((c) => c.expectedTtftMs !== null) ? candidates : undefined;
      });
    await measure();
    const measured = await routeOnceMeasured([b, a]);
    expect(measured[1].expectedTtftMs).toBeGreaterThanOrEqual(300);
    expect(measured[0].expectedTtftMs).toBeLessThan(measured[1].expectedTtftMs!);
    expect(measured[0].reason).toMatch(/^fastest: \d+ ms median time to first token \(1 successful call in the health window\); auto-failover by priority$/);
    expect((await chat(local, token, { messages: userMessage() })).providerId).toBe(b);

    // A gets faster and B slower (new keys, carrying the simulator's scripts); once the old calls leave the window, the order turns.
    expect((await local.execute(UpdateProvider, { id: a, input: { apiKey: `sk-fast-${a}` } }, { token })).errors).toBeUndefined();
    expect((await local.execute(UpdateProvider, { id: b, input: { apiKey: `sk-slow-${b}#delay=300` } }, { token })).errors).toBeUndefined();
    now = new Date(now.getTime() + 61_000);
    await measure();
    await routeOnceMeasured([a, b]);
    expect((await chat(local, token, { messages: userMessage() })).providerId).toBe(a);
  });
});

describe('estimateCost', () => {
  const cases: Array<[string, ChatInput, string?]> = [
    ['a short question', { messages: userMessage('Hi') }],
    ['a long one with a cap', { messages: userMessage('How much does a long question cost? '.repeat(40)), maxTokens: 5 }],
    [
      'a system prompt and an image',
      {
        messages: [
          { role: 'SYSTEM', content: 'Be brief.' },
          { role: 'USER', parts: [{ type: 'IMAGE', imageUrl: PIXEL }] },
        ],
      },
    ],
    [
      'tools offered',
      {
        messages: userMessage('Weather in Paris?'),
        tools: [{ name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      },
    ],
    // The provider says it wrote far more than it was allowed: the call is billed its whole allowance, and no more.
    ['an answer over its allowance', { messages: userMessage('Hi'), maxTokens: 300 }, 'completion-tokens=999999'],
  ];

  it.each(cases)('brackets the cost of the call that follows it: %s', async (_name, input, script) => {
    const { token, ids } = await workspaceWith(gw, [{ model: 'gpt-4o', script }, { model: 'gpt-4o-mini' }]);
    const estimate = await gw.execute(Estimate, { input }, { token });
    expect(estimate.errors).toBeUndefined();
    const { lowUsd, highUsd, candidates } = estimate.data!.estimateCost;
    expect(candidates.map((c) => c.providerId)).toEqual(ids);
    // Nothing was called or written: no ledger row, no session.
    expect((await gw.execute(Ledger, { range: RANGE }, { token })).data!.usageEvents.edges).toEqual([]);
    expect((await gw.execute(Sessions, {}, { token })).data!.sessions.edges).toEqual([]);

    const answered = await chat(gw, token, input);
    const [row] = (await gw.execute(Ledger, { range: RANGE }, { token })).data!.usageEvents.edges.map((e) => e.node);
    expect(row.id).toBe(answered.usageEventId);
    expect(row.costUsd).toBeGreaterThan(0);
    expect(lowUsd).toBeLessThanOrEqual(row.costUsd);
    expect(highUsd).toBeGreaterThanOrEqual(row.costUsd);
    expect(lowUsd).toBeLessThan(highUsd);
  });

  it('refuses what the chat refuses, the same way', async () => {
    const { token } = await workspaceWith(gw, []);
    const none = await gw.execute(Estimate, { input: { messages: userMessage() } }, { token });
    expect(none.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(none.errors?.[0].message).toBe((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors?.[0].message);
    await addSimProvider(gw, sim, token);
    for (const [input, field] of [
      [{ messages: [] }, 'messages'],
      [{ messages: userMessage(), maxTokens: 0 }, 'maxTokens'],
      [{ messages: userMessage(), temperature: 3 }, 'temperature'],
      [{ messages: userMessage(), stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ] as Array<[ChatInput, string]>) {
      const refused = await gw.execute(Estimate, { input }, { token });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await gw.execute(Estimate, { input: { messages: userMessage() } })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('the strategy inputs', () => {
  it('are for admins: a member is refused, and reads the strategies', async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const member = await gw.token(workspace.claims('member'));
    const { id } = await addSimProvider(gw, sim, owner);
    expect((await gw.execute(Strategy, { input: { routingStrategy: 'FASTEST' } }, { token: member })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const agent = await gw.execute(AgentStrategy, { input: { agentType: 'x', providerId: id, model: 'gpt-4o-mini', routingStrategy: 'CHEAPEST' } }, { token: member });
    expect(agent.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.execute(Strategies, {}, { token: member })).data!.preferences).toEqual({ routingStrategy: 'PRIORITY', agentPreferences: [] });
  });
});
