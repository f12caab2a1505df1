// API key rows, and their audit entries in the same transaction. Tenancy is in
// every query that takes an id from a client.
import type { Viewer } from '../../auth/viewer.js';
import type { ApiKey, Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';
import { type AuditRecord, recordAudit } from '../audit/audit.repository.js';

export function createApiKeyRepository(prisma: PrismaClient) {
  return {
    insert(viewer: Viewer, row: Prisma.ApiKeyUncheckedCreateInput, entry: (id: string) => AuditRecord): Promise<ApiKey> {
      return prisma.$transaction(async (tx) => {
        const key = await tx.apiKey.create({ data: row });
        await recordAudit(tx, viewer, entry(key.id));
        return key;
      });
    },

    /** Sets revokedAt once (a second revoke keeps the first time) and audits it. */
    revoke(viewer: Viewer, id: string, at: Date, entry: AuditRecord): Promise<ApiKey | null> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.apiKey.updateMany({ where: { id, workspaceId: viewer.workspaceId, revokedAt: null }, data: { revokedAt: at } });
        if (count > 0) await recordAudit(tx, viewer, entry);
        return tx.apiKey.findFirst({ where: { id, workspaceId: viewer.workspaceId } });
      });
    },

    find: (workspaceId: string, id: string): Promise<ApiKey | null> => prisma.apiKey.findFirst({ where: { id, workspaceId } }),

    findByPrefix: (prefix: string): Promise<ApiKey | null> => prisma.apiKey.findUnique({ where: { prefix } }),

    /** Newest first, older than `cursor`; only `createdBy`'s when given. */
    page(workspaceId: string, { createdBy, cursor, take }: { createdBy: string | undefined; cursor: Cursor | undefined; take: number }): Promise<ApiKey[]> {
      return prisma.apiKey.findMany({
        where: { workspaceId, ...(createdBy ? { createdBy } : {}), ...olderThan('createdAt', cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
      });
    },

    /** Moves lastUsedAt forward only when it is older than `staleBefore`: one write a minute per key at most. */
    async touch(id: string, at: Date, staleBefore: Date): Promise<void> {
      await prisma.apiKey.updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: staleBefore } }] }, data: { lastUsedAt: at } });
    },
  };
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>;
