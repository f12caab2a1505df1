// The usage ledger: a row exists, RESERVED, before the upstream call starts,
// and is finalized after it. Finalizing also moves the limit counters (the
// provider's and the workspace's day and month) in the same transaction.
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
      return prisma.$transaction(async (tx) => {
        if (options.platform) {
          const granted = await tx.$queryRaw<{ requests: number }[]>`
            INSERT INTO usage_counters (scope, period, workspace_id, requests)
            VALUES (${platformQuotaScope(reservation.workspaceId)}, ${monthKey(now, options.timezone)}, ${reservation.workspaceId}, 1)
            ON CONFLICT (scope, period) DO UPDATE SET requests = usage_counters.requests + 1
              WHERE usage_counters.requests < ${platformMonthlyRequests}
            RETURNING requests`;
          if (granted.length === 0 || granted[0].requests > platformMonthlyRequests) {
            throw new AppError('LIMIT_EXCEEDED', `This workspace has used its ${platformMonthlyRequests} platform calls for the month: add a provider key of your own`);
          }
        }
        const created = await tx.usageEvent.create({ data: { ...row, status: 'RESERVED', createdAt: now }, select: { id: true } });
        return created.id;
      });
    },

    async finalize(id: string, reservation: Reservation, outcome: Outcome, timezone: string): Promise<void> {
      const now = clock();
      const { tokens } = outcome;
      const day = dayKey(now, timezone);
      const month = monthKey(now, timezone);
      const counters = [reservation.providerScope, workspaceScope(reservation.workspaceId)].flatMap((scope) => [
        { scope, period: day },
        { scope, period: month },
      ]);
      await prisma.$transaction([
        prisma.usageEvent.update({
          where: { id },
          data: {
            status: outcome.status,
            promptTokens: tokens.promptTokens,
            cachedPromptTokens: tokens.cachedPromptTokens,
            completionTokens: tokens.completionTokens,
            reasoningTokens: tokens.reasoningTokens,
            totalTokens: tokens.totalTokens,
            usageSource: outcome.usageSource,
            durationMs: Math.round(outcome.durationMs),
            ttftMs: outcome.ttftMs === null ? null : Math.round(outcome.ttftMs),
            errorCode: outcome.errorCode,
            finishedAt: now,
          },
        }),
        ...counters.map(({ scope, period }) =>
          prisma.$executeRaw`
            INSERT INTO usage_counters (scope, period, workspace_id, tokens, requests)
            VALUES (${scope}, ${period}, ${reservation.workspaceId}, ${tokens.totalTokens}, 1)
            ON CONFLICT (scope, period) DO UPDATE
              SET tokens = usage_counters.tokens + EXCLUDED.tokens, requests = usage_counters.requests + 1`,
        ),
      ]);
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

/** About four characters a token: used when a provider reports no counts. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
