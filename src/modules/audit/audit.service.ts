// The workspace's audit log, for its admins.
import type { Viewer } from '../../auth/viewer.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import type { AuditRepository } from './audit.repository.js';

export function createAuditService(repository: AuditRepository) {
  return {
    async list(viewer: Viewer, first: number, after: string | null | undefined) {
      const take = pageSize(first);
      const rows = await repository.page(viewer.workspaceId, { cursor: decodeCursor(after), take: take + 1 });
      return toPage(rows, take, (row) => ({ at: row.at, id: row.id }));
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
