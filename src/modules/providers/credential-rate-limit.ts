// At most N key additions, rotations and deletions per user per sliding hour.
// Counted in the database under a per-user advisory lock, so concurrent
// requests and several instances cannot overshoot it.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { AppError } from '../../errors.js';

const HOUR_MS = 3_600_000;

export function createCredentialRateLimit(prisma: PrismaClient, perHour: number, clock: () => Date) {
  return {
    /** Takes one change from the user's hourly allowance, or throws RATE_LIMITED with the wait. */
    async consume(userId: string, workspaceId: string): Promise<void> {
      const now = clock();
      await prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(${`credential-changes:${userId}`}))) AS locked`;
        const recent = await tx.credentialChange.findMany({
          where: { userId, at: { gt: new Date(now.getTime() - HOUR_MS) } },
          orderBy: { at: 'asc' },
          select: { at: true },
          take: perHour,
        });
        if (recent.length >= perHour) {
          const retryAfterSeconds = Math.max(1, Math.ceil((recent[0].at.getTime() + HOUR_MS - now.getTime()) / 1000));
          throw new AppError('RATE_LIMITED', `At most ${perHour} key changes per hour; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
        }
        await tx.credentialChange.create({ data: { userId, workspaceId, at: now } });
      });
    },
  };
}

export type CredentialRateLimit = ReturnType<typeof createCredentialRateLimit>;
