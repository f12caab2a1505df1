// Who sees, uses and manages a provider, by its scope: the one place that says
// it. Repositories read a workspace's rows (tenancy); these rules decide which
// of them a viewer gets and what they may do with them.
import { roleAtLeast, type Viewer } from '../../auth/viewer.js';
import { ForbiddenError } from '../../errors.js';
import type { ProviderScope } from '../../generated/prisma/enums.js';

/** Each scope in a few words, in the order the API's `ProviderScope` description lists them. */
export const SCOPE_MEANING: Record<ProviderScope, string> = {
  WORKSPACE: "managed by the workspace's admins",
  PERSONAL: "one member's, used only by them",
  PLATFORM: "the operator's (read-only)",
};

interface Scoped {
  scope: ProviderScope;
  /** Set for PERSONAL providers only. */
  ownerId: string | null;
}

/** Listed, routable and reported live to the viewer: the workspace's and the platform's providers, and their own personal ones. */
export function canSee(viewer: Pick<Viewer, 'userId'>, provider: Scoped): boolean {
  return provider.scope !== 'PERSONAL' || provider.ownerId === viewer.userId;
}

/** May be named in the viewer's usage filters: admins see every member's calls, so every member's providers too. */
export function canSeeUsageOf(viewer: Viewer, provider: Scoped): boolean {
  return roleAtLeast(viewer.role, 'ADMIN') || canSee(viewer, provider);
}

/** Changing, testing or deleting it: a personal provider's owner, the workspace's admins for its own, nobody for the platform's. */
export function assertCanManage(viewer: Viewer, provider: Scoped): void {
  if (isPlatform(provider)) throw new ForbiddenError('Platform providers are configured by the operator and read-only here');
  if (provider.scope === 'PERSONAL' ? provider.ownerId === viewer.userId : roleAtLeast(viewer.role, 'ADMIN')) return;
  throw new ForbiddenError('Only admins and owners manage workspace providers');
}

/** A choice made for the whole workspace (its preferences) may name it: every member may use it. */
export function sharedWithWorkspace(provider: Pick<Scoped, 'scope'>): boolean {
  return provider.scope !== 'PERSONAL';
}

/** The operator's, shared by every workspace: each keeps its own counters of it, and its key is bound to the platform, not to a workspace. */
export function isPlatform(provider: Pick<Scoped, 'scope'>): boolean {
  return provider.scope === 'PLATFORM';
}
