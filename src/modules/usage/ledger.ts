// The usage ledger: a row exists, RESERVED, before the upstream call starts,
// and is finalized after it. Reserving adds the call's estimate to the limit
// counters it touches (the provider's and the workspace's day and month, and
// the gateway API key's when the call was made with one) only
// if every limit still holds; finalizing corrects them by actual minus
// reserved. Both are single statements, so concurrent calls cannot overshoot a
// limit by more than the difference between reserved and actual. A chat
// session moves with its rows the same way: a new session is written by its
// first reservation, and each successful call adds to its totals as it is
// finalized, so a session's totals never disagree with the ledger.
import { randomUUID } from 'node:crypto';
import { groupCommit } from '../../db/group-commit.js';
import type { Sql } from '../../db/sql.js';
import { groupedStatement, type Placeholders, type Statement } from '../../db/statement.js';
import { isDatabaseUnavailable } from '../../db/unavailable.js';
import type { ProviderKind, UsageSource, UsageStatus } from '../../generated/prisma/client.js';
import { costMicros, type PriceLookup } from '../catalog/pricing.js';
import { apiKeyScope, platformQuotaScope, workspaceScope } from '../limits/counter-scopes.js';
import { type Guard, guardOrder, isBudget, LimitExceeded, type LimitKey } from '../limits/guards.js';
import type { OutputAllowance } from '../limits/output-allowance.js';
import { dayKey, monthKey } from '../limits/periods.js';
import type { TokenCounts } from './token-counts.js';

export interface Reservation {
  workspaceId: string;
  providerId: string;
  /** The provider's counter scope (see limits/counter-scopes.ts). */
  providerScope: string;
  kind: ProviderKind;
  model: string;
  agent?: string | null;
  operation?: string | null;
  userId: string;
  /** The gateway API key the call was made with, if any: its counters are reserved on too. */
  apiKeyId?: string | null;
  sessionId?: string | null;
  streamed: boolean;
  /** The prompt's estimated tokens (priced at the input price). */
  promptEstimate: number;
  /**
   * The output allowance (priced at the output price): as much as the limits leave, up to `max`, and
   * never under `min` (the call is refused instead). `min` equals `max` when the caller named its maxTokens.
   */
  output: OutputAllowance;
  fallbackFromId?: string | null;
  /** When the call was reserved: its counters are that moment's day and month. */
  reservedAt: Date;
  /** Set when `sessionId` names a session not written yet: the reservation writes it (once, whichever attempt is first). */
  newSession?: { title: string | null };
}

/** The limits a reservation must fit in; null is no limit. */
export interface Limits {
  providerDailyTokens: bigint | null;
  providerMonthlyMicros: bigint | null;
  workspaceDailyTokens: bigint | null;
  workspaceMonthlyMicros: bigint | null;
  /** The API key's, for a call made with one. */
  apiKeyDailyTokens?: bigint | null;
  apiKeyMonthlyMicros?: bigint | null;
}

/** A written reservation: the output tokens it may spend, and each limit as it met it (for alerts). */
export interface Reserved {
  id: string;
  outputTokens: number;
  guards: Guard[];
}

/** What finalize records of a call that ended (see the chat core's Outcome, which it is made from). */
export interface CallRecord {
  status: Exclude<UsageStatus, 'RESERVED'>;
  tokens: TokenCounts;
  usageSource: UsageSource;
  /** What the provider said the call cost, stored beside ours (`provider_cost_micros`); null when it said nothing. */
  providerCostMicros: bigint | null;
  durationMs: number;
  ttftMs: number | null;
  errorCode: string | null;
  /** Messages a successful call adds to its session (the question's and the answer). */
  sessionMessages: number;
}

/**
 * `maintainRollup: false` leaves the daily rollup alone; only `bench:usage` uses
 * it, to measure what keeping the rollup costs each finalize.
 */
