// Reservations and finalizes that wait at the same moment are written by one statement each (group commit,
// src/db/group-commit.ts): each call still gets its own row, and every sum it feeds (limit counters, its session,
// the daily rollups) ends equal to the ledger, even when the calls of one batch share all of them. A call refused
// for a limit is refused alone; a call the database refuses fails alone.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import type { LimitExceeded } from '../../src/modules/limits/guards.js';
import { createLedger, type Reservation } from '../../src/modules/usage/ledger.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, Sessions, UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { statementRecorder } from '../testkit/statements.js';
import { userRollupBeside } from '../testkit/usage.js';

const statements = statementRecorder();
let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({}, { onStatement: statements.onStatement }), startSimulator()]);
});
afterAll(disposeAll);

const AT_ONCE = 30;
const isFinalize = (text: string) => text.includes('UPDATE usage_events SET status');

describe('finalizes at the same moment', () => {
  it('over the API: the counters, the session and the rollup end equal to the ledger', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    // Stored history numbers each turn's messages from the count its finalize returns: calls finalized together need distinct ones.
    expect((await gw.execute(UpdatePreferences, { input: { storeConversationHistory: true } }, { token })).errors).toBeUndefined();
    const opened = await gw.execute(Chat, { input: { messages: userMessage('First question') } }, { token });
    const sessionId = opened.data!.chat.sessionId!;

    const burst = await Promise.all(Array.from({ length: AT_ONCE }, (_, i) => gw.execute(Chat, { input: { messages: userMessage(`Question ${i}`), sessionId } }, { token })));
    expect(burst.flatMap((result) => result.errors ?? [])).toEqual([]);

    const [ledger] = await gw.db.sql.query<{ calls: bigint; tokens: bigint; cost: bigint }>(
      `SELECT count(*) AS calls, sum(total_tokens)::int8 AS tokens, sum(cost_micros)::int8 AS cost FROM usage_events WHERE workspace_id = $1 AND status = 'SUCCEEDED'`,
      [workspace.id],
    );
    expect(ledger.calls).toBe(BigInt(AT_ONCE + 1));
    const counters = await gw.db.sql.query<{ scope: string; tokens: bigint; cost_micros: bigint; requests: bigint }>(
      'SELECT scope, tokens, cost_micros, requests FROM usage_counters WHERE scope = ANY($1) ORDER BY scope, period',
      [[`provider:${provider.id}`, `workspace:${workspace.id}`]],
    );
    expect(counters).toHaveLength(4);
    for (const counter of counters) {
      expect(counter.tokens).toBe(ledger.tokens);
      expect(counter.cost_micros).toBe(ledger.cost);
      expect(BigInt(counter.requests)).toBe(ledger.calls);
    }
    const [rollup] = await gw.db.sql.query<{ requests: bigint; tokens: bigint; cost: bigint }>(
      'SELECT sum(requests)::int8 AS requests, sum(total_tokens)::int8 AS tokens, sum(cost_micros)::int8 AS cost FROM usage_daily WHERE workspace_id = $1',
      [workspace.id],
    );
    expect(rollup).toEqual({ requests: ledger.calls, tokens: ledger.tokens, cost: ledger.cost });
    const { byUser, summed } = await userRollupBeside(gw.db, workspace.id);
    expect(byUser).toHaveLength(1);
    expect(byUser).toEqual(summed);
    const stored = await gw.db.sql.query<{ seq: number }>('SELECT seq FROM chat_messages WHERE session_id = $1 ORDER BY seq', [sessionId]);
    expect(stored.map((message) => message.seq)).toEqual(Array.from({ length: 2 * (AT_ONCE + 1) }, (_, i) => i));
    const sessions = await gw.execute(Sessions, { first: 5 }, { token });
    expect(sessions.data?.sessions.edges.map((edge) => edge.node)).toEqual([
      expect.objectContaining({ id: sessionId, messageCount: 2 * (AT_ONCE + 1), totalTokens: Number(ledger.tokens) }),
    ]);
  });

  const noLimits = { providerDailyTokens: null, providerMonthlyMicros: null, workspaceDailyTokens: null, workspaceMonthlyMicros: null };
  const call = (totalTokens: number, providerCostMicros: bigint | null = null) => ({
    status: 'SUCCEEDED' as const,
    tokens: { promptTokens: 10, cachedPromptTokens: 0, completionTokens: totalTokens - 10, reasoningTokens: 0, totalTokens },
    usageSource: 'PROVIDER' as const,
    providerCostMicros,
    durationMs: 5,
    ttftMs: null,
    errorCode: null,
    sessionMessages: 2,
  });
  /** Six reservations of one call each in one session, through the ledger the gateway uses. */
  async function sixReserved(limits = noLimits) {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const ledger = createLedger(gw.db.sql, createCatalog().price, () => new Date(), 50);
    const reservation: Reservation = {
      workspaceId: workspace.id,
      providerId: provider.id,
      providerScope: `provider:${provider.id}`,
      kind: 'OPENAI',
      model: 'gpt-4o-mini',
      userId: 'group-commit',
      sessionId: randomUUID(),
      streamed: false,
      promptEstimate: 10,
      output: { max: 100, min: 100 },
      reservedAt: new Date(),
    };
    const options = { platform: false, timezone: 'UTC', limits };
    const first = await ledger.reserve({ ...reservation, newSession: { title: 'Group commit' } }, options);
    const others = await Promise.all(Array.from({ length: 5 }, () => ledger.reserve(reservation, options)));
    return { workspace, provider, ledger, reservation, options, ids: [first, ...others].map(({ id }) => id) };
  }

  const isReserve = (text: string) => text.includes('reserve_usage_batch(');

  it('reservations too: five at once are two statements (one sent at once, four together), and each call sees the ones before it against a limit', async () => {
    const { workspace, ledger, reservation, options } = await sixReserved();
    const reserving = await statements.during(() => Promise.all(Array.from({ length: 5 }, () => ledger.reserve(reservation, options))));
    expect(reserving.statements.filter(isReserve)).toHaveLength(2);
    expect(new Set(reserving.result.map(({ id }) => id)).size).toBe(5);

    // A workspace limit that leaves room for three more calls of 110 tokens: of six at once, three are written.
    const limited = { ...options, limits: { ...noLimits, workspaceDailyTokens: 11n * 110n + 3n * 110n + 50n } };
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => ledger.reserve(reservation, limited)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as { code?: string }] : []));
    expect(refusals.map((refusal) => refusal.code)).toEqual(['LIMIT_EXCEEDED', 'LIMIT_EXCEEDED', 'LIMIT_EXCEEDED']);
    const [counter] = await gw.db.sql.query<{ tokens: bigint }>(`SELECT tokens FROM usage_counters WHERE scope = $1 AND period LIKE '____-__-__'`, [`workspace:${workspace.id}`]);
    const [ledgerSum] = await gw.db.sql.query<{ tokens: bigint }>('SELECT sum(reserved_tokens)::int8 AS tokens FROM usage_events WHERE workspace_id = $1', [workspace.id]);
    expect(counter.tokens).toBe(14n * 110n);
    expect(ledgerSum.tokens).toBe(14n * 110n);
  });

  it('a budget in one batch: each call gets what the calls before it left, the last one less than it wanted, and the rest are refused naming the budget', async () => {
    const { workspace, provider, ledger, reservation, options } = await sixReserved();
    // Each call of 10 prompt and 100 output tokens costs 62 micro-dollars (gpt-4o-mini); six are reserved: 372.
    // A month's budget of 372 + 2 × 62 + 30 leaves two whole calls and 30 micro-dollars: 48 output tokens.
    const budget = { ...options, limits: { ...noLimits, providerMonthlyMicros: 372n + 2n * 62n + 30n } };
    const wanting = { ...reservation, output: { max: 100, min: 20 } };
    const reserving = await statements.during(() => Promise.allSettled(Array.from({ length: 6 }, () => ledger.reserve(wanting, budget))));
    expect(reserving.statements.filter(isReserve)).toHaveLength(2);
    const outcomes = reserving.result;
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.outputTokens : (outcome.reason as LimitExceeded).limit))).toEqual([
      100,
      100,
      48,
      'PROVIDER_MONTHLY_BUDGET',
      'PROVIDER_MONTHLY_BUDGET',
      'PROVIDER_MONTHLY_BUDGET',
    ]);
    const [month] = await gw.db.sql.query<{ cost_micros: bigint }>(`SELECT cost_micros FROM usage_counters WHERE scope = $1 AND period LIKE '____-__'`, [
      `provider:${provider.id}`,
    ]);
    const [ledgerSum] = await gw.db.sql.query<{ micros: bigint }>('SELECT sum(reserved_micros)::int8 AS micros FROM usage_events WHERE workspace_id = $1', [workspace.id]);
    expect(month.cost_micros).toBe(372n + 2n * 62n + 30n);
    expect(ledgerSum.micros).toBe(month.cost_micros);
  });

  it('a batch of two workspaces, with and without a gateway API key (six counters and four): each call is held to its own counters, and every counter ends equal to the rows on it', async () => {
    const { workspace, ledger, reservation, options } = await sixReserved();
    const other = { id: `group-commit-${randomUUID()}`, provider: randomUUID(), apiKey: randomUUID() };
    await gw.db.sql.query('INSERT INTO workspaces (id) VALUES ($1)', [other.id]);
    const withKey: Reservation = { ...reservation, workspaceId: other.id, providerId: other.provider, providerScope: `provider:${other.provider}`, apiKeyId: other.apiKey };
    // Each call takes 110 tokens; the key's day leaves room for one: the second call with the key is refused, naming it.
    const keyLimited = { ...options, limits: { ...noLimits, apiKeyDailyTokens: 150n } };
    const reserve = (call: Reservation) => ledger.reserve(call, call.apiKeyId ? keyLimited : options);
    // The other workspace's first call has no key: its provider and workspace counters then hold more than the key's.
    const withoutKey: Reservation = { ...withKey, apiKeyId: null };
    const calls = [reservation, withoutKey, withKey, reservation, withKey, reservation];
    const reserving = await statements.during(() => Promise.allSettled(calls.map(reserve)));
    expect(reserving.statements.filter(isReserve)).toHaveLength(2);
    expect(reserving.result.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.outputTokens : (outcome.reason as LimitExceeded).limit))).toEqual([
      100,
      100,
      100,
      100,
      'API_KEY_DAILY_TOKENS',
      100,
    ]);
    const counters = await gw.db.sql.query<{ scope: string; tokens: bigint }>('SELECT scope, tokens FROM usage_counters WHERE scope = ANY($1) AND period LIKE $2', [
      [`provider:${reservation.providerId}`, `workspace:${workspace.id}`, `provider:${other.provider}`, `workspace:${other.id}`, `apikey:${other.apiKey}`],
      '____-__-__',
    ]);
    const [rows] = await gw.db.sql.query<{ first: bigint; other: bigint; key: bigint }>(
      `SELECT sum(reserved_tokens) FILTER (WHERE workspace_id = $1)::int8 AS first, sum(reserved_tokens) FILTER (WHERE workspace_id = $2)::int8 AS other,
        sum(reserved_tokens) FILTER (WHERE api_key_id = $3)::int8 AS key FROM usage_events WHERE workspace_id IN ($1, $2)`,
      [workspace.id, other.id, other.apiKey],
    );
    expect(rows).toEqual({ first: 9n * 110n, other: 2n * 110n, key: 110n });
    expect(Object.fromEntries(counters.map((counter) => [counter.scope, counter.tokens]))).toEqual({
      [`provider:${reservation.providerId}`]: rows.first,
      [`workspace:${workspace.id}`]: rows.first,
      [`provider:${other.provider}`]: rows.other,
      [`workspace:${other.id}`]: rows.other,
      [`apikey:${other.apiKey}`]: rows.key,
    });
  });

  it('through the ledger: six at once are two statements (one sent at once, five together), summed once each', async () => {
    const { workspace, provider, ledger, reservation, ids } = await sixReserved();
    // Every other call with a cost its provider reported: each row keeps its own, or none.
    const providerCost = (i: number) => (i % 2 ? BigInt(100 + i) : null);
    const finalizing = await statements.during(() => Promise.all(ids.map((id, i) => ledger.finalize(id, reservation, call(30, providerCost(i)), 'UTC'))));
    expect(finalizing.statements.filter(isFinalize)).toHaveLength(2);
    const stored = await gw.db.sql.query<{ id: string; provider_cost_micros: bigint | null }>(
      'SELECT id::text, provider_cost_micros FROM usage_events WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(ids.map((id) => stored.find((row) => row.id === id)?.provider_cost_micros)).toEqual(ids.map((_, i) => providerCost(i)));
    // Each call gets the session's count as if the six had been finalized one by one: its stored messages are numbered from it.
    const messages = finalizing.result.map((finalized) => Number(finalized.sessionMessages));
    expect(messages.sort((a, b) => a - b)).toEqual([2, 4, 6, 8, 10, 12]);
    const [session] = await gw.db.sql.query<{ message_count: number; total_tokens: bigint }>('SELECT message_count, total_tokens FROM chat_sessions WHERE id = $1', [
      reservation.sessionId,
    ]);
    expect(session).toEqual({ message_count: 12, total_tokens: 6n * 30n });
    const counters = await gw.db.sql.query<{ tokens: bigint; requests: number }>('SELECT tokens, requests FROM usage_counters WHERE scope = ANY($1)', [
      [`provider:${provider.id}`, `workspace:${workspace.id}`],
    ]);
    expect(counters).toEqual(Array(4).fill({ tokens: 6n * 30n, requests: 6 }));
  });

  it('finalizes and reservations waiting together are one statement, the finalizes first: what they give back is there for the reservations', async () => {
    const { workspace, ledger, reservation, options, ids } = await sixReserved();
    // Six calls reserved 110 tokens each (660); each finalize of 30 tokens gives 80 back. The first finalize is
    // sent alone; the other five and six new reservations wait for it and leave together. A day's limit of 630 leaves
    // 50 tokens before those five finalizes (no call of 110 fits) and 450 after them (four fit).
    const limited = { ...options, limits: { ...noLimits, workspaceDailyTokens: 630n } };
    const together = await statements.during(() => {
      const finalizing = ids.map((id) => ledger.finalize(id, reservation, call(30), 'UTC'));
      const reserving = Array.from({ length: 6 }, () => ledger.reserve(reservation, limited));
      return Promise.all([Promise.allSettled(reserving), Promise.all(finalizing)]);
    });
    expect(together.statements.filter((text) => isFinalize(text) || isReserve(text)).map((text) => [isFinalize(text), isReserve(text)])).toEqual([
      [true, false],
      [true, true],
    ]);
    const [reserved] = together.result;
    expect(reserved.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.outputTokens : (outcome.reason as LimitExceeded).limit))).toEqual([
      100,
      100,
      100,
      100,
      'WORKSPACE_DAILY_TOKENS',
      'WORKSPACE_DAILY_TOKENS',
    ]);
    const [day] = await gw.db.sql.query<{ tokens: bigint }>(`SELECT tokens FROM usage_counters WHERE scope = $1 AND period LIKE '____-__-__'`, [`workspace:${workspace.id}`]);
    const [rows] = await gw.db.sql.query<{ tokens: bigint }>(
      `SELECT sum(CASE WHEN status = 'RESERVED' THEN reserved_tokens ELSE total_tokens END)::int8 AS tokens FROM usage_events WHERE workspace_id = $1`,
      [workspace.id],
    );
    expect(day.tokens).toBe(6n * 30n + 4n * 110n);
    expect(rows.tokens).toBe(day.tokens);
  });

  it('fail alone: a call the database refuses does not take the others of its batch with it', async () => {
    const { workspace, ledger, reservation, ids } = await sixReserved();
    // 2^31 tokens does not fit the column: the batch of five holding it fails, and its calls are written again one by one.
    const finalizing = await statements.during(() => Promise.allSettled(ids.map((id, i) => ledger.finalize(id, reservation, call(i === 3 ? 2 ** 31 : 30), 'UTC'))));
    expect(finalizing.result.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(finalizing.statements.filter(isFinalize)).toHaveLength(1 + 1 + 5);
    const rows = await gw.db.sql.query<{ status: string }>('SELECT status::text FROM usage_events WHERE workspace_id = $1 ORDER BY status', [workspace.id]);
    expect(rows.map((row) => row.status)).toEqual(['RESERVED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });

  it('fail alone in a statement of both kinds: a finalize the database refuses takes neither the reservations nor the other finalizes with it', async () => {
    const { workspace, ledger, reservation, options, ids } = await sixReserved();
    // The first finalize goes alone; the second (2^31 tokens, too many for the column) fails the statement that also
    // holds three reservations and the other finalizes, and each of its steps is written again on its own.
    const together = await statements.during(() => {
      const finalizing = ids.map((id, i) => ledger.finalize(id, reservation, call(i === 1 ? 2 ** 31 : 30), 'UTC'));
      const reserving = Array.from({ length: 3 }, () => ledger.reserve(reservation, options));
      return Promise.all([Promise.allSettled(finalizing), Promise.allSettled(reserving)]);
    });
    const [finalized, reserved] = together.result;
    expect(finalized.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(reserved.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // One alone, one of both kinds that failed, then its eight steps one by one.
    expect(together.statements.filter((text) => isFinalize(text) || isReserve(text))).toHaveLength(1 + 1 + 8);
    const rows = await gw.db.sql.query<{ status: string }>('SELECT status::text FROM usage_events WHERE workspace_id = $1 ORDER BY status', [workspace.id]);
    expect(rows.map((row) => row.status)).toEqual(['RESERVED', 'RESERVED', 'RESERVED', 'RESERVED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const [day] = await gw.db.sql.query<{ tokens: bigint }>(`SELECT tokens FROM usage_counters WHERE scope = $1 AND period LIKE '____-__-__'`, [`workspace:${workspace.id}`]);
    const [sum] = await gw.db.sql.query<{ tokens: bigint }>(
      `SELECT sum(CASE WHEN status = 'RESERVED' THEN reserved_tokens ELSE total_tokens END)::int8 AS tokens FROM usage_events WHERE workspace_id = $1`,
      [workspace.id],
    );
    expect(day.tokens).toBe(sum.tokens);
  });
});
