// Usage through the API a dashboard uses: raw events page by page, live ticks
// after a chat (graphql-ws and SSE), the model catalog, and the CSV export.
import { randomUUID } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, Models, UpdateProvider, UsageEvents, UsageTicks } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { take } from '../testkit/streams.js';
import { insertLedgerRows, type LedgerRow } from '../testkit/usage.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const PROVIDER = randomUUID();
const row = (at: string, overrides: Partial<LedgerRow> = {}): LedgerRow => ({
  createdAt: new Date(at),
  providerId: PROVIDER,
  model: 'gpt-4o',
  agent: null,
  operation: null,
  userId: 'u1',
  status: 'SUCCEEDED',
  promptTokens: 10,
  completionTokens: 5,
  costMicros: 123n,
  durationMs: 40,
  ...overrides,
});
const RANGE = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };

const ChooseAgentModel = graphql(`
  mutation ChooseAgentModel($input: AgentModelPreferenceInput!) {
    setAgentModelPreference(input: $input) { agentType model estimatedUsdPerMTok }
  }
`);
const AgentModelEstimates = graphql(`
  query AgentModelEstimates {
    preferences { agentPreferences { agentType model estimatedUsdPerMTok } }
  }
`);

describe('usageEvents', () => {
  it('pages newest first in a stable order, with filters, and refuses bad cursors and page sizes', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('admin'));
    // Several rows share a timestamp: the id breaks ties, so no page repeats or skips one.
    const rows = Array.from({ length: 23 }, (_, i) => row(`2026-04-0${1 + (i % 3)}T10:00:00Z`, { model: i % 2 ? 'gpt-4o' : 'o3-mini', status: i % 5 ? 'SUCCEEDED' : 'FAILED' }));
    await insertLedgerRows(gw.db, workspace.id, rows);
    const seen: Array<{ id: string; createdAt: string }> = [];
    let after: string | null | undefined;
    do {
      const page = await gw.execute(UsageEvents, { range: RANGE, first: 5, after }, { token });
      expect(page.errors).toBeUndefined();
      seen.push(...page.data!.usageEvents.edges.map((e) => e.node));
      after = page.data!.usageEvents.pageInfo.hasNextPage ? page.data!.usageEvents.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(23);
    expect(new Set(seen.map((e) => e.id)).size).toBe(23);
    const order = seen.map((e) => `${e.createdAt}|${e.id}`);
    expect(order).toEqual([...order].sort().reverse());

    const filtered = await gw.execute(UsageEvents, { range: RANGE, first: 50, filter: { models: ['o3-mini'], success: false } }, { token });
    expect(filtered.data!.usageEvents.edges.map((e) => [e.node.model, e.node.status])).toEqual(
      rows.filter((r) => r.model === 'o3-mini' && r.status !== 'SUCCEEDED').map(() => ['o3-mini', 'FAILED']),
    );
    const event = filtered.data!.usageEvents.edges[0].node;
    expect(event).toMatchObject({ costUsd: 0.000123, totalTokens: 15, providerId: PROVIDER, kind: 'OPENAI' });

    for (const [variables, field] of [
      [{ range: RANGE, after: 'not-a-cursor' }, 'after'],
      [{ range: RANGE, first: 201 }, 'first'],
      [{ range: RANGE, first: 0 }, 'first'],
    ] as const) {
      const refused = await gw.execute(UsageEvents, variables, { token });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});

describe('usageTicks', () => {
  /** The first tick the subscription delivers, and the chat that caused it (made once the server has the subscriber). */
  async function chatThenTicks<T>(workspaceId: string, subscribe: () => Promise<T[]>, token: string): Promise<{ ticks: T[]; calls: Array<{ tokens: number; costUsd: number }> }> {
    const subscribed = gw.nextSubscriber('usage:tick', workspaceId);
    const received = subscribe();
    await subscribed;
    const answer = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(answer.errors).toBeUndefined();
    return { ticks: await received, calls: [{ tokens: answer.data!.chat.usage.totalTokens, costUsd: answer.data!.chat.usage.costUsd }] };
  }

  it.each(['graphql-ws', 'SSE'] as const)("arrive over %s after a chat finishes, with the provider's counters", async (transport) => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 100_000, monthlyBudgetUsd: 5 } }, { token })).errors).toBeUndefined();
    const admin = await gw.token(workspace.claims('admin'));
    const client = transport === 'SSE' ? gw.sse(admin) : gw.ws(admin);
    const { ticks, calls } = await chatThenTicks(workspace.id, () => take(client.iterate({ query: print(UsageTicks) }), 1), token);
    const tick = (ticks[0].data as { usageTicks: Record<string, unknown> }).usageTicks;
    // The first tick delivered counts the chats finished by then: some prefix of the calls made.
    const finished = calls.findIndex((_, i) => calls.slice(0, i + 1).reduce((sum, c) => sum + c.tokens, 0) === tick.tokensUsedToday) + 1;
    expect(finished).toBeGreaterThan(0);
    const spent = calls.slice(0, finished).reduce((sum, c) => sum + Math.round(c.costUsd * 1e6), 0) / 1e6;
    expect(spent).toBeGreaterThan(0);
    expect(tick).toEqual({ providerId: provider.id, tokensUsedToday: tick.tokensUsedToday, dailyTokenLimit: 100_000, spendThisMonthUsd: spent, monthlyBudgetUsd: 5 });
  });
});