export function createLedger(sql: Sql, price: PriceLookup, clock: () => Date, platformMonthlyRequests: number, { maintainRollup = true } = {}) {
  const inLane = groupCommit((steps: LedgerStep[]) => writeSteps(sql, steps, maintainRollup), LEDGER_GROUP);
  // A step's result is of its kind (see writeSteps).
  const reserveInLane = (reserve: ReserveParams) => inLane({ reserve }) as Promise<bigint[]>;
  const finalizeInLane = (finalize: Finalizing) => inLane({ finalize }) as Promise<Finalized>;
  return {
    /**
     * Writes the RESERVED row. A call through a platform provider first takes one
     * of the workspace's monthly platform calls, in the same transaction, with a
     * conditional update: LIMIT_EXCEEDED when none is left, and nothing written.
     */
    async reserve(reservation: Reservation, options: { platform: boolean; timezone: string; limits: Limits }): Promise<Reserved> {
      const id = randomUUID();
      const at = reservation.reservedAt;
      const day = dayKey(at, options.timezone);
      const month = monthKey(at, options.timezone);
      const { limits } = options;
      const quote = price(reservation.kind, reservation.model, at);
      const counters = countersOf(reservation, day, month);
      const limitOf: Record<LimitKey, bigint | null> = {
        PROVIDER_DAILY_TOKENS: limits.providerDailyTokens,
        PROVIDER_MONTHLY_BUDGET: limits.providerMonthlyMicros,
        WORKSPACE_DAILY_TOKENS: limits.workspaceDailyTokens,
        WORKSPACE_MONTHLY_BUDGET: limits.workspaceMonthlyMicros,
        API_KEY_DAILY_TOKENS: limits.apiKeyDailyTokens ?? null,
        API_KEY_MONTHLY_BUDGET: limits.apiKeyMonthlyMicros ?? null,
      };
      // One a limit, in the guard order like the counters; `reserved` is [tokens, micro-dollars] when it was written.
      const guards = (reserved: { tokens: bigint; micros: bigint; after: bigint[] } | null): Guard[] =>
        counters.order.map((key, i) => ({
          key,
          scope: counters.scopes[i],
          period: counters.periods[i],
          limit: limitOf[key],
          added: reserved ? (isBudget(key) ? reserved.micros : reserved.tokens) : 0n,
          after: reserved ? reserved.after[2 * i + (isBudget(key) ? 1 : 0)] : null,
        }));
      const params: ReserveParams = {
        id,
        workspaceId: reservation.workspaceId,
        providerId: reservation.providerId,
        kind: reservation.kind,
        model: reservation.model,
        agent: reservation.agent ?? null,
        operation: reservation.operation ?? null,
        userId: reservation.userId,
        apiKeyId: reservation.apiKeyId ?? null,
        sessionId: reservation.sessionId ?? null,
        streamed: reservation.streamed,
        reservedAt: at,
        scopes: counters.scopes,
        periods: counters.periods,
        promptTokens: reservation.promptEstimate,
        promptScaled: (BigInt(reservation.promptEstimate) * quote.input).toString(),
        outputPrice: quote.output,
        outputMax: reservation.output.max,
        outputMin: reservation.output.min,
        tokenLimits: counters.order.map((key) => (isBudget(key) ? null : limitOf[key])),
        microsLimits: counters.order.map((key) => (isBudget(key) ? limitOf[key] : null)),
        writesSession: reservation.newSession !== undefined,
        sessionTitle: reservation.newSession?.title ?? null,
        fallbackFromId: reservation.fallbackFromId ?? null,
      };
      const insert = async (db: Pick<Sql, 'query'> | null): Promise<Reserved> => {
        const written = db ? ((await writeSteps(db, [{ reserve: params }], maintainRollup))[0] as bigint[]) : await reserveInLane(params);
        const [outputTokens, micros, ...after] = written.map(BigInt);
        if (outputTokens === REFUSED) throw LimitExceeded.counter(guards(null)[Number(written[1]) - 1]);
        return { id, outputTokens: Number(outputTokens), guards: guards({ tokens: BigInt(reservation.promptEstimate) + outputTokens, micros, after }) };
      };
      if (!options.platform) return insert(null);
      // A refusal thrown inside the transaction gives the platform call back.
      return sql.transaction(async (tx) => {
        const granted = await tx.query<{ requests: bigint }>(
          `INSERT INTO usage_counters (scope, period, workspace_id, requests) VALUES ($1, $2, $3, 1)
          ON CONFLICT (scope, period) DO UPDATE SET requests = usage_counters.requests + 1 WHERE usage_counters.requests < $4
          RETURNING requests`,
          [platformQuotaScope(reservation.workspaceId), month, reservation.workspaceId, platformMonthlyRequests],
        );
        if (granted.length === 0 || granted[0].requests > platformMonthlyRequests) {
          throw LimitExceeded.platform(platformMonthlyRequests);
        }
        return insert(tx);
      });
    },

    /**
     * One statement, shared with the other calls whose finalizes wait at that moment (group commit: each call is
     * its own row and sums, the statement commits them together), atomically: the row gets its outcome and its exact cost (the
     * price version in force when it was reserved) beside the provider's word on it, the four limit counters it
     * reserved on (provider, workspace and API key, day and month) move by actual minus
     * reserved tokens and cost, the daily rollup row of its local day,
     * provider, model, agent, operation and user takes it in, and a successful call's session
     * adds its messages, tokens and cost. A session keeps the provider and
     * model of its first answer, whether it was read to its end or cancelled. A row that is no longer RESERVED (already finalized or
     * swept) changes nothing.
     * Returns the provider's counters after the call, for live ticks, and the session's message count.
     */
    finalize(id: string, reservation: Reservation, outcome: CallRecord, timezone: string): Promise<Finalized> {
      const quote = price(reservation.kind, reservation.model, reservation.reservedAt);
      const day = dayKey(reservation.reservedAt, timezone);
      const month = monthKey(reservation.reservedAt, timezone);
      const { scopes, periods } = countersOf(reservation, day, month);
      return finalizeInLane({
        id,
        outcome,
        finishedAt: clock(),
        costMicros: costMicros(outcome.tokens, quote),
        priceVersion: quote.version,
        priceFallback: quote.fallback,
        providerScope: reservation.providerScope,
        sessionId: reservation.sessionId ?? null,
        scopes,
        periods,
        day,
        month,
        timezone,
      });
    },
  };
}

