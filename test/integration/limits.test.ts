// Daily token limits and monthly budgets hold under concurrency: a call's
// estimate is reserved atomically before any upstream request, and the
// counters end equal to the ledger.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import { costMicros } from '../../src/modules/catalog/pricing.js';
import { createLedger } from '../../src/modules/usage/ledger.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { subscribeAlerts } from '../testkit/alerts.js';
import { addSimProvider, type Chunk, chatStreamRequest, readChatStream, streamOverWs, text, userMessage } from '../testkit/chat.js';
import { AlertList, Chat, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { userRollupBeside } from '../testkit/usage.js';

let gw: TestServer;
let sim: Simulator;
let now = new Date('2026-06-10T12:00:00Z');
beforeAll(async () => {
  // Answers held back 1.5 s (100 at once on a busy runner) stay within the provider timeout: a timed-out call is retried upstream.
  // 100 reservations on one counter row take turns on its lock, each holding a pooled connection meanwhile: on a
  // busy 2-core runner the last waits for a connection longer than the default 5 s (CI saw SERVICE_UNAVAILABLE).
  const env = { CREDENTIAL_CHANGES_PER_HOUR: '1000', PROVIDER_TIMEOUT_MS: '10000', DATABASE_POOL_TIMEOUT_MS: '30000' };
  [gw, sim] = await Promise.all([startTestServer(env, { clock: () => now }), startSimulator()]);
});
afterAll(disposeAll);

const MAX_TOKENS = 100;
// "Hello there, simulator" (22 characters → 6 tokens) + 4 for the one message, plus the cap.
const RESERVED = 6 + 4 + MAX_TOKENS;

async function streams(token: string, count: number): Promise<Chunk[][]> {
  const client = gw.ws(token);
  const input = { messages: userMessage(), maxTokens: MAX_TOKENS, allowFallback: false };
  return Promise.all(Array.from({ length: count }, async () => (await readChatStream(client.iterate(chatStreamRequest(input)))).chunks));
}

/** Collects the alerts an admin's subscription gets, from the moment the server has it (a first alert is not missed). */
async function ledgerAndCounters(workspaceId: string, providerId: string) {
  const [ledger] = await gw.db.sql.query<{ tokens: bigint; micros: bigint; rows: bigint }>(
    `SELECT COALESCE(sum(total_tokens), 0)::int8 AS tokens, COALESCE(sum(cost_micros), 0)::int8 AS micros, count(*) AS rows FROM usage_events WHERE workspace_id = $1`,
    [workspaceId],
  );
  const counters = await gw.db.sql.query<{ scope: string; period: string; tokens: bigint; cost_micros: bigint }>(
    `SELECT scope, period, tokens, cost_micros FROM usage_counters WHERE workspace_id = $1 AND scope IN ($2, $3) ORDER BY scope, period`,
    [workspaceId, `provider:${providerId}`, `workspace:${workspaceId}`],
  );
  return { ledger, counters };
}

describe('limits', () => {
  it('100 concurrent streams against a daily limit that fits 10: 10 reach the simulator, 90 get LIMIT_EXCEEDED, counters equal the ledger', async () => {
    const { workspace, token } = await newOwner(gw);
    // The simulator holds each answer back, so all 100 reservations meet the 10 in flight.
    const provider = await addSimProvider(gw, sim, token, { script: 'delay=1500' });
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 10 * RESERVED } }, { token })).errors).toBeUndefined();
    // An admin of this workspace watches alerts; so do an admin of another workspace and a member (who hears only of their own providers).
    const feed = await subscribeAlerts(gw, workspace.claims('admin'));
    const otherFeed = await subscribeAlerts(gw, newWorkspace().claims('admin'));
    const memberFeed = await subscribeAlerts(gw, workspace.claims('member'));

    const results = await streams(token, 100);
    const answered = results.filter((chunks) => chunks.some((c) => c.type === 'DONE'));
    const refused = results.filter((chunks) => chunks.at(-1)?.type === 'ERROR' && chunks.at(-1)?.errorCode === 'LIMIT_EXCEEDED');
    expect(answered).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(refused[0].at(-1)?.message).toContain("provider's daily token limit");
    expect(sim.requests.filter((r) => r.key === provider.key && r.method === 'POST')).toHaveLength(10);

    // Exactly one warning (80% crossed by the 8th reservation) and one "reached", each delivered once.
    const alerts = await gw.execute(AlertList, { first: 50 }, { token });
    expect(alerts.data!.alerts.edges.map((e) => e.node.kind).sort()).toEqual(['LIMIT_REACHED', 'LIMIT_WARNING']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(feed.map((a) => a.kind).sort()).toEqual(['LIMIT_REACHED', 'LIMIT_WARNING']);
    expect(feed.find((a) => a.kind === 'LIMIT_WARNING')).toMatchObject({
      providerId: provider.id,
      severity: 'WARNING',
      data: { limit: 'PROVIDER_DAILY_TOKENS', used: 8 * RESERVED, max: 10 * RESERVED },
    });
    expect(otherFeed).toEqual([]);
    expect(memberFeed).toEqual([]);

    const { ledger, counters } = await ledgerAndCounters(workspace.id, provider.id);
    expect(Number(ledger.rows)).toBe(10); // a refused call writes no row
    expect(counters.map((c) => [c.scope.split(':')[0], c.tokens, c.cost_micros])).toEqual([
      ['provider', ledger.tokens, ledger.micros],
      ['provider', ledger.tokens, ledger.micros],
      ['workspace', ledger.tokens, ledger.micros],
      ['workspace', ledger.tokens, ledger.micros],
    ]);
  }, 30_000);

  it('a monthly budget in dollars refuses the same way, and the workspace-wide limit applies across providers', async () => {
    const { workspace, token } = await newOwner(gw);
    const first = await addSimProvider(gw, sim, token, { priority: 1 });
    const second = await addSimProvider(gw, sim, token, { priority: 2 });
    // gpt-4o-mini: a reservation is 10 prompt tokens at 0.15 and 100 completion at 0.60 per million = 62 µ$ (61.5 rounded);
    // a call costs 8 µ$ (6 prompt, 12 completion). Budget 77 µ$: 62, then 8 + 62 = 70 fit; 16 + 62 = 78 does not.
    expect((await gw.execute(UpdateProvider, { id: first.id, input: { monthlyBudgetUsd: 0.000077 } }, { token })).errors).toBeUndefined();
    const chat = (providerId: string) => gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS, providerId, allowFallback: false } }, { token });
    expect((await chat(first.id)).errors).toBeUndefined();
    expect((await chat(first.id)).errors).toBeUndefined();
    const overBudget = await chat(first.id);
    expect(overBudget.errors?.[0].extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'PROVIDER_MONTHLY_BUDGET' });
    expect((await chat(second.id)).errors).toBeUndefined(); // another provider still has room

    const used = (await ledgerAndCounters(workspace.id, first.id)).ledger.tokens;
    expect((await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: Number(used) + RESERVED - 1 } }, { token })).errors).toBeUndefined();
    const workspaceWide = await chat(second.id);
    expect(workspaceWide.errors?.[0].extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'WORKSPACE_DAILY_TOKENS' });
  });

  it('with auto-failover, a provider at its limit hands the call to the next one before any upstream request', async () => {
    const { token } = await newOwner(gw);
    const full = await addSimProvider(gw, sim, token, { priority: 1 });
    const spare = await addSimProvider(gw, sim, token, { priority: 2 });
    expect((await gw.execute(UpdateProvider, { id: full.id, input: { dailyTokenLimit: RESERVED - 1 } }, { token })).errors).toBeUndefined();
    const answer = await gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS } }, { token });
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.chat).toMatchObject({ providerId: spare.id, fellBack: true });
    expect(sim.requests.filter((r) => r.key === full.key && r.method === 'POST')).toHaveLength(0);
  });

  it("counts days in the workspace's time zone: yesterday's usage stops counting at local midnight, with no job", async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdatePreferences, { input: { timezone: 'Asia/Tokyo' } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: RESERVED } }, { token })).errors).toBeUndefined();
    const chat = () => gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS } }, { token });
    now = new Date('2026-06-10T14:59:00Z'); // 23:59 in Tokyo
    expect((await chat()).errors).toBeUndefined();
    expect((await chat()).errors?.[0].extensions?.code).toBe('LIMIT_EXCEEDED');
    now = new Date('2026-06-10T15:00:00Z'); // midnight in Tokyo: a new day, a new counter row
    expect((await chat()).errors).toBeUndefined();
    now = new Date('2026-06-10T12:00:00Z');
  });

  it('a call that died between reserve and finalize is swept: its row ABANDONED, its estimate off the counters', async () => {
    // The sweeper is global: on CI's shared Postgres, a date no other test uses keeps it off their rows.
    const before = now;
    now = new Date('2024-03-01T12:00:00Z');
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 2 * RESERVED } }, { token })).errors).toBeUndefined();
    const chat = () => gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS } }, { token });
    expect((await chat()).errors).toBeUndefined();
    // The crash: a reservation through the ledger the gateway uses, never finalized.
    const ledger = createLedger(gw.db.sql, createCatalog().price, () => now, 50);
    const noLimits = { providerDailyTokens: null, providerMonthlyMicros: null, workspaceDailyTokens: null, workspaceMonthlyMicros: null };
    const ghostKey = randomUUID(); // made with a gateway API key: reserved on the key's counters too
    const { id: orphan } = await ledger.reserve(
      {
        workspaceId: workspace.id,
        providerId: provider.id,
        providerScope: `provider:${provider.id}`,
        kind: 'OPENAI',
        model: 'gpt-4o-mini',
        userId: 'ghost',
        apiKeyId: ghostKey,
        streamed: true,
        promptEstimate: 10,
        output: { max: RESERVED - 10, min: RESERVED - 10 },
        reservedAt: now,
      },
      { platform: false, timezone: 'UTC', limits: noLimits },
    );
    expect((await chat()).errors?.[0].extensions?.code).toBe('LIMIT_EXCEEDED');

    const sweep = gw.app.jobs.list.find((job) => job.name === 'sweep-reservations')!;
    expect(await gw.app.jobs.scheduler.runOnce(sweep)).toEqual({ swept: 0 }); // not old enough yet
    const started = now;
    now = new Date(now.getTime() + 16 * 60_000);
    expect(await gw.app.jobs.scheduler.runOnce(sweep)).toMatchObject({ swept: expect.any(Number) });
    const [row] = await gw.db.sql.query<{ status: string; total_tokens: number }>('SELECT status::text, total_tokens FROM usage_events WHERE id = $1', [orphan]);
    expect(row).toEqual({ status: 'ABANDONED', total_tokens: 0 });
    const { ledger: sums, counters } = await ledgerAndCounters(workspace.id, provider.id);
    expect(counters.filter((c) => c.period === '2024-03-01').map((c) => c.tokens)).toEqual([sums.tokens, sums.tokens]);
    const keyCounters = await gw.db.sql.query<{ tokens: bigint }>('SELECT tokens FROM usage_counters WHERE scope = $1', [`apikey:${ghostKey}`]);
    expect(keyCounters.map((c) => c.tokens)).toEqual([0n, 0n]);
    // The swept call counts in both rollups, as a call of no tokens.
    const { byUser, summed } = await userRollupBeside(gw.db, workspace.id);
    expect(byUser).toEqual(summed);
    expect(byUser).toContainEqual(expect.objectContaining({ user_id: 'ghost', requests: 1n, total_tokens: 0n }));
    now = started;
    expect((await chat()).errors).toBeUndefined(); // room again
    now = before;
  });

  // Finalize writes a call's counter rows, then its rollup rows: a sweep writing them the other way round could
  // deadlock with it (each holding what the other waits for). Two sessions are needed, so Postgres only.
  it.skipIf(!process.env.DATABASE_URL)('a sweep locks its counter rows before its rollup rows, as finalize does', async () => {
    const before = now;
    now = new Date('2024-04-01T12:00:00Z'); // a date no other test uses (the sweeper is global)
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const ledger = createLedger(gw.db.sql, createCatalog().price, () => now, 50);
    const noLimits = { providerDailyTokens: null, providerMonthlyMicros: null, workspaceDailyTokens: null, workspaceMonthlyMicros: null };
    await ledger.reserve(
      {
        workspaceId: workspace.id,
        providerId: provider.id,
        providerScope: `provider:${provider.id}`,
        kind: 'OPENAI',
        model: 'gpt-4o-mini',
        userId: 'locked',
        streamed: false,
        promptEstimate: 10,
        output: { max: 90, min: 90 },
        reservedAt: now,
      },
      { platform: false, timezone: 'UTC', limits: noLimits },
    );
    // Another session holds the call's per-user rollup row (inserted, not committed): the sweep waits for it there.
    const other = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO usage_daily_by_user (workspace_id, day, user_id) VALUES ($1, '2024-04-01', 'locked')`, [workspace.id]);
      const sweep = gw.app.jobs.list.find((job) => job.name === 'sweep-reservations')!;
      now = new Date(now.getTime() + 16 * 60_000);
      const swept = gw.app.jobs.scheduler.runOnce(sweep);
      await eventually(async () => {
        const [{ waiting }] = await gw.db.sql.query<{ waiting: bigint }>(
          `SELECT count(*) AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ABANDONED%'`,
        );
        return waiting === 1n ? true : undefined;
      });
      // By then it holds the workspace's day counter: this session cannot have it.
      await other.query(`SET LOCAL lock_timeout = '300ms'`);
      await expect(other.query(`UPDATE usage_counters SET requests = requests WHERE scope = $1 AND period = '2024-04-01'`, [`workspace:${workspace.id}`])).rejects.toMatchObject({
        code: '55P03',
      });
      await other.query('ROLLBACK');
      expect(await swept).toMatchObject({ swept: 1 });
    } finally {
      await other.end();
      now = before;
    }
  });
});