describe('models', () => {
  it('lists the catalog with prices, filtered and paged, and refuses bad input', async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const result = await gw.execute(Models, { kind: 'ANTHROPIC', search: 'sonnet 4', first: 10 }, { token });
    expect(result.errors).toBeUndefined();
    expect(result.data!.models.edges.map((e) => e.node.id)).toEqual(['ANTHROPIC:claude-sonnet-4-0', 'ANTHROPIC:claude-sonnet-4-5']);
    expect(result.data!.models.edges[0].node).toMatchObject({ inputUsdPerMTok: 3, cachedInputUsdPerMTok: 0.3, outputUsdPerMTok: 15, tier: 'PREMIUM', contextWindow: 200000 });
    const all = await gw.execute(Models, { first: 200 }, { token });
    expect(all.data!.models.totalCount).toBeGreaterThanOrEqual(100);
    expect((await gw.execute(Models, { first: 1000 }, { token })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await gw.execute(Models, { after: 'bm9wZQ' }, { token })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect((await gw.execute(Models, {})).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('agent model preferences', () => {
  it("estimate each choice's cost from the catalog: USD per million tokens, three input to one output; null for a model it does not price", async () => {
    const token = await gw.token(newWorkspace().claims('owner'));
    const provider = (await addSimProvider(gw, sim, token)).id;
    const catalog = await gw.execute(Models, { kind: 'OPENAI', first: 200 }, { token });
    const price = (model: string) => catalog.data!.models.edges.map((e) => e.node).find((m) => m.model === model)!;
    const blended = (model: string) => (3 * price(model).inputUsdPerMTok! + price(model).outputUsdPerMTok!) / 4;
    const choices = [
      ['coder', 'gpt-4o', blended('gpt-4o')],
      ['helper', 'gpt-4o-mini', blended('gpt-4o-mini')],
      ['local', 'llama3.1', null], // the provider offers it; the catalog has no OpenAI price for it
    ] as const;
    for (const [agentType, model, estimate] of choices) {
      const set = await gw.execute(ChooseAgentModel, { input: { agentType, providerId: provider, model } }, { token });
      expect(set.errors).toBeUndefined();
      if (estimate === null) expect(set.data!.setAgentModelPreference.estimatedUsdPerMTok).toBeNull();
      else expect(set.data!.setAgentModelPreference.estimatedUsdPerMTok).toBeCloseTo(estimate, 6);
    }
    expect(blended('gpt-4o')).toBeGreaterThan(blended('gpt-4o-mini'));
    const listed = await gw.execute(AgentModelEstimates, {}, { token });
    const byAgent = (a: readonly unknown[], b: readonly unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(listed.data!.preferences.agentPreferences.map((p) => [p.agentType, p.model, p.estimatedUsdPerMTok]).sort(byAgent)).toEqual(
      [...choices].sort(byAgent).map(([agentType, model, estimate]) => [agentType, model, estimate === null ? null : expect.closeTo(estimate, 6)]),
    );
  });
});

describe('CSV export', () => {
  const exportCsv = (token: string | undefined, query: string) => fetch(`${gw.url}/export/usage.csv?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('streams every row of the range across pages and round-trips through a CSV parser, quoting commas, quotes and line breaks', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const awkward = { agent: 'agent, with "quotes"', operation: 'line one\r\nline two, "two"' };
    const rows = [
      row('2026-04-02T00:00:00Z', awkward),
      ...Array.from({ length: 2_400 }, (_, i) => row(new Date(Date.parse('2026-04-03T00:00:00Z') + i * 60_000).toISOString(), { promptTokens: i })),
      row('2026-05-01T00:00:00Z'), // at `to`: excluded
    ];
    await insertLedgerRows(gw.db, workspace.id, rows);
    const response = await exportCsv(token, `from=${RANGE.from}&to=${RANGE.to}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await response.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const records = parseCsv(text, { columns: true }) as Array<Record<string, string>>;
    expect(records).toHaveLength(2_401);
    expect(records[0]).toMatchObject({ agent: awkward.agent, operation: awkward.operation, cost_usd: '0.000123', status: 'SUCCEEDED', total_tokens: '15' });
    expect(records.slice(1).map((r) => Number(r.prompt_tokens))).toEqual(Array.from({ length: 2_400 }, (_, i) => i));
    expect(records.map((r) => r.created_at)).toEqual([...records.map((r) => r.created_at)].sort());
  });

  it("exports the grouped, zero-filled series with groupBy, and only the member's own rows for a member", async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const member = await gw.token(workspace.claims('member', 'u2'));
    await insertLedgerRows(gw.db, workspace.id, [row('2026-04-02T10:00:00Z'), row('2026-04-02T11:00:00Z', { userId: 'u2', model: 'o3-mini' }), row('2026-04-04T10:00:00Z')]);
    const grouped = parseCsv(await (await exportCsv(owner, `from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z&groupBy=MODEL&bucket=DAY`)).text(), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(grouped.map((r) => [r.bucket_start.slice(0, 10), r.model, r.requests])).toEqual([
      ['2026-04-01', 'gpt-4o', '0'],
      ['2026-04-01', 'o3-mini', '0'],
      ['2026-04-02', 'gpt-4o', '1'],
      ['2026-04-02', 'o3-mini', '1'],
      ['2026-04-03', 'gpt-4o', '0'],
      ['2026-04-03', 'o3-mini', '0'],
      ['2026-04-04', 'gpt-4o', '1'],
      ['2026-04-04', 'o3-mini', '0'],
    ]);
    // An empty groupBy: the ungrouped series, a line per bucket.
    const ungrouped = await exportCsv(owner, `from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z&groupBy=&bucket=DAY`);
    expect(ungrouped.status).toBe(200);
    expect((parseCsv(await ungrouped.text(), { columns: true }) as Array<Record<string, string>>).map((r) => [r.bucket_start.slice(0, 10), r.requests])).toEqual([
      ['2026-04-01', '0'],
      ['2026-04-02', '2'],
      ['2026-04-03', '0'],
      ['2026-04-04', '1'],
    ]);
    const own = parseCsv(await (await exportCsv(member, `from=${RANGE.from}&to=${RANGE.to}`)).text(), { columns: true }) as Array<Record<string, string>>;
    expect(own.map((r) => r.user_id)).toEqual(['u2']);
  });

  it('writes text cells that a spreadsheet would run as a formula with a leading quote, and numbers as they are', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const starts = ['=', '+', '-', '@', '\t', '\r'];
    const formulas = starts.map((start, i) => ({ model: `${start}1+${i}`, agent: `${start}HYPERLINK("http://evil.example/?${i}")`, operation: `${start}cmd|' /C calc'!A${i}` }));
    await insertLedgerRows(
      gw.db,
      workspace.id,
      formulas.map((text, i) => row(`2026-04-02T0${i}:00:00Z`, { ...text, promptTokens: 7 + i })),
    );
    const escaped = (text: string) => `'${text}`;

    const events = parseCsv(await (await exportCsv(token, `from=${RANGE.from}&to=${RANGE.to}`)).text(), { columns: true }) as Array<Record<string, string>>;
    expect(events.map((r) => [r.model, r.agent, r.operation])).toEqual(formulas.map((f) => [escaped(f.model), escaped(f.agent), escaped(f.operation)]));
    expect(events.map((r) => [r.prompt_tokens, r.cost_usd])).toEqual(formulas.map((_, i) => [String(7 + i), '0.000123']));

    const grouped = parseCsv(await (await exportCsv(token, `from=2026-04-02T00:00:00Z&to=2026-04-03T00:00:00Z&groupBy=MODEL,AGENT,OPERATION&bucket=DAY`)).text(), {
      columns: true,
    }) as Array<Record<string, string>>;
    expect(new Set(grouped.map((r) => JSON.stringify([r.model, r.agent, r.operation])))).toEqual(
      new Set(formulas.map((f) => JSON.stringify([escaped(f.model), escaped(f.agent), escaped(f.operation)]))),
    );
    expect(grouped.map((r) => r.requests)).toEqual(formulas.map(() => '1'));
  });

  it('refuses a missing or bad token with 401, bad parameters with 400 and other methods with 405, as JSON with a code', async () => {
    const token = await gw.token(newWorkspace().claims('owner'));
    const cases: Array<[string | undefined, string, number, string]> = [
      [undefined, `from=${RANGE.from}&to=${RANGE.to}`, 401, 'UNAUTHENTICATED'],
      ['not.a.token', `from=${RANGE.from}&to=${RANGE.to}`, 401, 'UNAUTHENTICATED'],
      [token, `to=${RANGE.to}`, 400, 'BAD_USER_INPUT'],
      [token, `from=yesterday&to=${RANGE.to}`, 400, 'BAD_USER_INPUT'],
      [token, `from=${RANGE.to}&to=${RANGE.from}`, 400, 'BAD_USER_INPUT'],
      [token, `from=${RANGE.from}&to=${RANGE.to}&groupBy=COLOR`, 400, 'BAD_USER_INPUT'],
      [token, `from=${RANGE.from}&to=${RANGE.to}&groupBy=MODEL&bucket=YEAR`, 400, 'BAD_USER_INPUT'],
      [token, `from=2000-01-01T00:00:00Z&to=${RANGE.to}&groupBy=MODEL&bucket=HOUR`, 400, 'BAD_USER_INPUT'],
    ];
    for (const [bearer, query, status, code] of cases) {
      const response = await exportCsv(bearer, query);
      expect(response.status, query).toBe(status);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe(code);
    }
    const posted = await fetch(`${gw.url}/export/usage.csv?from=${RANGE.from}&to=${RANGE.to}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(posted.status).toBe(405);
    expect(((await posted.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