/** The counters a call is reserved on, one a limit in the guard order: the order both statements lock them in. */
function countersOf(
  reservation: Pick<Reservation, 'workspaceId' | 'providerScope' | 'apiKeyId'>,
  day: string,
  month: string,
): { order: readonly LimitKey[]; scopes: string[]; periods: string[] } {
  const { apiKeyId } = reservation;
  const order = guardOrder(Boolean(apiKeyId));
  const scopeOf = (key: LimitKey) =>
    key.startsWith('PROVIDER') ? reservation.providerScope : key.startsWith('WORKSPACE') ? workspaceScope(reservation.workspaceId) : apiKeyScope(apiKeyId!);
  return { order, scopes: order.map(scopeOf), periods: order.map((key) => (isBudget(key) ? month : day)) };
}

interface ReserveParams {
  id: string;
  workspaceId: string;
  providerId: string;
  kind: ProviderKind;
  model: string;
  agent: string | null;
  operation: string | null;
  userId: string;
  apiKeyId: string | null;
  sessionId: string | null;
  streamed: boolean;
  reservedAt: Date;
  /** The counters, in the guard order. */
  scopes: string[];
  periods: string[];
  promptTokens: number;
  /** The prompt's cost in micro-dollars times a million (a decimal string: it passes int8). */
  promptScaled: string;
  /** Micro-dollars per million output tokens. */
  outputPrice: bigint;
  outputMax: number;
  outputMin: number;
  /** Each counter's limit in the guard order, tokens and micro-dollars apart; null where none is set. */
  tokenLimits: (bigint | null)[];
  microsLimits: (bigint | null)[];
  writesSession: boolean;
  sessionTitle: string | null;
  fallbackFromId: string | null;
}

/** A batch of reservations, one element a call; each call's counters and limits are a slice of the flat arrays. */
interface ReserveBatchParams {
  ids: string[];
  workspaceIds: string[];
  providerIds: string[];
  kinds: ProviderKind[];
  models: string[];
  agents: (string | null)[];
  operations: (string | null)[];
  userIds: string[];
  apiKeyIds: (string | null)[];
  sessionIds: (string | null)[];
  streamed: boolean[];
  reservedAt: Date[];
  promptTokens: number[];
  promptScaled: string[];
  outputPrices: bigint[];
  outputMax: number[];
  outputMin: number[];
  writesSession: boolean[];
  sessionTitles: (string | null)[];
  fallbackFromIds: (string | null)[];
  /** Where each call's counters start and end in the flat arrays (1-based, inclusive). */
  firstCounters: number[];
  lastCounters: number[];
  scopes: string[];
  periods: string[];
  tokenLimits: (bigint | null)[];
  microsLimits: (bigint | null)[];
  /** Each counter's place in its call's guard order, and its call's workspace. */
  counterTurns: number[];
  counterWorkspaceIds: string[];
}

/**
 * The steps that take the output allowance on every counter and write the RESERVED rows (and new sessions), for one
 * call or several: reserve_usage_batch (prisma/migrations/20261126220000_reserve_usage_batch) locks every counter of
 * the batch once, in the guard order then by name, as finalizes lock them; each call reserves in turn and sees the
 * calls before it, and each counter is written once. A call refused writes nothing and gets [-1, the binding limit's
 * position]: the others of its batch go on. It is called by its parameters' names, as the migration declares them.
 * `after`, when set, is a step the function must wait for (see ledgerStatementText).
 */
