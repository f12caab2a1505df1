// What the console's usage and providers panels ask of the API beyond the
// dashboards before them: usage filtered by person (admins; a member's stays
// their own), the CSV export narrowed by the same filter as the screen, provider
// kinds by display name, and the platform quota used and left.
import { randomUUID } from 'node:crypto';
import { createClient, fetchExchange, gql } from '@urql/core';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { userMessage } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { statementRecorder } from '../testkit/statements.js';
import { insertLedgerRows, type LedgerRow } from '../testkit/usage.js';

const statements = statementRecorder();
let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
  gw = await startTestServer(
    {
      PLATFORM_MONTHLY_REQUESTS: '3',
      PLATFORM_PROVIDERS: JSON.stringify([{ kind: 'OPENAI', apiKey: 'sk-platform-quota-0123456789abcdef', baseUrl: sim.baseUrls.openai, label: 'House OpenAI' }]),
    },
    { onStatement: statements.onStatement },
  );
});
afterAll(disposeAll);

const PROVIDER = randomUUID();
const RANGE = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };
const row = (at: string, overrides: Partial<LedgerRow> = {}): LedgerRow => ({
  createdAt: new Date(at),
  providerId: PROVIDER,
  model: 'gpt-4o',
  agent: 'support',
  operation: null,
  userId: 'u1',
  status: 'SUCCEEDED',
  promptTokens: 10,
  completionTokens: 5,
  costMicros: 100n,
  durationMs: 40,
  ...overrides,
});

const UsageByUser = graphql(`
  query UsageByUser($range: DateRangeInput!, $filter: UsageFilter) {
    usage(range: $range, groupBy: [USER], bucket: WEEK, filter: $filter) { totals { requests } groups { key } }
    usageEvents(range: $range, filter: $filter, first: 10) { edges { node { userId } } }
  }
`);

const KindsAndQuota = graphql(`
  query KindsAndQuota {
    providerKinds { kind displayName protocol defaultBaseUrl keyPrefix requiresKey capabilities }
    platformQuota { month monthlyRequests requestsThisMonth requestsLeft }
    providers { id scope }
  }
`);

const UsageSeries = graphql(`
  query UsageSeries($range: DateRangeInput!) {
    usage(range: $range, groupBy: [USER], bucket: DAY) { totals { requests } series { key totals { totalTokens } } }
  }
`);
const UsageTopModels = graphql(`
  query UsageTopModels($range: DateRangeInput!) {
    usage(range: $range, groupBy: [USER], bucket: DAY) { totals { requests } topModels(limit: 4) { label totals { requests } } }
  }
`);

const UsageTopModelsAliased = graphql(`
  query UsageTopModelsAliased($range: DateRangeInput!) {
    usage(range: $range, groupBy: [USER], bucket: DAY) { first: topModels(limit: 1) { label } all: topModels(limit: 100) { label } }
  }
`);
const UsageNoTopModels = graphql(`
  query UsageNoTopModels($range: DateRangeInput!) {
    usage(range: $range, groupBy: [USER], bucket: DAY) { none: topModels(limit: 0) { label } }
  }
`);

