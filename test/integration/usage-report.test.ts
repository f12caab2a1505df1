// The usage report against a brute-force computation over random ledgers, its
// buckets across DST changes and month ends, exact [from, to) boundaries,
// zero-filled series, visibility, and its refusals.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayKey } from '../../src/modules/limits/periods.js';
import { type Bucket, DIMENSIONS, type Dimension, type ReportQuery, rollupCanAnswer, type Totals, usageReport, userRollupCanAnswer } from '../../src/modules/usage/report.js';
import { SetTimezone, UsageEvents, UsageReport } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startTestServer, type TestServer } from '../testkit/server.js';
import { insertLedgerRows, type LedgerRow } from '../testkit/usage.js';

let gw: TestServer;
beforeAll(async () => {
  gw = await startTestServer();
});
afterAll(disposeAll);

const NY = 'America/New_York';
const PROVIDERS = [randomUUID(), randomUUID(), randomUUID()];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'claude-sonnet-4-0'];
const AGENTS = [null, 'planner', 'coder'];
const OPERATIONS = [null, 'summarize', 'say "hi", then\nleave'];
const STATUSES = ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'RESERVED'] as const;

/** Small deterministic generator, so a failing seed can be replayed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] };
}

function randomLedger(seed: number, users: string[], start: Date, days: number): LedgerRow[] {
  const r = random(seed);
  const calls = Array.from({ length: 150 + r.int(150) }, () => ({
    createdAt: new Date(start.getTime() + Math.floor(r.next() * days * 86_400_000)),
    providerId: r.pick(PROVIDERS),
    model: r.pick(MODELS),
    agent: r.pick(AGENTS),
    operation: r.pick(OPERATIONS),
    userId: r.pick(users),
    status: r.pick(STATUSES),
    promptTokens: r.int(5_000),
    completionTokens: r.int(2_000),
    costMicros: BigInt(r.int(50_000)),
    durationMs: r.next() < 0.2 ? null : r.int(10_000),
  }));
  // Half the calls have a twin a millisecond later with the same key and a status of its own: rollup rows then hold
  // several calls of different statuses, which the success filter's sums must take apart.
  return calls.flatMap((call) =>
    r.next() < 0.5 ? [call, { ...call, createdAt: new Date(call.createdAt.getTime() + 1), status: r.pick(STATUSES), promptTokens: r.int(5_000) }] : [call],
  );
}

/** A SUCCEEDED call of one person to gpt-4o on the first provider, with no agent or operation. */
function oneCall(iso: string, numbers: Pick<LedgerRow, 'promptTokens' | 'completionTokens' | 'costMicros' | 'durationMs'>): LedgerRow {
  return { createdAt: new Date(iso), providerId: PROVIDERS[0], model: 'gpt-4o', agent: null, operation: null, userId: 'u', status: 'SUCCEEDED', ...numbers };
}

const ZERO: Totals = { requests: 0, failedRequests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costMicros: 0n, avgDurationMs: null };
function add(into: Totals & { dsum?: number; dcount?: number }, row: LedgerRow) {
  into.requests++;
  if (row.status === 'FAILED') into.failedRequests++;
  into.promptTokens += row.promptTokens;
  into.completionTokens += row.completionTokens;
  into.totalTokens += row.promptTokens + row.completionTokens;
  into.costMicros += row.costMicros;
  if (row.durationMs !== null) {
    into.dsum = (into.dsum ?? 0) + row.durationMs;
    into.dcount = (into.dcount ?? 0) + 1;
  }
  into.avgDurationMs = into.dcount ? into.dsum! / into.dcount : null;
}
const VALUE: Record<Dimension, (row: LedgerRow) => string | null> = {
  PROVIDER: (row) => row.providerId,
  MODEL: (row) => row.model,
  AGENT: (row) => row.agent,
  OPERATION: (row) => row.operation,
  USER: (row) => row.userId,
};