function reserveSteps(p: Placeholders<ReserveBatchParams>, after?: string): string[] {
  const turns = `${p.counterTurns}::int4[]`;
  return [
    `reserving AS (
    SELECT * FROM unnest(${p.ids}::uuid[], ${p.workspaceIds}::text[], ${p.providerIds}::uuid[], ${p.kinds}::"ProviderKind"[], ${p.models}::text[], ${p.agents}::text[],
      ${p.operations}::text[], ${p.userIds}::text[], ${p.apiKeyIds}::uuid[], ${p.sessionIds}::uuid[], ${p.streamed}::bool[], ${p.reservedAt}::timestamptz[],
      ${p.promptTokens}::int8[], ${p.writesSession}::bool[], ${p.sessionTitles}::text[], ${p.fallbackFromIds}::uuid[]) WITH ORDINALITY
    AS i(id, workspace_id, provider_id, kind, model, agent, operation, user_id, api_key_id, session_id, streamed, reserved_at, prompt_tokens,
      writes_session, session_title, fallback_from_id, call_index)
  )`,
    `guard AS (
    SELECT i.*, r.counters
    FROM reserve_usage_batch(p_first => ${p.firstCounters}::int4[], p_last => ${p.lastCounters}::int4[], p_prompt_tokens => ${p.promptTokens}::int8[],
      p_prompt_scaled => ${p.promptScaled}::numeric[], p_output_price => ${p.outputPrices}::int8[], p_output_max => ${p.outputMax}::int8[],
      p_output_min => ${p.outputMin}::int8[], p_scopes => ${p.scopes}::text[], p_periods => ${p.periods}::text[], p_workspaces => ${p.counterWorkspaceIds}::text[],
      p_turns => ${after ? `CASE WHEN (SELECT count(*) FROM ${after}) >= 0 THEN ${turns} END` : turns}, p_token_limits => ${p.tokenLimits}::int8[],
      p_micros_limits => ${p.microsLimits}::int8[]) AS r
    JOIN reserving i ON i.call_index = r.call_index
  )`,
    `new_session AS (
    INSERT INTO chat_sessions (id, workspace_id, user_id, title, agent, created_at, last_active_at)
    SELECT session_id, workspace_id, user_id, session_title, agent, reserved_at, reserved_at FROM guard WHERE writes_session AND counters[1] >= 0
    ON CONFLICT (id) DO NOTHING
  )`,
    `reserved AS (
    INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, api_key_id, session_id, status, streamed, reserved_tokens,
      fallback_from_id, created_at, reserved_micros)
    SELECT id, workspace_id, provider_id, kind, model, agent, operation, user_id, api_key_id, session_id,
      'RESERVED', streamed, prompt_tokens + counters[1], fallback_from_id, reserved_at, counters[2] FROM guard WHERE counters[1] >= 0
  )`,
  ];
}

/** What reserve_usage_batch gives first for a refused call, before the binding limit's position (1-based). */
const REFUSED = -1n;

/** The reservations of `calls` as the statement takes them. */
function reserveValues(calls: ReserveParams[]): ReserveBatchParams {
  let next = 1;
  const slices = calls.map((call) => {
    const first = next;
    next += call.scopes.length;
    return [first, next - 1];
  });
  return {
    ids: calls.map((call) => call.id),
    workspaceIds: calls.map((call) => call.workspaceId),
    providerIds: calls.map((call) => call.providerId),
    kinds: calls.map((call) => call.kind),
    models: calls.map((call) => call.model),
    agents: calls.map((call) => call.agent),
    operations: calls.map((call) => call.operation),
    userIds: calls.map((call) => call.userId),
    apiKeyIds: calls.map((call) => call.apiKeyId),
    sessionIds: calls.map((call) => call.sessionId),
    streamed: calls.map((call) => call.streamed),
    reservedAt: calls.map((call) => call.reservedAt),
    promptTokens: calls.map((call) => call.promptTokens),
    promptScaled: calls.map((call) => call.promptScaled),
    outputPrices: calls.map((call) => call.outputPrice),
    outputMax: calls.map((call) => call.outputMax),
    outputMin: calls.map((call) => call.outputMin),
    writesSession: calls.map((call) => call.writesSession),
    sessionTitles: calls.map((call) => call.sessionTitle),
    fallbackFromIds: calls.map((call) => call.fallbackFromId),
    firstCounters: slices.map(([first]) => first),
    lastCounters: slices.map(([, last]) => last),
    scopes: calls.flatMap((call) => call.scopes),
    periods: calls.flatMap((call) => call.periods),
    tokenLimits: calls.flatMap((call) => call.tokenLimits),
    microsLimits: calls.flatMap((call) => call.microsLimits),
    counterTurns: calls.flatMap((call) => call.scopes.map((_, turn) => turn)),
    counterWorkspaceIds: calls.flatMap((call) => call.scopes.map(() => call.workspaceId)),
  };
}

