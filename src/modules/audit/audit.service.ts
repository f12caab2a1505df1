// Who did what to which object, with non-secret details. Entries are written in
// the same transaction as the change they describe.
import type { Viewer } from '../../auth/viewer.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { decodeCursor, olderThan, pageSize, toPage } from '../../pagination.js';

export type AuditAction =
  | 'PROVIDER_CREATED'
  | 'PROVIDER_UPDATED'
  | 'PROVIDER_KEY_ROTATED'
  | 'PROVIDER_TESTED'
  | 'PROVIDER_DISABLED'
  | 'PROVIDER_ENABLED'
  | 'PROVIDER_DELETED'
  | 'PREFERENCES_UPDATED'
  | 'AGENT_PREFERENCE_SET'
  | 'AGENT_PREFERENCE_REMOVED';

export interface AuditRecord {
  action: AuditAction;
  targetId?: string;
  /** Never a key: callers pass labels, kinds, field names, codes. */
  data?: Prisma.InputJsonObject;
}

export type AuditWriter = Pick<Prisma.TransactionClient, 'auditEntry'>;

export function recordAudit(db: AuditWriter, viewer: Viewer, record: AuditRecord) {
  return db.auditEntry.create({
    data: { workspaceId: viewer.workspaceId, actorId: viewer.userId, action: record.action, targetId: record.targetId, data: record.data ?? {} },
  });
}

export function createAuditService(prisma: PrismaClient) {
  return {
    async list(viewer: Viewer, first: number, after: string | null | undefined) {
      const take = pageSize(first);
      const rows = await prisma.auditEntry.findMany({
        where: { workspaceId: viewer.workspaceId, ...olderThan('at', decodeCursor(after)) },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: take + 1,
      });
      return toPage(rows, take, (row) => ({ at: row.at, id: row.id }));
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
