// Names of the limit counters (usage_counters.scope). A platform provider is
// shared by every workspace, so its counters are kept per workspace: one
// workspace never sees another's use of it.
import type { Provider } from '../../generated/prisma/client.js';
import { isPlatform } from '../providers/visibility.js';

export function providerScope(provider: Pick<Provider, 'id' | 'scope' | 'workspaceId'>): string {
  return isPlatform(provider) ? `platform:${provider.id}:${provider.workspaceId}` : `provider:${provider.id}`;
}

export function workspaceScope(workspaceId: string): string {
  return `workspace:${workspaceId}`;
}

export function apiKeyScope(apiKeyId: string): string {
  return `apikey:${apiKeyId}`;
}

/** Calls a workspace made through any platform provider, capped by PLATFORM_MONTHLY_REQUESTS. */
export function platformQuotaScope(workspaceId: string): string {
  return `platform-quota:${workspaceId}`;
}