/** A call waiting for its finalize, with what it is recorded as. */
interface Finalizing {
  id: string;
  outcome: CallRecord;
  finishedAt: Date;
  costMicros: bigint;
  priceVersion: string;
  priceFallback: boolean;
  providerScope: string;
  sessionId: string | null;
  /** The counters it was reserved on, in the guard order, and its local day and month. */
  scopes: string[];
  periods: string[];
  day: string;
  month: string;
  /** The workspace's, for the rollup's local day. */
  timezone: string;
}

/**
 * Reservations and finalizes that wait for a statement leave together, in one lane (see db/group-commit.ts and
 * ledgerStatementText). One statement at a time: every call that arrives while a statement runs leaves with the next
 * one, so under load a statement carries several calls' steps (bench:peers at 16 connections, two at a time against
 * one: Postgres CPU per call 1,050–1,360 µs against 740–820, requests/s 0.7–0.8× as many), and a lone call waits at
 * most for the statement ahead of it. A batch that fails for one call's doing is written again step by step in its
 * turn, and the steps behind it wait for that (rare: a refused limit is a result, not a failure). A batch that fails
 * because the database is away fails whole: writing its steps again one by one would only wait longer.
 */
const LEDGER_GROUP = { inFlight: 1, maxBatch: 64, mayBeOneItems: (error: unknown) => !isDatabaseUnavailable(error) };

/** A batch of finalizes, one element a call; the counters are flat, each named by its call's id. */
interface FinalizeParams {
  ids: string[];
  statuses: CallRecord['status'][];
  promptTokens: number[];
  cachedPromptTokens: number[];
  completionTokens: number[];
  reasoningTokens: number[];
  totalTokens: number[];
  usageSources: UsageSource[];
  durationsMs: number[];
  ttftsMs: (number | null)[];
  errorCodes: (string | null)[];
  finishedAt: Date[];
  costsMicros: bigint[];
  providerCostsMicros: (bigint | null)[];
  priceVersions: string[];
  priceFallbacks: boolean[];
  sessionMessages: number[];
  timezones: string[];
  counterCalls: string[];
  counterScopes: string[];
  counterPeriods: string[];
  /** Each counter's place in its call's guard order. */
  counterTurns: number[];
}

/**
 * The steps of finalize (see there); without the rollup steps when `maintainRollup` is false. Several calls may
 * touch one counter, one session or one rollup row: each is summed first (a statement may not update a row twice).
 * `reserving`, when set, are the reservations of the same statement: their counters are locked here too, with
 * nothing added, so that every counter of the statement is locked in one go in the one order.
 */
