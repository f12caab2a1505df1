// Workspaces, users and memberships come from token claims: rows are created
// the first time a token names them, and the member's role follows the token.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Role, Viewer } from './viewer.js';

export interface ViewerService {
  /** Makes sure the viewer's workspace, user and membership rows exist. Cheap after the first call. */
  ensureKnown(viewer: Viewer): Promise<void>;
}

export function createViewerService(prisma: PrismaClient): ViewerService {
  const known = new Map<string, Role>();
  return {
    async ensureKnown({ workspaceId, userId, role }) {
      const key = `${workspaceId}\u0000${userId}`;
      if (known.get(key) === role) return;
      await prisma.$transaction([
        prisma.workspace.createMany({ data: [{ id: workspaceId }], skipDuplicates: true }),
        prisma.user.createMany({ data: [{ id: userId }], skipDuplicates: true }),
        prisma.member.createMany({ data: [{ workspaceId, userId, role }], skipDuplicates: true }),
        prisma.member.updateMany({ where: { workspaceId, userId, role: { not: role } }, data: { role } }),
      ]);
      known.set(key, role);
    },
  };
}