describe('the output cap of a call that names no maxTokens', () => {
  const PROMPT = 6 + 4; // "Hello there, simulator" and its one message, as the gateway estimates them
  const upstreamBody = (key: string) => sim.requests.filter((r) => r.key === key && r.method === 'POST').at(-1)!.body as Record<string, unknown>;
  const reservedOf = async (workspaceId: string) =>
    gw.db.sql.query<{ reserved_tokens: number; status: string }>('SELECT reserved_tokens, status::text FROM usage_events WHERE workspace_id = $1 ORDER BY created_at', [
      workspaceId,
    ]);

  it("is what the workspace's limit leaves: sent upstream and reserved exactly (a 500-token day answers)", async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 500 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
    expect(upstreamBody(provider.key).max_tokens).toBe(500 - PROMPT);
    expect(await reservedOf(workspace.id)).toEqual([{ reserved_tokens: 500, status: 'SUCCEEDED' }]);
    // The first call's unused allowance came back at its finalize: the second one answers too.
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
  });

  it("is at most the workspace's maxTokensPerRequest, which goes upstream (it was bypassed when a call named none)", async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdatePreferences, { input: { maxTokensPerRequest: 300 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
    expect(upstreamBody(provider.key).max_tokens).toBe(300);
    expect((await reservedOf(workspace.id))[0].reserved_tokens).toBe(PROMPT + 300);
  });

  it('is refused only when less than the stated floor (64 tokens) is left, naming the limit', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: PROMPT + 63 } }, { token })).errors).toBeUndefined();
    const refused = await gw.execute(Chat, { input: { messages: userMessage(), allowFallback: false } }, { token });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'PROVIDER_DAILY_TOKENS' });
    expect(await reservedOf(workspace.id)).toEqual([]);

    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: PROMPT + 64 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Chat, { input: { messages: userMessage(), allowFallback: false } }, { token })).errors).toBeUndefined();
    expect(upstreamBody(provider.key).max_tokens).toBe(64);
  });

  it('is what a monthly budget leaves at the model’s output price, to the micro-dollar', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const budgetMicros = 100n;
    expect((await gw.execute(UpdatePreferences, { input: { workspaceMonthlyBudgetUsd: Number(budgetMicros) / 1e6 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
    const [row] = await gw.db.sql.query<{ model: string; reserved_micros: bigint }>('SELECT model, reserved_micros FROM usage_events WHERE workspace_id = $1', [workspace.id]);
    // The largest allowance whose cost, priced as a finished call is, still fits the budget.
    const price = createCatalog().price('OPENAI', row.model, now);
    const cost = (output: number) => costMicros({ promptTokens: PROMPT, cachedPromptTokens: 0, completionTokens: output }, price);
    let fits = 0;
    while (cost(fits + 1) <= budgetMicros) fits++;
    expect(upstreamBody(provider.key).max_tokens).toBe(fits);
    expect(row.reserved_micros).toBe(cost(fits));
  });

  it.each([
    ['negative', -2_000_000_000],
    ['fractional', 1.5],
    ['past 32 bits', 2 ** 40],
    ['past the allowance', 5_000],
  ])('a provider that reports a %s completion count is not believed: the counters stay within what the call may spend', async (_what, reported) => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: `completion-tokens=${reported}` });
    const result = await gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS, allowFallback: false } }, { token });
    expect(result.errors).toBeUndefined();
    const { ledger, counters } = await ledgerAndCounters(workspace.id, provider.id);
    const [row] = await gw.db.sql.query<{ completion_tokens: number; total_tokens: number; prompt_tokens: number }>(
      'SELECT completion_tokens, total_tokens, prompt_tokens FROM usage_events WHERE workspace_id = $1',
      [workspace.id],
    );
    expect(row.completion_tokens).toBeGreaterThanOrEqual(0);
    expect(row.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
    expect(row.total_tokens).toBe(row.prompt_tokens + row.completion_tokens);
    for (const counter of counters) expect(counter.tokens).toBe(ledger.tokens);
  });

  it('takes the largest budgets and token limits the API allows (no arithmetic overflow in the reservation)', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { monthlyBudgetUsd: 1e9, dailyTokenLimit: Number.MAX_SAFE_INTEGER } }, { token })).errors).toBeUndefined();
    expect(
      (await gw.execute(UpdatePreferences, { input: { workspaceMonthlyBudgetUsd: 1e9, workspaceDailyTokenLimit: Number.MAX_SAFE_INTEGER } }, { token })).errors,
    ).toBeUndefined();
    for (const maxTokens of [undefined, 10_000_000]) {
      expect((await gw.execute(Chat, { input: { messages: userMessage(), maxTokens } }, { token })).errors, String(maxTokens)).toBeUndefined();
    }
  });

  it('a provider that streams past its cap is cut off near it: finishReason length, upstream closed, counters within the limit', async () => {
    const { workspace, token } = await newOwner(gw);
    // 400 chunks of 8 characters (about 800 tokens) whatever max_tokens says.
    const provider = await addSimProvider(gw, sim, token, { script: 'chunks=400&chunk-size=8&slow=2' });
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 2 * RESERVED } }, { token })).errors).toBeUndefined();
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage(), maxTokens: MAX_TOKENS, allowFallback: false });
    expect(chunks.at(-1)).toMatchObject({ type: 'DONE', finishReason: 'length' });
    expect(text(chunks).length).toBeLessThanOrEqual(MAX_TOKENS * 2 * 4);
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST')?.closedByClient || undefined);

    const nonStreamed = await gw.execute(Chat, { input: { messages: userMessage(), maxTokens: MAX_TOKENS, allowFallback: false } }, { token });
    expect(nonStreamed.data?.chat).toMatchObject({ finishReason: 'length' });
    expect(nonStreamed.data!.chat.content.length).toBeLessThanOrEqual(MAX_TOKENS * 2 * 4);

    const rows = await gw.db.sql.query<{ completion_tokens: number }>('SELECT completion_tokens FROM usage_events WHERE workspace_id = $1', [workspace.id]);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
    const { ledger, counters } = await ledgerAndCounters(workspace.id, provider.id);
    for (const counter of counters.filter((c) => c.period.length === 10)) {
      expect(counter.tokens).toBe(ledger.tokens);
      expect(counter.tokens).toBeLessThanOrEqual(BigInt(2 * RESERVED));
    }
  });
});