describe('the usage report', () => {
  it("reads to urql's default client as to the console: a month by day per person, its groups, and the top models", async () => {
    const workspace = newWorkspace();
    await insertLedgerRows(gw.db, workspace.id, [
      row('2026-04-02T10:00:00Z'),
      row('2026-04-02T11:00:00Z', { model: 'o3-mini', costMicros: 2n ** 53n + 1n }),
      row('2026-04-30T23:59:59Z', { userId: 'u2', promptTokens: 1, completionTokens: 1, durationMs: null }),
    ]);
    const client = createClient({
      url: gw.graphqlUrl,
      exchanges: [fetchExchange],
      fetchOptions: { headers: { authorization: `Bearer ${await gw.token(workspace.claims('owner'))}` } },
    });
    const { data, error } = await client
      .query(
        gql`
          query UrqlUsage($range: DateRangeInput!) {
            usage(range: $range, groupBy: [USER], bucket: DAY) {
              totals { requests totalTokens }
              groups { label totals { requests totalTokens avgDurationMs } }
              series { bucketStart key totals { requests totalTokens costUsd avgDurationMs } }
              topModels(limit: 10) { label totals { requests } }
            }
          }
        `,
        { range: RANGE },
      )
      .toPromise();
    expect(error).toBeUndefined();
    const { usage } = data;
    expect(usage.totals).toEqual({ requests: 3, totalTokens: 32 });
    expect(usage.groups).toEqual([
      { label: 'u1', totals: { requests: 2, totalTokens: 30, avgDurationMs: 40 } },
      { label: 'u2', totals: { requests: 1, totalTokens: 2, avgDurationMs: null } },
    ]);
    // Every day of April × both people, the empty ones zero.
    expect(usage.series).toHaveLength(30 * 2);
    const nonEmpty = usage.series.filter((point: { totals: { requests: number } }) => point.totals.requests > 0);
    expect(nonEmpty).toEqual([
      { bucketStart: '2026-04-02T00:00:00.000Z', key: { USER: 'u1' }, totals: { requests: 2, totalTokens: 30, costUsd: (2 ** 53 + 101) / 1e6, avgDurationMs: 40 } },
      { bucketStart: '2026-04-30T00:00:00.000Z', key: { USER: 'u2' }, totals: { requests: 1, totalTokens: 2, costUsd: 0.0001, avgDurationMs: null } },
    ]);
    expect(usage.topModels).toEqual([
      { label: 'gpt-4o', totals: { requests: 2 } },
      { label: 'o3-mini', totals: { requests: 1 } },
    ]);
  });

  it("reads the report's rows once, and once more for the top models only when they are asked (the console never asks)", async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    await insertLedgerRows(gw.db, workspace.id, [
      row('2026-04-02T10:00:00Z'),
      row('2026-04-02T11:00:00Z', { model: 'o3-mini' }),
      row('2026-04-03T10:00:00Z', { model: 'o3-mini', userId: 'u2' }),
      row('2026-04-03T11:00:00Z', { model: 'B-model', userId: 'u2' }),
      row('2026-04-03T12:00:00Z', { model: 'a-model', userId: 'u2' }),
    ]);
    // The whole days of April in the workspace's zone (UTC), grouped by user: the per-user rollup answers.
    const reads = (texts: string[]) => texts.filter((text) => /FROM usage_daily(_by_user)? WHERE/.test(text));

    const series = await statements.during(() => gw.execute(UsageSeries, { range: RANGE }, { token: owner }));
    expect(series.result.errors).toBeUndefined();
    expect(series.result.data!.usage.totals.requests).toBe(5);
    expect(reads(series.statements)).toHaveLength(1);
    expect(reads(series.statements)[0]).toContain('FROM usage_daily_by_user WHERE');
    expect(reads(series.statements)[0]).not.toMatch(/\bmodel\b/);

    const models = await statements.during(() => gw.execute(UsageTopModels, { range: RANGE }, { token: owner }));
    expect(models.result.errors).toBeUndefined();
    // Equal tokens by name, uppercase first, whatever the database's collation.
    expect(models.result.data!.usage.topModels).toEqual([
      { label: 'o3-mini', totals: { requests: 2 } },
      { label: 'B-model', totals: { requests: 1 } },
      { label: 'a-model', totals: { requests: 1 } },
      { label: 'gpt-4o', totals: { requests: 1 } },
    ]);
    expect(reads(models.statements)).toHaveLength(2);
    // The models are not in the per-user rollup: they are read from usage_daily.
    expect(reads(models.statements)[1]).toContain('FROM usage_daily WHERE');

    // Asked twice (aliases), the top models are read once; asked for none, not at all.
    const aliased = await statements.during(() => gw.execute(UsageTopModelsAliased, { range: RANGE }, { token: owner }));
    expect(aliased.result.errors).toBeUndefined();
    expect(aliased.result.data!.usage.first.map((m) => m.label)).toEqual(['o3-mini']);
    expect(aliased.result.data!.usage.all.map((m) => m.label)).toEqual(['o3-mini', 'B-model', 'a-model', 'gpt-4o']);
    expect(reads(aliased.statements)).toHaveLength(2);
    const none = await statements.during(() => gw.execute(UsageNoTopModels, { range: RANGE }, { token: owner }));
    expect(none.result.data!.usage.none).toEqual([]);
    expect(reads(none.statements)).toHaveLength(1);
  });
});

describe('usage filtered by person', () => {
  it('gives an admin the people asked for, and a member only their own whatever they ask', async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const member = await gw.token(workspace.claims('member', 'u2'));
    await insertLedgerRows(gw.db, workspace.id, [row('2026-04-02T10:00:00Z'), row('2026-04-03T10:00:00Z', { userId: 'u2' }), row('2026-04-04T10:00:00Z', { userId: 'u3' })]);
    const range = RANGE;

    const admin = await gw.execute(UsageByUser, { range, filter: { userIds: ['u2', 'u3'] } }, { token: owner });
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.usage.totals.requests).toBe(2);
    expect(admin.data!.usage.groups.map((g) => (g.key as { USER: string }).USER).sort()).toEqual(['u2', 'u3']);
    expect(admin.data!.usageEvents.edges.map((e) => e.node.userId).sort()).toEqual(['u2', 'u3']);

    const own = await gw.execute(UsageByUser, { range, filter: { userIds: ['u1', 'u3'] } }, { token: member });
    expect(own.data!.usage.totals.requests).toBe(0);
    expect(own.data!.usageEvents.edges).toEqual([]);

    const tooMany = await gw.execute(UsageByUser, { range, filter: { userIds: Array.from({ length: 201 }, (_, i) => `u${i}`) } }, { token: owner });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.userIds' });
  });
});