function finalizeSteps(p: Placeholders<FinalizeParams>, maintainRollup: boolean, reserving?: Placeholders<ReserveBatchParams>): string[] {
  const locksOnly = reserving
    ? `
        UNION ALL SELECT scope, period, turn, workspace_id, 0, 0, 0
        FROM unnest(${reserving.scopes}::text[], ${reserving.periods}::text[], ${reserving.counterTurns}::int4[], ${reserving.counterWorkspaceIds}::text[])
          AS c(scope, period, turn, workspace_id)`
    : '';
  return [
    `outcomes AS (
      SELECT * FROM unnest(${p.ids}::uuid[], ${p.statuses}::"UsageStatus"[], ${p.promptTokens}::int4[], ${p.cachedPromptTokens}::int4[], ${p.completionTokens}::int4[],
        ${p.reasoningTokens}::int4[], ${p.totalTokens}::int4[], ${p.usageSources}::"UsageSource"[], ${p.durationsMs}::int4[], ${p.ttftsMs}::int4[], ${p.errorCodes}::text[],
        ${p.finishedAt}::timestamptz[], ${p.costsMicros}::int8[], ${p.providerCostsMicros}::int8[], ${p.priceVersions}::text[], ${p.priceFallbacks}::bool[],
        ${p.sessionMessages}::int4[], ${p.timezones}::text[])
      AS i(id, status, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, total_tokens, usage_source, duration_ms, ttft_ms, error_code,
        finished_at, cost_micros, provider_cost_micros, price_version, price_fallback, session_messages, timezone)
    )`,
    `finished AS (
      UPDATE usage_events SET status = i.status, prompt_tokens = i.prompt_tokens, cached_prompt_tokens = i.cached_prompt_tokens,
        completion_tokens = i.completion_tokens, reasoning_tokens = i.reasoning_tokens, total_tokens = i.total_tokens,
        usage_source = i.usage_source, duration_ms = i.duration_ms, ttft_ms = i.ttft_ms, error_code = i.error_code, finished_at = i.finished_at,
        cost_micros = i.cost_micros, provider_cost_micros = i.provider_cost_micros, price_version = i.price_version, price_fallback = i.price_fallback
      FROM outcomes i WHERE usage_events.id = i.id AND usage_events.status = 'RESERVED'
      RETURNING usage_events.*, i.session_messages AS added_messages, i.timezone
    )`,
    `finalized_counters AS (
      INSERT INTO usage_counters (scope, period, workspace_id, tokens, cost_micros, requests)
      SELECT scope, period, min(workspace_id), sum(tokens), sum(cost_micros), sum(requests)
      FROM (
        SELECT c.scope, c.period, c.turn, f.workspace_id, f.total_tokens - f.reserved_tokens AS tokens, f.cost_micros - f.reserved_micros AS cost_micros, 1 AS requests
        FROM finished f JOIN unnest(${p.counterCalls}::uuid[], ${p.counterScopes}::text[], ${p.counterPeriods}::text[], ${p.counterTurns}::int4[]) AS c(id, scope, period, turn)
          ON c.id = f.id${locksOnly}
      ) AS moves
      GROUP BY scope, period
      -- Locked in the guard order (then by name), as every reservation and every other batch locks them: no deadlock.
      ORDER BY min(turn), scope, period
      ON CONFLICT (scope, period) DO UPDATE SET tokens = usage_counters.tokens + EXCLUDED.tokens,
        cost_micros = usage_counters.cost_micros + EXCLUDED.cost_micros, requests = usage_counters.requests + EXCLUDED.requests
      RETURNING scope, period, tokens, cost_micros
    )`,
    `answered AS (
      SELECT session_id, (array_agg(provider_id ORDER BY created_at))[1] AS provider_id, (array_agg(kind ORDER BY created_at))[1] AS kind,
        (array_agg(model ORDER BY created_at))[1] AS model, sum(added_messages) AS messages, sum(total_tokens) AS tokens, sum(cost_micros) AS cost_micros,
        max(finished_at) AS finished_at
      FROM finished WHERE session_id IS NOT NULL AND status = 'SUCCEEDED' GROUP BY session_id
    )`,
    `session AS (
      UPDATE chat_sessions SET provider_id = COALESCE(chat_sessions.provider_id, answered.provider_id),
        kind = COALESCE(chat_sessions.kind, answered.kind), model = COALESCE(chat_sessions.model, answered.model),
        message_count = chat_sessions.message_count + answered.messages, total_tokens = chat_sessions.total_tokens + answered.tokens,
        cost_micros = chat_sessions.cost_micros + answered.cost_micros, last_active_at = answered.finished_at
      FROM answered WHERE chat_sessions.id = answered.session_id
      RETURNING chat_sessions.id, message_count
    )`,
    `session_started AS (
      UPDATE chat_sessions SET provider_id = cancelled.provider_id, kind = cancelled.kind, model = cancelled.model, last_active_at = cancelled.finished_at
      FROM (SELECT DISTINCT ON (session_id) * FROM finished WHERE session_id IS NOT NULL AND status = 'CANCELLED' ORDER BY session_id, created_at) AS cancelled
      WHERE chat_sessions.id = cancelled.session_id AND chat_sessions.provider_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM answered WHERE answered.session_id = cancelled.session_id)
    )`,
    ...(maintainRollup ? [rollupUpserts('timezone')] : []),
  ];
}

/** A row of the ledger's statement: a reservation's counters (`reserved_id`), a finalized counter (`scope`) or a session's count (`call_id`). */
interface LedgerRow {
  reserved_id: string | null;
  counters: bigint[] | null;
  scope: string | null;
  period: string | null;
  tokens: bigint | null;
  cost_micros: bigint | null;
  call_id: string | null;
  message_count: number | null;
}

const RESERVED_ROWS = `SELECT id::text AS reserved_id, counters, NULL::text AS scope, NULL::text AS period, NULL::int8 AS tokens, NULL::int8 AS cost_micros,
    NULL::text AS call_id, NULL::int4 AS message_count FROM guard`;
const FINALIZED_ROWS = `SELECT NULL::text AS reserved_id, NULL::int8[] AS counters, scope, period, tokens, cost_micros, NULL::text AS call_id, NULL::int4 AS message_count
    FROM finalized_counters
    -- Each successful call's session count as if the calls of the batch had been finalized one after another (its
    -- stored messages are numbered from it): the count after the batch less what the calls after it added.
    UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, f.id::text, (session.message_count - COALESCE(sum(f.added_messages)
        OVER (PARTITION BY f.session_id ORDER BY f.created_at, f.id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0))::int4
      FROM finished f JOIN session ON session.id = f.session_id WHERE f.status = 'SUCCEEDED'`;

/** Which steps a statement of the ledger takes. */
interface LedgerParts {
  reserve: boolean;
  finalize: boolean;
  maintainRollup: boolean;
}