/** The report computed the slow way: every row looked at in JavaScript. */
function bruteForce(rows: LedgerRow[], query: ReportQuery, bucketStarts: number[]) {
  const dims = DIMENSIONS.filter((d) => query.groupBy.includes(d));
  const keyOf = (row: LedgerRow) => JSON.stringify(Object.fromEntries(dims.map((d) => [d, VALUE[d](row)])));
  const totals = { ...ZERO };
  const groups = new Map<string, Totals>();
  const cells = new Map<string, Totals>();
  const models = new Map<string, Totals>();
  for (const row of rows) {
    const at = row.createdAt.getTime();
    if (row.status === 'RESERVED' || at < query.from.getTime() || at >= query.to.getTime()) continue;
    if (query.userId && row.userId !== query.userId) continue;
    if (query.filter?.success != null && (row.status === 'SUCCEEDED') !== query.filter.success) continue;
    const bucket = bucketStarts.filter((start) => start <= at).at(-1)!;
    add(totals, row);
    for (const [map, key] of [
      [groups, keyOf(row)],
      [cells, `${bucket}|${keyOf(row)}`],
      [models, row.model],
    ] as const) {
      if (!map.has(key)) map.set(key, { ...ZERO });
      add(map.get(key)!, row);
    }
  }
  return { totals, groups, cells, models };
}

const comparable = ({ requests, failedRequests, promptTokens, completionTokens, totalTokens, costMicros, avgDurationMs }: Totals) => ({
  requests,
  failedRequests,
  promptTokens,
  completionTokens,
  totalTokens,
  costMicros,
  avgDurationMs: avgDurationMs === null ? null : Math.round(avgDurationMs * 1000) / 1000,
});

function expectBucketsFollowTheZone(starts: number[], bucket: Bucket, tz: string, query: ReportQuery) {
  expect(starts[0]).toBeLessThanOrEqual(query.from.getTime());
  expect(starts.at(-1)!).toBeLessThan(query.to.getTime());
  if (starts.length > 1) expect(starts[1]).toBeGreaterThan(query.from.getTime());
  for (let i = 1; i < starts.length; i++) {
    const gapHours = (starts[i] - starts[i - 1]) / 3_600_000;
    if (bucket === 'HOUR') expect(gapHours).toBe(1);
    if (bucket === 'DAY') expect([23, 24, 25]).toContain(gapHours);
    if (bucket === 'WEEK') expect([167, 168, 169]).toContain(gapHours);
  }
  if (bucket === 'HOUR') return;
  for (const start of starts) {
    expect(dayKey(new Date(start - 1), tz)).not.toBe(dayKey(new Date(start), tz)); // a local midnight
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', day: 'numeric' }).formatToParts(new Date(start));
    if (bucket === 'MONTH') expect(parts.find((p) => p.type === 'day')!.value).toBe('1');
    if (bucket === 'WEEK') expect(parts.find((p) => p.type === 'weekday')!.value).toBe('Mon');
  }
}

