// Which providers a chat would try, in order, and why. `resolveRoute` shows
// exactly this list; the chat walks it.
//   primary:   explicit providerId → the agent's preference → the workspace default → by priority (platform providers last)
//   fallbacks: the agent's fallback → the workspace fallback → (autoFailover) the others by priority
import type { Viewer } from '../../auth/jwt.js';
import { BadUserInputError, NotFoundError } from '../../errors.js';
import type { Sql } from '../../db/sql.js';
import type { AgentPreference, Provider } from '../../generated/prisma/client.js';
import { findAgentPreference, type StoredPreferences } from '../preferences/preferences.repository.js';
import type { PreferencesService } from '../preferences/preferences.service.js';
import { KINDS } from '../providers/kinds.js';
import type { ProviderService } from '../providers/provider.service.js';

export interface RouteCandidate {
  provider: Provider;
  model: string;
  reason: string;
  usable: boolean;
  skippedBecause: string | null;
}

export interface RouteInput {
  providerId?: string | null;
  model?: string | null;
  agent?: string | null;
  allowFallback?: boolean | null;
}

export function createRouteService(providers: ProviderService, preferences: PreferencesService, sql: Sql) {
  function skipReason(provider: Provider): string | null {
    if (provider.status === 'INVALID') return 'INVALID key';
    if (provider.status === 'DISABLED') return 'disabled';
    return null;
  }

  return {
    /** `prefs` may be passed (or be on their way) by a caller that reads them too. */
    async plan(viewer: Viewer, input: RouteInput, knownPrefs?: StoredPreferences | Promise<StoredPreferences>): Promise<RouteCandidate[]> {
      const [visible, prefs, agentPreference] = await Promise.all([
        providers.list(viewer),
        knownPrefs ?? preferences.read(viewer.workspaceId),
        input.agent ? findAgentPreference(sql, viewer.workspaceId, input.agent) : Promise.resolve<AgentPreference | undefined>(undefined),
      ]);
      const byId = new Map(visible.map((provider) => [provider.id, provider]));
      const route: RouteCandidate[] = [];
      const add = (providerId: string | null | undefined, model: string | null | undefined, reason: string) => {
        if (!providerId || route.some((candidate) => candidate.provider.id === providerId)) return;
        const provider = byId.get(providerId);
        // A preference can outlive its provider (deleted, or another member's personal one): nothing to try.
        if (!provider) return;
        const skippedBecause = skipReason(provider);
        route.push({ provider, model: model ?? provider.defaultModel ?? KINDS[provider.kind].defaultModel, reason, usable: skippedBecause === null, skippedBecause });
      };

      if (input.providerId) {
        if (!byId.has(input.providerId)) throw new NotFoundError('Provider');
        add(input.providerId, input.model, 'explicit provider');
      } else if (agentPreference) {
        add(agentPreference.providerId, input.model ?? agentPreference.model, 'agent preference');
      } else if (prefs.defaultProviderId && byId.has(prefs.defaultProviderId)) {
        add(prefs.defaultProviderId, input.model ?? prefs.defaultModel, 'workspace default');
      }
      const byPriority = [...visible].sort((a, b) => a.priority - b.priority || a.createdAt.getTime() - b.createdAt.getTime());
      if (route.length === 0) {
        const first = byPriority.find((provider) => skipReason(provider) === null) ?? byPriority[0];
        add(first?.id, input.model, first?.scope === 'PLATFORM' ? 'platform default' : 'highest priority (no default set)');
      }

      if (input.allowFallback !== false) {
        add(agentPreference?.fallbackProviderId, agentPreference?.fallbackModel, 'agent fallback');
        add(prefs.fallbackProviderId, prefs.fallbackModel, 'workspace fallback');
        if (prefs.autoFailover) for (const provider of byPriority) add(provider.id, null, 'auto-failover by priority');
      }
      // A DEGRADED provider is tried only when no healthy one can answer.
      if (route.some((candidate) => candidate.usable && candidate.provider.status !== 'DEGRADED')) {
        for (const candidate of route) {
          if (candidate.usable && candidate.provider.status === 'DEGRADED') Object.assign(candidate, { usable: false, skippedBecause: 'DEGRADED (a healthy provider is available)' });
        }
      }
      return route;
    },
  };
}

export type RouteService = ReturnType<typeof createRouteService>;

/** The usable candidates, or a BAD_USER_INPUT that says what to configure. */
export function usableCandidates(route: RouteCandidate[]): RouteCandidate[] {
  const usable = route.filter((candidate) => candidate.usable);
  if (usable.length > 0) return usable;
  if (route.length === 0) throw new BadUserInputError('No provider is configured: add one with addProvider, or ask an admin to set a workspace default with updatePreferences');
  const reasons = route.map((candidate) => `"${candidate.provider.label}": ${candidate.skippedBecause}`).join('; ');
  throw new BadUserInputError(`No usable provider (${reasons}): test or re-enable a provider, or add another`);
}
