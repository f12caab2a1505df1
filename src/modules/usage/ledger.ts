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
import type { Sql } from '../../db/sql.js';
import { statement } from '../../db/statement.js';
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
  const finalizeStatement = finalizeStatementFor(maintainRollup);
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
      const insert = async (db: Pick<Sql, 'query'>): Promise<Reserved> => {
        const [row] = await db.query<{ counters: bigint[] }>(
          RESERVE.text,
          RESERVE.values({
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
          }),
        );
        const [outputTokens, micros, ...after] = row.counters.map(BigInt);
        return { id, outputTokens: Number(outputTokens), guards: guards({ tokens: BigInt(reservation.promptEstimate) + outputTokens, micros, after }) };
      };
      try {
        if (!options.platform) return await insert(sql);
        return await sql.transaction(async (tx) => {
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
      } catch (error) {
        const refused = error as { code?: string; message?: string; detail?: string };
        if (refused.code === 'P0001' && refused.message === 'LIMIT_EXCEEDED') throw LimitExceeded.counter(guards(null)[Number(refused.detail) - 1]);
        throw error;
      }
    },

    /**
     * One statement, atomically: the row gets its outcome and its exact cost (the
     * price version in force when it was reserved), the four limit counters it
     * reserved on (provider, workspace and API key, day and month) move by actual minus
     * reserved tokens and cost, the daily rollup row of its local day,
     * provider, model, agent, operation and user takes it in, and a successful call's session
     * adds its messages, tokens and cost. A session keeps the provider and
     * model of its first answer, whether it was read to its end or cancelled. A row that is no longer RESERVED (already finalized or
     * swept) changes nothing.
     * Returns the provider's counters after the call, for live ticks, and the session's message count.
     */
    async finalize(id: string, reservation: Reservation, outcome: CallRecord, timezone: string): Promise<Finalized> {
      const now = clock();
      const { tokens } = outcome;
      const quote = price(reservation.kind, reservation.model, reservation.reservedAt);
      const cost = costMicros(tokens, quote);
      const day = dayKey(reservation.reservedAt, timezone);
      const month = monthKey(reservation.reservedAt, timezone);
      const { scopes, periods } = countersOf(reservation, day, month);
      const rows = await sql.query<{ period: string; tokens: bigint; cost_micros: bigint; session_messages: number | null }>(
        finalizeStatement.text,
        finalizeStatement.values({
          id,
          status: outcome.status,
          ...tokens,
          usageSource: outcome.usageSource,
          durationMs: Math.round(outcome.durationMs),
          ttftMs: outcome.ttftMs === null ? null : Math.round(outcome.ttftMs),
          errorCode: outcome.errorCode,
          finishedAt: now,
          costMicros: cost,
          priceVersion: quote.version,
          priceFallback: quote.fallback,
          workspaceId: reservation.workspaceId,
          providerScope: reservation.providerScope,
          scopes,
          periods,
          sessionMessages: outcome.sessionMessages,
          timezone,
        }),
      );
      return {
        sessionMessages: rows[0]?.session_messages ?? null,
        costMicros: cost,
        tokensToday: rows.find((row) => row.period === day)?.tokens ?? 0n,
        spendMonthMicros: rows.find((row) => row.period === month)?.cost_micros ?? 0n,
      };
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

/**
 * Takes the output allowance on every counter and writes the RESERVED row (and a new session) in one statement.
 * reserve_usage_counters is called by its parameters' names, as prisma/migrations/20261125160000_reserve_output_allowance
 * declares them (that also picks this overload over the previous one).
 */
const RESERVE = statement<ReserveParams>(
  (p) => `WITH guard AS (
    SELECT reserve_usage_counters(p_workspace => ${p.workspaceId}, p_scopes => ${p.scopes}::text[], p_periods => ${p.periods}::text[],
      p_prompt_tokens => ${p.promptTokens}::int8, p_prompt_scaled => ${p.promptScaled}::numeric, p_output_price => ${p.outputPrice}::int8,
      p_output_max => ${p.outputMax}::int8, p_output_min => ${p.outputMin}::int8,
      p_token_limits => ${p.tokenLimits}::int8[], p_micros_limits => ${p.microsLimits}::int8[]) AS counters
  ), new_session AS (
    INSERT INTO chat_sessions (id, workspace_id, user_id, title, agent, created_at, last_active_at)
    SELECT ${p.sessionId}::uuid, ${p.workspaceId}, ${p.userId}, ${p.sessionTitle}, ${p.agent}, ${p.reservedAt}, ${p.reservedAt} FROM guard WHERE ${p.writesSession}
    ON CONFLICT (id) DO NOTHING
  ), reserved AS (
    INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, api_key_id, session_id, status, streamed, reserved_tokens,
      fallback_from_id, created_at, reserved_micros)
    SELECT ${p.id}::uuid, ${p.workspaceId}, ${p.providerId}::uuid, ${p.kind}::"ProviderKind", ${p.model}, ${p.agent}, ${p.operation}, ${p.userId}, ${p.apiKeyId}::uuid, ${p.sessionId}::uuid,
      'RESERVED', ${p.streamed}, ${p.promptTokens} + counters[1], ${p.fallbackFromId}::uuid, ${p.reservedAt}, counters[2] FROM guard
    RETURNING id
  )
  SELECT counters FROM guard, reserved`,
);

interface FinalizeParams extends TokenCounts {
  id: string;
  status: CallRecord['status'];
  usageSource: UsageSource;
  durationMs: number;
  ttftMs: number | null;
  errorCode: string | null;
  finishedAt: Date;
  costMicros: bigint;
  priceVersion: string;
  priceFallback: boolean;
  workspaceId: string;
  providerScope: string;
  /** The counters the call was reserved on, in the guard order. */
  scopes: string[];
  periods: string[];
  sessionMessages: number;
  /** The workspace's, for the rollup's local day. */
  timezone: string;
}

/** See finalize; without the rollup step when `maintainRollup` is false. */
function finalizeStatementFor(maintainRollup: boolean) {
  return statement<FinalizeParams>(
    (p) => `WITH finished AS (
      UPDATE usage_events SET status = ${p.status}::"UsageStatus", prompt_tokens = ${p.promptTokens}, cached_prompt_tokens = ${p.cachedPromptTokens},
        completion_tokens = ${p.completionTokens}, reasoning_tokens = ${p.reasoningTokens}, total_tokens = ${p.totalTokens},
        usage_source = ${p.usageSource}::"UsageSource", duration_ms = ${p.durationMs}, ttft_ms = ${p.ttftMs}, error_code = ${p.errorCode}, finished_at = ${p.finishedAt},
        cost_micros = ${p.costMicros}, price_version = ${p.priceVersion}, price_fallback = ${p.priceFallback}
      WHERE id = ${p.id}::uuid AND status = 'RESERVED'
      RETURNING *
    ), counters AS (
      INSERT INTO usage_counters (scope, period, workspace_id, tokens, cost_micros, requests)
      SELECT scope, period, ${p.workspaceId}, ${p.totalTokens}::int8 - finished.reserved_tokens, ${p.costMicros}::int8 - finished.reserved_micros, 1
      FROM finished, unnest(${p.scopes}::text[], ${p.periods}::text[]) AS c(scope, period)
      ON CONFLICT (scope, period) DO UPDATE SET tokens = usage_counters.tokens + EXCLUDED.tokens,
        cost_micros = usage_counters.cost_micros + EXCLUDED.cost_micros, requests = usage_counters.requests + 1
      RETURNING scope, period, tokens, cost_micros
    ), session AS (
      UPDATE chat_sessions SET provider_id = COALESCE(chat_sessions.provider_id, finished.provider_id),
        kind = COALESCE(chat_sessions.kind, finished.kind), model = COALESCE(chat_sessions.model, finished.model),
        message_count = chat_sessions.message_count + ${p.sessionMessages}, total_tokens = chat_sessions.total_tokens + finished.total_tokens,
        cost_micros = chat_sessions.cost_micros + finished.cost_micros, last_active_at = finished.finished_at
      FROM finished WHERE chat_sessions.id = finished.session_id AND finished.status = 'SUCCEEDED'
      RETURNING message_count
    ), session_started AS (
      UPDATE chat_sessions SET provider_id = finished.provider_id, kind = finished.kind, model = finished.model, last_active_at = finished.finished_at
      FROM finished WHERE chat_sessions.id = finished.session_id AND finished.status = 'CANCELLED' AND chat_sessions.provider_id IS NULL
    )${maintainRollup ? `, daily AS (${ROLLUP_UPSERT.replace('$TZ', p.timezone)})` : ''}
    SELECT period, tokens, cost_micros, (SELECT message_count FROM session) AS session_messages FROM counters WHERE scope = ${p.providerScope}`,
  );
}

export interface Finalized {
  /** The session's message count after this call, when it added to one. */
  sessionMessages: number | null;
  costMicros: bigint;
  /** The provider's counters after this call. */
  tokensToday: bigint;
  spendMonthMicros: bigint;
}

/** The rollup's summed columns in ROLLUP_UPSERT's order. */
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

/**
 * Adds the rows of `finished` (finalized usage events) to the rollup row of
 * their local day, provider, model, agent, operation and user; `$TZ` is the
 * workspace's time zone. A status is not part of the key: each row keeps all
 * its calls' sums, the FAILED count and the SUCCEEDED calls' sums apart.
 * Shared by finalize, the sweeper and the rebuild command so all count a row
 * the same way (the migration that keyed it so counts them alike too).
 */
export const ROLLUP_UPSERT = `
  INSERT INTO usage_daily AS d (workspace_id, day, provider_id, model, agent, operation, user_id, ${ROLLUP_SUMS.join(', ')})
  SELECT workspace_id, (created_at AT TIME ZONE $TZ)::date, COALESCE(provider_id::text, ''), model, COALESCE(agent, ''), COALESCE(operation, ''), COALESCE(user_id, ''),
    count(*), count(*) FILTER (WHERE status = 'FAILED'), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cost_micros),
    COALESCE(sum(duration_ms), 0), count(duration_ms),
    count(*) FILTER (WHERE status = 'SUCCEEDED'), COALESCE(sum(prompt_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0),
    COALESCE(sum(completion_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0), COALESCE(sum(total_tokens) FILTER (WHERE status = 'SUCCEEDED'), 0),
    COALESCE(sum(cost_micros) FILTER (WHERE status = 'SUCCEEDED'), 0), COALESCE(sum(duration_ms) FILTER (WHERE status = 'SUCCEEDED'), 0),
    count(duration_ms) FILTER (WHERE status = 'SUCCEEDED')
  FROM finished
  GROUP BY 1, 2, 3, 4, 5, 6, 7
  ON CONFLICT (workspace_id, day, provider_id, model, agent, operation, user_id) DO UPDATE SET
    ${ROLLUP_SUMS.map((column) => `${column} = d.${column} + EXCLUDED.${column}`).join(', ')}`;

export type Ledger = ReturnType<typeof createLedger>;