describe('usage report', () => {
  it('agrees with a brute-force computation over random ledgers, for every grouping and bucket, from the ledger and from the rollups', async () => {
    const SEEDS = [1, 7, 42, 1234, 99991];
    let rollupChecks = 0;
    let userRollupChecks = 0;
    for (const seed of SEEDS) {
      const workspace = newWorkspace();
      const users = ['ann', 'bob', 'cy'].map((u) => `${u}-${seed}`);
      const rows = randomLedger(seed, users, new Date('2026-02-20T00:00:00Z'), 80); // spans the March DST change and three month ends
      const token = await gw.token(workspace.claims('owner'));
      await insertLedgerRows(gw.db, workspace.id, rows);
      // Changing the time zone rebuilds the rollup from the ledger.
      expect((await gw.execute(SetTimezone, { timezone: NY }, { token })).errors).toBeUndefined();

      const r = random(seed * 31);
      for (const bucket of ['HOUR', 'DAY', 'WEEK', 'MONTH'] as const) {
        for (let trial = 0; trial < 3; trial++) {
          const groupBy = DIMENSIONS.filter(() => r.next() < 0.4);
          // Whole local days (the rollup answers) twice, the second time a member's own; a member's instants in the middle of days once.
          const aligned = trial < 2;
          const firstDay = Date.UTC(2026, 1, 21) + r.int(50) * 86_400_000;
          const days = bucket === 'HOUR' ? 1 + r.int(3) : 10 + r.int(40);
          const from = aligned ? nyMidnight(new Date(firstDay)) : new Date(firstDay + r.int(86_400_000));
          const to = aligned ? nyMidnight(new Date(firstDay + days * 86_400_000)) : new Date(from.getTime() + days * 86_400_000 - r.int(86_400_000));
          // A success filter two times in three (true or false): the rollup then sums its SUCCEEDED calls' columns, or all minus those.
          const success = [undefined, true, false][r.int(3)];
          const asked: ReportQuery = {
            workspaceId: workspace.id,
            from,
            to,
            groupBy,
            bucket,
            timezone: NY,
            userId: trial > 0 ? users[0] : undefined,
            ...(success === undefined ? {} : { filter: { success } }),
          };
          // Whole days grouped by more than people: the same report grouped by people too, which the per-user rollup answers.
          const byUser = rollupCanAnswer(asked) && !userRollupCanAnswer(asked) ? [{ ...asked, groupBy: ['USER'] as Dimension[] }] : [];
          for (const query of [asked, ...byUser]) {
            const sources = (['ledger', 'rollup', 'userRollup'] as const).filter(
              (source) => source === 'ledger' || (source === 'rollup' ? rollupCanAnswer : userRollupCanAnswer)(query),
            );
            if (sources.includes('rollup')) rollupChecks++;
            if (sources.includes('userRollup')) userRollupChecks++;
            for (const source of sources) {
              const report = await usageReport(gw.db.sql, query, { source });
              const starts = [...new Set(report.series.map((p) => p.bucketStart.getTime()))].sort((a, b) => a - b);
              // Grouped with no calls in range: no groups, so no points (buckets × 0 groups).
              if (starts.length === 0) {
                expect(query.groupBy.length > 0 && report.groups.length === 0 && report.totals.requests === 0).toBe(true);
                continue;
              }
              expectBucketsFollowTheZone(starts, bucket, NY, query);
              const expected = bruteForce(rows, query, starts);
              const context = `seed ${seed}, ${bucket}, [${query.groupBy}], success ${success}, ${source}, ${from.toISOString()}..${to.toISOString()}`;
              expect(comparable(report.totals), context).toEqual(comparable(expected.totals));
              expect(new Map(report.groups.map((g) => [JSON.stringify(g.key), comparable(g.totals)])), context).toEqual(
                query.groupBy.length ? new Map([...expected.groups].map(([k, v]) => [k, comparable(v)])) : new Map(),
              );
              // Zero-filled: every bucket × every group, and the empty ones are zero.
              expect(report.series.length, context).toBe(starts.length * Math.max(1, query.groupBy.length ? expected.groups.size : 1));
              for (const point of report.series) {
                const key = `${point.bucketStart.getTime()}|${JSON.stringify(point.key ?? {})}`;
                expect(comparable(point.totals), context).toEqual(comparable(expected.cells.get(key) ?? ZERO));
              }
              expect(report.groups.map((g) => g.totals.totalTokens)).toEqual([...report.groups.map((g) => g.totals.totalTokens)].sort((a, b) => b - a));
              expect((await report.topModels()).map((m) => [m.key.MODEL, m.totals.totalTokens])).toEqual(
                [...expected.models].map(([model, t]) => [model, t.totalTokens]).sort((a, b) => (b[1] as number) - (a[1] as number)),
              );
              expect(report.source).toBe(source);
            }
          }
        }
      }
    }
    expect(rollupChecks).toBeGreaterThanOrEqual(SEEDS.length * 3 * 2);
    expect(userRollupChecks).toBeGreaterThanOrEqual(SEEDS.length * 3 * 2);
  }, 120_000);

  it('counts days in the zone across DST changes and month ends, with exact [from, to) boundaries and empty buckets as zero', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const row = (iso: string, promptTokens: number) => oneCall(iso, { promptTokens, completionTokens: 0, costMicros: 1n, durationMs: 10 });
    await insertLedgerRows(gw.db, workspace.id, [
      row('2026-03-08T04:59:59.999Z', 1), // 23:59:59.999 on Mar 7 (EST)
      row('2026-03-08T05:00:00.000Z', 2), // midnight Mar 8 (EST); this day has 23 hours
      row('2026-03-09T03:59:59.999Z', 4), // 23:59:59.999 on Mar 8 (EDT)
      row('2026-03-09T04:00:00.000Z', 8), // midnight Mar 9 (EDT)
      row('2026-03-31T23:00:00.000Z', 16), // 19:00 Mar 31: March
      row('2026-04-01T04:00:00.000Z', 32), // midnight Apr 1: April
      row('2026-11-01T05:30:00.000Z', 64), // 01:30 EDT, the first 1:30 of Nov 1
      row('2026-11-01T06:30:00.000Z', 128), // 01:30 EST, the second
      row('2026-11-02T04:59:59.999Z', 256), // 23:59:59.999 on Nov 1, a 25-hour day
    ]);
    expect((await gw.execute(SetTimezone, { timezone: NY }, { token })).errors).toBeUndefined(); // rebuilds the rollup
    const report = async (from: string, to: string, bucket: Bucket) => {
      const result = await gw.execute(UsageReport, { range: { from, to }, bucket }, { token });
      expect(result.errors).toBeUndefined();
      return result.data!.usage.series.map((p) => [p.bucketStart, p.totals.promptTokens]);
    };
    expect(await report('2026-03-07T05:00:00Z', '2026-03-10T04:00:00Z', 'DAY')).toEqual([
      ['2026-03-07T05:00:00.000Z', 1],
      ['2026-03-08T05:00:00.000Z', 2 + 4],
      ['2026-03-09T04:00:00.000Z', 8],
    ]);
    // [from, to) to the millisecond: the row at `to` is out, the row at `from` is in.
    expect(await report('2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 'DAY')).toEqual([['2026-03-08T05:00:00.000Z', 6]]);
    expect(await report('2026-03-08T05:00:00.001Z', '2026-03-09T03:59:59.999Z', 'DAY')).toEqual([['2026-03-08T05:00:00.000Z', 0]]);
    expect(await report('2026-02-01T05:00:00Z', '2026-05-01T04:00:00Z', 'MONTH')).toEqual([
      ['2026-02-01T05:00:00.000Z', 0],
      ['2026-03-01T05:00:00.000Z', 1 + 2 + 4 + 8 + 16],
      ['2026-04-01T04:00:00.000Z', 32],
    ]);
    const fallBack = await report('2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', 'HOUR');
    expect(fallBack).toHaveLength(25);
    expect(fallBack.filter(([, tokens]) => tokens)).toEqual([
      ['2026-11-01T05:00:00.000Z', 64],
      ['2026-11-01T06:00:00.000Z', 128],
      ['2026-11-02T04:00:00.000Z', 256],
    ]);
    expect(await report('2026-11-01T04:00:00Z', '2026-11-03T05:00:00Z', 'DAY')).toEqual([
      ['2026-11-01T04:00:00.000Z', 64 + 128 + 256],
      ['2026-11-02T05:00:00.000Z', 0],
    ]);
  });

  it('keeps each cell exact: a cost past what a double holds, from the ledger and from the rollups', async () => {
    const workspace = newWorkspace();
    const call = (iso: string, costMicros: bigint) => oneCall(iso, { promptTokens: 3, completionTokens: 4, costMicros, durationMs: 5 });
    await insertLedgerRows(gw.db, workspace.id, [call('2026-05-02T10:00:00Z', 2n ** 53n), call('2026-05-02T11:00:00Z', 1n), call('2026-05-03T10:00:00Z', 10n ** 17n + 7n)]);
    const query: ReportQuery = {
      workspaceId: workspace.id,
      from: new Date('2026-05-01T00:00:00Z'),
      to: new Date('2026-05-04T00:00:00Z'),
      groupBy: ['USER'],
      bucket: 'DAY',
      timezone: 'UTC',
    };
    for (const source of ['ledger', 'rollup', 'userRollup'] as const) {
      const report = await usageReport(gw.db.sql, query, { source });
      expect(
        report.series.map((p) => [p.bucketStart.toISOString().slice(0, 10), p.totals.costMicros, p.totals.totalTokens, p.totals.avgDurationMs]),
        source,
      ).toEqual([
        ['2026-05-01', 0n, 0, null],
        ['2026-05-02', 2n ** 53n + 1n, 14, 5],
        ['2026-05-03', 10n ** 17n + 7n, 7, 5],
      ]);
    }
  });

  it("answers the console's reports from the rollup as the ledger does, grouped by each dimension, filtered, and as a member sees them", async () => {
    const workspace = newWorkspace();
    const users = ['ann', 'bob', 'cy'];
    const owner = await gw.token(workspace.claims('owner'));
    const member = await gw.token(workspace.claims('member', users[0]));
    // Providers of this workspace alone, so a filter may name them.
    const own = PROVIDERS.map(() => randomUUID());
    const rows = randomLedger(11, users, new Date('2026-03-01T00:00:00Z'), 14).map((row) => ({
      ...row,
      providerId: own[PROVIDERS.indexOf(row.providerId as (typeof PROVIDERS)[number])],
    }));
    await insertLedgerRows(gw.db, workspace.id, rows);
    expect((await gw.execute(SetTimezone, { timezone: NY }, { token: owner })).errors).toBeUndefined(); // the rollup's days are New York's
    // Whole New York days across the March DST change, as the console asks for them.
    const range = { from: nyMidnight(new Date('2026-03-02T00:00:00Z')), to: nyMidnight(new Date('2026-03-14T00:00:00Z')) };
    const filters: Array<{ providerIds?: string[]; models?: string[]; agents?: string[]; operations?: string[]; userIds?: string[]; success?: boolean } | null> = [
      null,
      { agents: ['planner'], success: true },
      { operations: ['say "hi", then\nleave'], models: ['gpt-4o', 'o3-mini'], success: false },
      // Each dimension's filter alone: none of them lets a report by person read the per-user rollup.
      { providerIds: [own[1]] },
      { models: ['o3-mini'] },
      { agents: ['coder'] },
      { operations: ['summarize'] },
      { userIds: [users[0], users[1]], success: true },
    ];
    const ask = async (token: string, groupBy: Dimension[], bucket: Bucket, filter: (typeof filters)[number]) => {
      const result = await gw.execute(UsageReport, { range: { from: range.from.toISOString(), to: range.to.toISOString() }, groupBy, bucket, filter, top: 100 }, { token });
      expect(result.errors).toBeUndefined();
      return result.data!.usage;
    };
    for (const [token, userId] of [
      [owner, undefined],
      [member, users[0]],
    ] as const) {
      for (const groupBy of DIMENSIONS.map((d) => [d])) {
        for (const filter of filters) {
          const context = `${userId ?? 'owner'}, [${groupBy}], ${JSON.stringify(filter)}`;
          // The API reads the rollup for this one...
          expect(rollupCanAnswer({ workspaceId: workspace.id, userId, ...range, groupBy, bucket: 'DAY', filter, timezone: NY }), context).toBe(true);
          const byDay = await ask(token, groupBy, 'DAY', filter);
          expect(byDay.totals.requests, context).toBeGreaterThan(0);
          // ...and the ledger for hours: the same calls, the days' totals and groups alike and each day the sum of its hours.
          const byHour = await ask(token, groupBy, 'HOUR', filter);
          expect(byDay.totals, context).toEqual(byHour.totals);
          expect(byDay.groups, context).toEqual(byHour.groups);
          expect(byDay.topModels, context).toEqual(byHour.topModels);
          // Cost in micro-dollars, so sums of hours are exact.
          type Point = (typeof byHour.series)[number];
          const measures = ({ totals: t }: Point) => [t.requests, t.failedRequests, t.promptTokens, t.completionTokens, t.totalTokens, Math.round(t.costUsd * 1e6)];
          const dayOf = (point: Point) => `${dayKey(new Date(point.bucketStart), NY)}|${JSON.stringify(point.key)}`;
          const days = new Map<string, number[]>();
          for (const point of byHour.series)
            days.set(
              dayOf(point),
              measures(point).map((value, i) => value + (days.get(dayOf(point))?.[i] ?? 0)),
            );
          expect(new Map(byDay.series.map((point) => [dayOf(point), measures(point)])), context).toEqual(days);
          // A member's own report is the owner's narrowed to them.
          if (userId) expect(byDay, context).toEqual(await ask(owner, groupBy, 'DAY', { ...filter, userIds: [userId] }));
        }
      }
    }
    // A member's report holds their calls alone (the rollup's rows are per person).
    const mine = await ask(member, ['USER'], 'DAY', null);
    expect(mine.groups.map((g) => g.key)).toEqual([{ USER: users[0] }]);
  }, 120_000);

  it("shows members only their own calls and never another workspace's", async () => {
    const workspace = newWorkspace();
    const other = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const member = await gw.token(workspace.claims('member', 'mia'));
    const base: Omit<LedgerRow, 'userId' | 'promptTokens'> = {
      createdAt: new Date('2026-05-05T12:00:00Z'),
      providerId: PROVIDERS[0],
      model: 'gpt-4o',
      agent: null,
      operation: null,
      status: 'SUCCEEDED',
      completionTokens: 0,
      costMicros: 5n,
      durationMs: 1,
    };
    await insertLedgerRows(gw.db, workspace.id, [
      { ...base, userId: 'mia', promptTokens: 10 },
      { ...base, userId: 'max', promptTokens: 1000 },
    ]);
    await insertLedgerRows(gw.db, other.id, [{ ...base, userId: 'mia', promptTokens: 100_000 }]);
    const range = { from: '2026-05-01T00:00:00Z', to: '2026-06-01T00:00:00Z' };
    const asMember = await gw.execute(UsageReport, { range, groupBy: ['USER'] }, { token: member });
    expect(asMember.data!.usage.totals.promptTokens).toBe(10);
    expect(asMember.data!.usage.groups.map((g) => g.key)).toEqual([{ USER: 'mia' }]);
    const asOwner = await gw.execute(UsageReport, { range, groupBy: ['USER'] }, { token: owner });
    expect(asOwner.data!.usage.totals.promptTokens).toBe(1010);
    expect(asOwner.data!.usage.groups.map((g) => g.key)).toEqual([{ USER: 'max' }, { USER: 'mia' }]);
    const events = await gw.execute(UsageEvents, { range }, { token: member });
    expect(events.data!.usageEvents.edges.map((e) => e.node.userId)).toEqual(['mia']);
  });

  it('filters by provider, model, agent, operation and success, and labels groups', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    // Providers of this workspace alone (a filter may only name providers the workspace has or had).
    const own = PROVIDERS.map(() => randomUUID());
    const rows = randomLedger(5, ['u1', 'u2'], new Date('2026-06-01T00:00:00Z'), 10).map((row) => ({
      ...row,
      providerId: own[PROVIDERS.indexOf(row.providerId as (typeof PROVIDERS)[number])],
    }));
    await insertLedgerRows(gw.db, workspace.id, rows);
    const range = { from: '2026-06-01T00:00:00Z', to: '2026-06-11T00:00:00Z' };
    const filter = { providerIds: [own[1]], models: ['gpt-4o', 'o3-mini'], agents: ['planner'], success: true };
    const result = await gw.execute(UsageReport, { range, filter, groupBy: ['PROVIDER', 'AGENT', 'OPERATION'] }, { token });
    expect(result.errors).toBeUndefined();
    const matching = rows.filter((r) => r.providerId === own[1] && ['gpt-4o', 'o3-mini'].includes(r.model) && r.agent === 'planner' && r.status === 'SUCCEEDED');
    expect(matching.length).toBeGreaterThan(0);
    expect(result.data!.usage.totals.requests).toBe(matching.length);
    expect(result.data!.usage.totals.failedRequests).toBe(0);
    const labels = result.data!.usage.groups.map((g) => g.label);
    expect(labels.every((label) => label.startsWith('ledger fixture · planner · '))).toBe(true);
    expect(labels).toContain('ledger fixture · planner · (no operation)');
    // A provider the workspace never had is NOT_FOUND, not an empty report.
    const foreign = await gw.execute(UsageReport, { range, filter: { providerIds: [randomUUID()] } }, { token });
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'filter.providerIds' });
    const failedOnly = await gw.execute(UsageReport, { range, filter: { success: false } }, { token });
    expect(failedOnly.data!.usage.totals.requests).toBe(rows.filter((r) => r.status === 'FAILED' || r.status === 'CANCELLED').length);
  });

  it('refuses an empty or reversed range, too many buckets and oversized filters, with BAD_USER_INPUT', async () => {
    const { token } = { token: await gw.token(newWorkspace().claims('owner')) };
    const cases = [
      [{ range: { from: '2026-05-02T00:00:00Z', to: '2026-05-01T00:00:00Z' } }, 'range'],
      [{ range: { from: '2026-05-01T00:00:00Z', to: '2026-05-01T00:00:00Z' } }, 'range'],
      [{ range: { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, bucket: 'HOUR' as const }, 'bucket'],
      [{ range: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z' }, filter: { models: Array.from({ length: 201 }, (_, i) => `m${i}`) } }, 'filter.models'],
    ] as const;
    for (const [variables, field] of cases) {
      const result = await gw.execute(UsageReport, variables, { token });
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const badEnum = await gw.execute(UsageReport, { range: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z' }, groupBy: ['COLOR' as never] }, { token });
    expect(badEnum.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

/** Midnight in New York on the UTC calendar day of `day` (04:00Z in summer, 05:00Z in winter). */
function nyMidnight(day: Date): Date {
  const date = day.toISOString().slice(0, 10);
  return [new Date(`${date}T04:00:00Z`), new Date(`${date}T05:00:00Z`)].find((at) => dayKey(new Date(at.getTime() - 1), NY) !== dayKey(at, NY))!;
}
