// Audit entries: who did what to which object, with non-secret details. They
// are written in the same transaction as the change they describe, by the
// repository that makes the change.
import type { Viewer } from '../../auth/viewer.js';
import type { AuditEntry, Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';

export type AuditAction =
  | 'PROVIDER_CREATED'
  | 'PROVIDER_UPDATED'
  | 'PROVIDER_KEY_ROTATED'
  | 'PROVIDER_TESTED'
  | 'PROVIDER_KEY_VALIDATED'
  | 'PROVIDER_DISABLED'
  | 'PROVIDER_ENABLED'
  | 'PROVIDER_DELETED'
  | 'PREFERENCES_UPDATED'
  | 'AGENT_PREFERENCE_SET'
  | 'AGENT_PREFERENCE_REMOVED'
  | 'API_KEY_CREATED'
  | 'API_KEY_REVOKED'
  | 'ALERT_CHANNEL_ADDED'
  | 'ALERT_CHANNEL_REMOVED';

export interface AuditRecord {
  action: AuditAction;
  targetId?: string;
  /** Never a key: callers pass labels, kinds, field names, codes. */
  data?: Prisma.InputJsonObject;
}

export type AuditWriter = Pick<Prisma.TransactionClient, 'auditEntry'>;

/** The entry as a statement of `db` (a transaction, or the client for a batch transaction). */
export function recordAudit(db: AuditWriter, viewer: Viewer, record: AuditRecord) {
  return db.auditEntry.create({
    data: { workspaceId: viewer.workspaceId, actorId: viewer.userId, action: record.action, targetId: record.targetId, data: record.data ?? {} },
  });
}

export function createAuditRepository(prisma: PrismaClient) {
  return {
    /** Newest first, older than `cursor`; `take` rows at most. */
    page(workspaceId: string, { cursor, take }: { cursor: Cursor | undefined; take: number }): Promise<AuditEntry[]> {
      return prisma.auditEntry.findMany({
        where: { workspaceId, ...olderThan('at', cursor) },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take,
      });
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
