// The workspace, user and membership rows a token's claims name.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Role } from './viewer.js';

export function createViewerRepository(prisma: PrismaClient) {
  return {
    /** One transaction: creates whichever of the three rows is missing and sets the member's role to `role`. */
    async upsertMembership(workspaceId: string, userId: string, role: Role): Promise<void> {
      await prisma.$transaction([
        prisma.workspace.createMany({ data: [{ id: workspaceId }], skipDuplicates: true }),
        prisma.user.createMany({ data: [{ id: userId }], skipDuplicates: true }),
        prisma.member.createMany({ data: [{ workspaceId, userId, role }], skipDuplicates: true }),
        prisma.member.updateMany({ where: { workspaceId, userId, role: { not: role } }, data: { role } }),
      ]);
    },
  };
}

export type ViewerRepository = ReturnType<typeof createViewerRepository>;