/**
 * One statement for whatever waits in the lane: reservations, finalizes, or both. With both, the finalizes come
 * first: their counter step also locks the reservations' counters (one lock order for the whole statement, as
 * for every other writer), and reserve_usage_batch waits for it (its argument reads that step), so the function's
 * statements see the counters as the finalizes left them and never touch a counter this statement has yet to write.
 * (The steps nothing reads run after the main query, in the order they are written.)
 */
function ledgerStatementText(p: { reserve: Placeholders<ReserveBatchParams>; finalize: Placeholders<FinalizeParams> }, parts: LedgerParts): string {
  const steps = [
    ...(parts.finalize ? finalizeSteps(p.finalize, parts.maintainRollup, parts.reserve ? p.reserve : undefined) : []),
    ...(parts.reserve ? reserveSteps(p.reserve, parts.finalize ? 'finalized_counters' : undefined) : []),
  ];
  const rows = [...(parts.reserve ? [RESERVED_ROWS] : []), ...(parts.finalize ? [FINALIZED_ROWS] : [])];
  return `WITH ${steps.join(', ')}\n  ${rows.join('\n  UNION ALL ')}`;
}

/** Each kind of the ledger's statement, built when first used; named, so each is prepared once per connection. */
const ledgerStatements = new Map<string, Statement<LedgerParams>>();
function ledgerStatement(parts: LedgerParts): Statement<LedgerParams> {
  const name = `ledger${parts.reserve ? '_reserve' : ''}${parts.finalize ? '_finalize' : ''}${parts.finalize && !parts.maintainRollup ? '_without_rollup' : ''}`;
  let built = ledgerStatements.get(name);
  if (!built) ledgerStatements.set(name, (built = groupedStatement<LedgerParams>((p) => ledgerStatementText(p, parts), name)));
  return built;
}

interface LedgerParams {
  reserve: ReserveBatchParams;
  finalize: FinalizeParams;
}

/** What waits in the ledger's lane: a reservation to write or a finalize; a step's result is of its kind. */
type LedgerStep = { reserve: ReserveParams; finalize?: never } | { finalize: Finalizing; reserve?: never };

/**
 * Writes `steps` in one statement: the counters after each reservation (or its refusal), and each finalize's
 * Finalized, in order.
 */
async function writeSteps(db: Pick<Sql, 'query'>, steps: LedgerStep[], maintainRollup: boolean): Promise<Array<bigint[] | Finalized>> {
  const reserving = steps.flatMap((step) => (step.reserve ? [step.reserve] : []));
  const finalizing = steps.flatMap((step) => (step.finalize ? [step.finalize] : []));
  const ledger = ledgerStatement({ reserve: reserving.length > 0, finalize: finalizing.length > 0, maintainRollup });
  const rows = await db.query<LedgerRow>(ledger, ledger.values({ reserve: reserveValues(reserving), finalize: finalizeValues(finalizing) }));
  const countersOfCall = new Map(rows.flatMap((row) => (row.reserved_id ? [[row.reserved_id, row.counters!] as const] : [])));
  const counter = (scope: string, period: string) => rows.find((row) => row.scope === scope && row.period === period);
  return steps.map(({ reserve, finalize }) =>
    reserve
      ? countersOfCall.get(reserve.id)!
      : {
          sessionMessages: rows.find((row) => row.call_id === finalize.id)?.message_count ?? null,
          costMicros: finalize.costMicros,
          tokensToday: counter(finalize.providerScope, finalize.day)?.tokens ?? 0n,
          spendMonthMicros: counter(finalize.providerScope, finalize.month)?.cost_micros ?? 0n,
        },
  );
}

/** The finalizes of `calls` as the statement takes them. */
function finalizeValues(calls: Finalizing[]): FinalizeParams {
  return {
    ids: calls.map((call) => call.id),
    statuses: calls.map((call) => call.outcome.status),
    promptTokens: calls.map((call) => call.outcome.tokens.promptTokens),
    cachedPromptTokens: calls.map((call) => call.outcome.tokens.cachedPromptTokens),
    completionTokens: calls.map((call) => call.outcome.tokens.completionTokens),
    reasoningTokens: calls.map((call) => call.outcome.tokens.reasoningTokens),
    totalTokens: calls.map((call) => call.outcome.tokens.totalTokens),
    usageSources: calls.map((call) => call.outcome.usageSource),
    durationsMs: calls.map((call) => Math.round(call.outcome.durationMs)),
    ttftsMs: calls.map((call) => (call.outcome.ttftMs === null ? null : Math.round(call.outcome.ttftMs))),
    errorCodes: calls.map((call) => call.outcome.errorCode),
    finishedAt: calls.map((call) => call.finishedAt),
    costsMicros: calls.map((call) => call.costMicros),
    providerCostsMicros: calls.map((call) => call.outcome.providerCostMicros),
    priceVersions: calls.map((call) => call.priceVersion),
    priceFallbacks: calls.map((call) => call.priceFallback),
    sessionMessages: calls.map((call) => call.outcome.sessionMessages),
    timezones: calls.map((call) => call.timezone),
    counterCalls: calls.flatMap((call) => call.scopes.map(() => call.id)),
    counterScopes: calls.flatMap((call) => call.scopes),
    counterPeriods: calls.flatMap((call) => call.periods),
    counterTurns: calls.flatMap((call) => call.scopes.map((_, turn) => turn)),
  };
}

