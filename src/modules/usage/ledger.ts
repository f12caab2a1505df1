// The usage ledger: a row exists, RESERVED, before the upstream call starts,
// and is finalized after it. Finalizing also moves the limit counters (the
// provider's and the workspace's day and month) in the same transaction.
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { ProviderKind, UsageSource, UsageStatus } from '../../generated/prisma/client.js';
import type { TokenCounts } from '../providers/adapters/adapter.js';
import { AppError } from '../../errors.js';
import { platformQuotaScope, workspaceScope } from '../limits/counter-scopes.js';
import { dayKey, monthKey } from '../limits/periods.js';

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
  sessionId?: string | null;
  streamed: boolean;
  reservedTokens: number;
  fallbackFromId?: string | null;
}

export interface Outcome {
  status: Exclude<UsageStatus, 'RESERVED'>;
  tokens: TokenCounts;
  usageSource: UsageSource;
  durationMs: number;
  ttftMs: number | null;
  errorCode: string | null;
}

export function createLedger(sql: Sql, clock: () => Date, platformMonthlyRequests: number) {
  return {
    /**
     * Writes the RESERVED row. A call through a platform provider first takes one
     * of the workspace's monthly platform calls, in the same transaction, with a
     * conditional update: LIMIT_EXCEEDED when none is left, and nothing written.
     */
    async reserve(reservation: Reservation, options: { platform: boolean; timezone: string }): Promise<string> {
      const now = clock();
      const insert = (db: Sql) =>
        db.query(
          `INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, session_id, status, streamed, reserved_tokens, fallback_from_id, created_at)
          VALUES ($1::uuid, $2, $3::uuid, $4::"ProviderKind", $5, $6, $7, $8, $9::uuid, 'RESERVED', $10, $11, $12::uuid, $13)`,
          [id, reservation.workspaceId, reservation.providerId, reservation.kind, reservation.model, reservation.agent ?? null, reservation.operation ?? null,
            reservation.userId, reservation.sessionId ?? null, reservation.streamed, reservation.reservedTokens, reservation.fallbackFromId ?? null, now],
        );
      const id = randomUUID();
      if (!options.platform) {
        await insert(sql);
        return id;
      }
      await sql.transaction(async (tx) => {
        const granted = await tx.query<{ requests: bigint }>(
          `INSERT INTO usage_counters (scope, period, workspace_id, requests) VALUES ($1, $2, $3, 1)
          ON CONFLICT (scope, period) DO UPDATE SET requests = usage_counters.requests + 1 WHERE usage_counters.requests < $4
          RETURNING requests`,
          [platformQuotaScope(reservation.workspaceId), monthKey(now, options.timezone), reservation.workspaceId, platformMonthlyRequests],
        );
        if (granted.length === 0 || granted[0].requests > platformMonthlyRequests) {
          throw new AppError('LIMIT_EXCEEDED', `This workspace has used its ${platformMonthlyRequests} platform calls for the month: add a provider key of your own`);
        }
        await insert(tx);
      });
      return id;
    },

    /**
     * One statement: the row gets its outcome and the four counters it touches
     * (provider and workspace, day and month) move by its tokens, atomically.
     */
    async finalize(id: string, reservation: Reservation, outcome: Outcome, timezone: string): Promise<void> {
      const now = clock();
      const { tokens } = outcome;
      const day = dayKey(now, timezone);
      const month = monthKey(now, timezone);
      const workspace = workspaceScope(reservation.workspaceId);
      await sql.query(
        `WITH finished AS (
          UPDATE usage_events SET status = $2::"UsageStatus", prompt_tokens = $3, cached_prompt_tokens = $4, completion_tokens = $5,
            reasoning_tokens = $6, total_tokens = $7, usage_source = $8::"UsageSource", duration_ms = $9, ttft_ms = $10, error_code = $11, finished_at = $12
          WHERE id = $1::uuid
          RETURNING id
        )
        INSERT INTO usage_counters (scope, period, workspace_id, tokens, requests)
        SELECT scope, period, $13, $14::bigint, 1
        FROM finished, (VALUES ($15, $16), ($15, $17), ($18, $16), ($18, $17)) AS c(scope, period)
        ON CONFLICT (scope, period) DO UPDATE SET tokens = usage_counters.tokens + EXCLUDED.tokens, requests = usage_counters.requests + 1`,
        [id, outcome.status, tokens.promptTokens, tokens.cachedPromptTokens, tokens.completionTokens, tokens.reasoningTokens, tokens.totalTokens,
          outcome.usageSource, Math.round(outcome.durationMs), outcome.ttftMs === null ? null : Math.round(outcome.ttftMs), outcome.errorCode, now,
          reservation.workspaceId, tokens.totalTokens, reservation.providerScope, day, month, workspace],
      );
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

/** About four characters a token: used when a provider reports no counts. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
