// Key additions, rotations and deletions, one row each, counted per user.
import type { PrismaClient } from '../../generated/prisma/client.js';

export function createCredentialChangeRepository(prisma: PrismaClient) {
  return {
    /**
     * Records the user's change at `at` unless they made `limit` changes after `since`; then it records
     * nothing and returns the oldest of those. Under a per-user advisory lock, held to the end of the
     * transaction, so concurrent requests and several instances take turns and cannot overshoot.
     */
    insertIfUnderLimit(userId: string, workspaceId: string, { at, since, limit }: { at: Date; since: Date; limit: number }): Promise<Date | null> {
      return prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(${`credential-changes:${userId}`}))) AS locked`;
        const recent = await tx.credentialChange.findMany({
          where: { userId, at: { gt: since } },
          orderBy: { at: 'asc' },
          select: { at: true },
          take: limit,
        });
        if (recent.length >= limit) return recent[0].at;
        await tx.credentialChange.create({ data: { userId, workspaceId, at } });
        return null;
      });
    },
  };
}

export type CredentialChangeRepository = ReturnType<typeof createCredentialChangeRepository>;
