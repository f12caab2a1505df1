// Workspaces, users and memberships come from token claims: rows are created
// the first time a token names them, and the member's role follows the token.
import type { Role, Viewer } from './viewer.js';
import type { ViewerRepository } from './viewer.repository.js';

export interface ViewerService {
  /** Makes sure the viewer's workspace, user and membership rows exist. Cheap after the first call. */
  ensureKnown(viewer: Viewer): Promise<void>;
}

export function createViewerService(repository: ViewerRepository): ViewerService {
  const known = new Map<string, Role>();
  return {
    async ensureKnown({ workspaceId, userId, role }) {
      const key = `${workspaceId}\u0000${userId}`;
      if (known.get(key) === role) return;
      await repository.upsertMembership(workspaceId, userId, role);
      known.set(key, role);
    },
  };
}