export interface Finalized {
  /** The session's message count after this call, when it added to one. */
  sessionMessages: number | null;
  costMicros: bigint;
  /** The provider's counters after this call. */
  tokensToday: bigint;
  spendMonthMicros: bigint;
}

/** The rollups' summed columns. */
const ROLLUP_SUMS = [
  'requests',
  'failed_requests',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'cost_micros',
  'duration_ms_sum',
  'duration_count',
  'succeeded_requests',
  'succeeded_prompt_tokens',
  'succeeded_completion_tokens',
  'succeeded_total_tokens',
  'succeeded_cost_micros',
  'succeeded_duration_ms_sum',
  'succeeded_duration_count',
];

/** The rollups' summed columns, each with what it sums of the `finished` rows it counts, in ROLLUP_SUMS' order. */
const ROLLUP_SUM_EXPRESSIONS = `count(*), count(*) FILTER (WHERE status = 'FAILED'), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cost_micros),
    COALESCE(sum(duration_ms), 0), count(duration_ms),
    count(*) FILTER (WHERE status = 'SUCCEEDED'), COALESCE(sum(prompt_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0),
    COALESCE(sum(completion_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0), COALESCE(sum(total_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0),
    COALESCE(sum(cost_micros) FILTER (WHERE status = 'SUCCEEDED'), 0), COALESCE(sum(duration_ms) FILTER (WHERE status = 'SUCCEEDED'), 0),
    count(duration_ms) FILTER (WHERE status = 'SUCCEEDED')`;

/** Adds the `finished` rows to `table`'s rows keyed by `key` (its columns and what each is of a row), in key order. */
function rollupUpsert(table: string, key: Array<[column: string, value: string]>): string {
  const keys = key.map(([column]) => column).join(', ');
  const order = key.map((_, i) => i + 1).join(', ');
  return `INSERT INTO ${table} AS d (${keys}, ${ROLLUP_SUMS.join(', ')})
  SELECT ${key.map(([, value]) => value).join(', ')}, ${ROLLUP_SUM_EXPRESSIONS}
  FROM finished
  GROUP BY ${order} ORDER BY ${order}
  ON CONFLICT (${keys}) DO UPDATE SET ${ROLLUP_SUMS.map((column) => `${column} = d.${column} + EXCLUDED.${column}`).join(', ')}`;
}

/**
 * The steps (named `daily` and `daily_by_user`) that add the rows of
 * `finished` (finalized usage events) to the rollups: usage_daily's row of
 * their local day, provider, model, agent, operation and user, and
 * usage_daily_by_user's of their local day and user; `tz` is the SQL of the
 * workspace's time zone. A status is not part of a key: each row keeps all its
 * calls' sums, the FAILED count and the SUCCEEDED calls' sums apart. Shared by
 * finalize, the sweeper and the rebuild command so all count a row the same
 * way (the migrations that made the rollups count them alike too). Each
 * rollup's rows are locked in key order. No statement reads these steps, so
 * Postgres runs them after its main query, in one order in every statement:
 * finalize and the sweeper write their counters in their main query, so
 * every writer locks counter rows before rollup rows.
 */
export function rollupUpserts(tz: string): string {
  const day: [string, string] = ['day', `(created_at AT TIME ZONE ${tz})::date`];
  const user: [string, string] = ['user_id', `COALESCE(user_id, '')`];
  const daily = rollupUpsert('usage_daily', [
    ['workspace_id', 'workspace_id'],
    day,
    ['provider_id', `COALESCE(provider_id::text, '')`],
    ['model', 'model'],
    ['agent', `COALESCE(agent, '')`],
    ['operation', `COALESCE(operation, '')`],
    user,
  ]);
  return `daily AS (${daily}), daily_by_user AS (${rollupUpsert('usage_daily_by_user', [['workspace_id', 'workspace_id'], day, user])})`;
}

export type Ledger = ReturnType<typeof createLedger>;
