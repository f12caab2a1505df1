// The usage ledger: a row exists, RESERVED, before the upstream call starts,
// and is finalized after it. Finalizing also moves the limit counters (the
// provider's and the workspace's day and month) in the same transaction.
import { randomUUID } from 'node:crypto';
import type { PrismaClient, ProviderKind, UsageSource, UsageStatus } from '../../generated/prisma/client.js';
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

export function createLedger(prisma: PrismaClient, clock: () => Date, platformMonthlyRequests: number) {
  return {
    /**
     * Writes the RESERVED row. A call through a platform provider first takes one
     * of the workspace's monthly platform calls, in the same transaction, with a
     * conditional update: LIMIT_EXCEEDED when none is left, and nothing written.
     */
    async reserve(reservation: Reservation, options: { platform: boolean; timezone: string }): Promise<string> {
      const { providerScope: _scope, ...row } = reservation;
      const now = clock();
      if (!options.platform) {
        const id = randomUUID();
        await prisma.$executeRaw`
          INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, session_id, status, streamed, reserved_tokens, fallback_from_id, created_at)
          VALUES (${id}::uuid, ${row.workspaceId}, ${row.providerId}::uuid, ${row.kind}::"ProviderKind", ${row.model}, ${row.agent ?? null}, ${row.operation ?? null},
            ${row.userId}, ${row.sessionId ?? null}::uuid, 'RESERVED', ${row.streamed}, ${row.reservedTokens}, ${row.fallbackFromId ?? null}::uuid, ${now})`;
        return id;
      }
      return prisma.$transaction(async (tx) => {
        const granted = await tx.$queryRaw<{ requests: number }[]>`
          INSERT INTO usage_counters (scope, period, workspace_id, requests)
          VALUES (${platformQuotaScope(reservation.workspaceId)}, ${monthKey(now, options.timezone)}, ${reservation.workspaceId}, 1)
          ON CONFLICT (scope, period) DO UPDATE SET requests = usage_counters.requests + 1
            WHERE usage_counters.requests < ${platformMonthlyRequests}
          RETURNING requests`;
        if (granted.length === 0 || granted[0].requests > platformMonthlyRequests) {
          throw new AppError('LIMIT_EXCEEDED', `This workspace has used its ${platformMonthlyRequests} platform calls for the month: add a provider key of your own`);
        }
        const created = await tx.usageEvent.create({ data: { ...row, status: 'RESERVED', createdAt: now }, select: { id: true } });
        return created.id;
      });
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
      await prisma.$executeRaw`
        WITH finished AS (
          UPDATE usage_events SET
            status = ${outcome.status}::"UsageStatus",
            prompt_tokens = ${tokens.promptTokens},
            cached_prompt_tokens = ${tokens.cachedPromptTokens},
            completion_tokens = ${tokens.completionTokens},
            reasoning_tokens = ${tokens.reasoningTokens},
            total_tokens = ${tokens.totalTokens},
            usage_source = ${outcome.usageSource}::"UsageSource",
            duration_ms = ${Math.round(outcome.durationMs)},
            ttft_ms = ${outcome.ttftMs === null ? null : Math.round(outcome.ttftMs)},
            error_code = ${outcome.errorCode},
            finished_at = ${now}
          WHERE id = ${id}::uuid
          RETURNING id
        )
        INSERT INTO usage_counters (scope, period, workspace_id, tokens, requests)
        SELECT scope, period, ${reservation.workspaceId}, ${tokens.totalTokens}::bigint, 1
        FROM finished, (VALUES (${reservation.providerScope}, ${day}), (${reservation.providerScope}, ${month}), (${workspace}, ${day}), (${workspace}, ${month})) AS c(scope, period)
        ON CONFLICT (scope, period) DO UPDATE
          SET tokens = usage_counters.tokens + EXCLUDED.tokens, requests = usage_counters.requests + 1`;
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

/** About four characters a token: used when a provider reports no counts. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