describe('the CSV export with a filter', () => {
  const exportCsv = (token: string, params: string) =>
    fetch(`${gw.url}/export/usage.csv?from=${RANGE.from}&to=${RANGE.to}&${params}`, { headers: { authorization: `Bearer ${token}` } });
  const records = async (response: Response) => parseCsv(await response.text(), { columns: true }) as Array<Record<string, string>>;

  it('exports only the calls and series cells the filter keeps, as the GraphQL filter would', async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    await insertLedgerRows(gw.db, workspace.id, [
      row('2026-04-02T10:00:00Z'),
      row('2026-04-02T11:00:00Z', { agent: 'triage', operation: 'classify' }),
      row('2026-04-02T12:00:00Z', { agent: 'triage', status: 'FAILED', errorCode: 'UPSTREAM_ERROR' }),
      row('2026-04-03T10:00:00Z', { agent: 'triage', userId: 'u2', model: 'o3-mini' }),
    ]);

    const triage = await records(await exportCsv(owner, 'agents=triage&success=true'));
    expect(triage.map((r) => [r.agent, r.status, r.model])).toEqual([
      ['triage', 'SUCCEEDED', 'gpt-4o'],
      ['triage', 'SUCCEEDED', 'o3-mini'],
    ]);
    expect(triage[0]).toHaveProperty('fallback_from_id', '');
    const ofTwo = await records(await exportCsv(owner, 'userIds=u2&userIds=u9&models=o3-mini&models=gpt-4o'));
    expect(ofTwo.map((r) => r.user_id)).toEqual(['u2']);

    const series = await records(await exportCsv(owner, 'groupBy=AGENT&bucket=WEEK&agents=triage&operations=classify'));
    expect(series.filter((r) => r.requests !== '0').map((r) => [r.agent, r.requests])).toEqual([['triage', '1']]);
  });

  it('refuses a bad filter before the first byte, naming the parameter', async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const refusals = [
      ['success=maybe', 'success'],
      [`agents=${'a'.repeat(201)}`, 'agents'],
      [Array.from({ length: 201 }, (_, i) => `models=m${i}`).join('&'), 'filter.models'],
      [`providerIds=${randomUUID()}`, 'filter.providerIds'],
    ] as const;
    for (const [params, field] of refusals) {
      const response = await exportCsv(owner, params);
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(body.errors[0]!.extensions.field).toBe(field);
    }
  });
});

describe('provider kinds and the platform quota', () => {
  it('names every kind for people, and counts the platform calls of this month against the quota, per workspace', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'm1'));
    const before = await gw.execute(KindsAndQuota, {}, { token });
    expect(before.errors).toBeUndefined();
    const kinds = before.data!.providerKinds;
    expect(kinds.find((k) => k.kind === 'OPENAI_COMPATIBLE')).toEqual({
      kind: 'OPENAI_COMPATIBLE',
      displayName: 'OpenAI-compatible',
      protocol: 'openai',
      defaultBaseUrl: null,
      keyPrefix: null,
      requiresKey: expect.any(Boolean),
      capabilities: ['chat', 'streaming', 'tools', 'vision', 'json', 'embeddings'],
    });
    expect(kinds.find((k) => k.kind === 'ANTHROPIC')).toMatchObject({
      displayName: 'Anthropic',
      protocol: 'anthropic',
      defaultBaseUrl: 'https://api.anthropic.com',
      keyPrefix: 'sk-ant-',
      requiresKey: true,
      capabilities: ['chat', 'streaming', 'tools', 'vision', 'json'],
    });
    expect(before.data!.platformQuota).toEqual({ month: new Date().toISOString().slice(0, 7), monthlyRequests: 3, requestsThisMonth: 0, requestsLeft: 3 });

    const platform = before.data!.providers.find((p) => p.scope === 'PLATFORM')!;
    for (let i = 0; i < 4; i++) await gw.execute(Chat, { input: { providerId: platform.id, messages: userMessage() } }, { token });
    const after = await gw.execute(KindsAndQuota, {}, { token });
    expect(after.data!.platformQuota).toMatchObject({ monthlyRequests: 3, requestsThisMonth: 3, requestsLeft: 0 });
    // Another workspace's quota is its own.
    const other = await gw.execute(KindsAndQuota, {}, { token: await gw.token(newWorkspace().claims('owner')) });
    expect(other.data!.platformQuota).toMatchObject({ requestsThisMonth: 0, requestsLeft: 3 });
  });

  it('has no platform quota where the operator offers no platform providers', async () => {
    const plain = await startTestServer();
    const result = await plain.execute(KindsAndQuota, {}, { token: await plain.token(newWorkspace().claims('owner')) });
    expect(result.data!.platformQuota).toBeNull();
  });
});
