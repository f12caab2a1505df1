// Which providers a chat would try, in order, and why. `resolveRoute` shows
// exactly this list; the chat walks it.
//   primary:   explicit providerId → the agent's preference → the workspace default → by priority (platform providers last)
//   fallbacks: the agent's fallback → the workspace fallback → (autoFailover) the others by priority
// That is the PRIORITY strategy. CHEAPEST and FASTEST (the agent preference's
// strategy, else the workspace's) rank the usable candidates of that same list
// by expected cost or by measured time to first token (route-ranking.ts), the
// fallbacks included even when the call allows none (it then tries the first).
// A chat naming a provider (a session's included) is never re-ranked; one
// naming only a model keeps its first candidate and ranks the fallbacks.
// Embedding calls keep the configured order.
//
// What routing reads (preferences, agent preferences, providers) is kept per
// workspace, so a chat waits for no read before its reservation. Every change
// through the API forgets the workspace's entry on every instance (the
// `routing:changed` topic); an entry is also read again after ROUTING_TTL_MS (the
// chats of that moment go on with the entry they have), which bounds how long a
// change made past the API (SQL by hand, `rotate-keys`) or a lost message can go
// unseen, and how old the times to first token FASTEST ranks by may be. Keys
// stay sealed in it: they are opened per call.
import { callAgent, type Viewer } from '../../auth/viewer.js';
import type { Sql } from '../../db/sql.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { AgentPreference, Provider } from '../../generated/prisma/client.js';
import { callerName, modelName } from '../../text-input.js';
import { withFields } from '../../with-fields.js';
import type { Catalog } from '../catalog/catalog.js';
import { type FirstTokenTime, readFirstTokenTimes } from '../health/health.repository.js';
import { providerScope, workspaceScope } from '../limits/counter-scopes.js';
import { readCounters } from '../limits/counters.repository.js';
import { MIN_USEFUL_OUTPUT_TOKENS } from '../limits/output-allowance.js';
import { dayKey, monthKey } from '../limits/periods.js';
import { listAgentPreferences, readPreferences, type StoredPreferences } from '../preferences/preferences.repository.js';
import { KINDS } from '../providers/kinds.js';
import type { ProviderRepository } from '../providers/provider.repository.js';
import { canSee, isPlatform } from '../providers/visibility.js';
import { type CallSize, type ExpectedCost, expectedCost, NOMINAL_PROMPT_TOKENS, rankRoute } from './route-ranking.js';

/** A workspace's routing as kept: when it was read, the read, and whether a newer read is under way. */
interface KeptRouting {
  loadedAt: number;
  config: Promise<RoutingConfig>;
  reloading: boolean;
}

/** How long a workspace's routing is kept without a change notice. */
export const ROUTING_TTL_MS = 5_000;
/** Workspaces kept at once by default; past it the oldest entry goes. */
const MAX_WORKSPACES = 10_000;

/** A workspace's routing inputs, as one consistent read. */
export interface RoutingConfig {
  preferences: StoredPreferences;
  agentPreferences: AgentPreference[];
  /** Every routable provider of the workspace, every member's personal ones included. */
  providers: Provider[];
  /** Each provider's median time to first token over the health window, from the workspace's own calls (FASTEST ranks by it). */
  firstTokenTimes: Map<string, FirstTokenTime>;
}

export interface RouteCandidate {
  provider: Provider;
  model: string;
  reason: string;
  usable: boolean;
  skippedBecause: string | null;
  /** What the call is expected to cost through it (route-ranking.ts); null when the catalog has no price for the model. */
  expectedCost: ExpectedCost | null;
  /** The provider's median time to first token in the health window; null when none was measured. */
  firstToken: FirstTokenTime | null;
}

export interface RouteInput {
  providerId?: string | null;
  model?: string | null;
  agent?: string | null;
  allowFallback?: boolean | null;
  /**
   * What the call needs of a model ("tools", "vision", "json", "embeddings"): a model the catalog says lacks it is
   * skipped, or refused when named. An embeddings route has its own preferences and default models. "json", and
   * the prompt's fit in the model's context window, are checked on re-ranked routes only: there the gateway
   * picks the model, under PRIORITY the configured order is tried as it is.
   */
  needs?: readonly Capability[];
  /** The call's size, for the expected cost and the context check; without one, a nominal call (NOMINAL_PROMPT_TOKENS). */
  size?: CallSize;
}

export type Capability = 'tools' | 'vision' | 'json' | 'embeddings';
/** The request field that makes a capability needed, named in a refusal. */
const FIELD_OF_NEED: Record<Capability, string> = { tools: 'tools', vision: 'messages', json: 'responseFormat', embeddings: 'model' };
const WHAT_IS_NEEDED: Record<Capability, string> = { tools: 'take tools', vision: 'take images', json: 'answer in JSON', embeddings: 'embed' };

interface RouteServiceDeps {
  sql: Sql;
  providers: Pick<ProviderRepository, 'listRoutable'>;
  /** Capabilities and context windows (null when the catalog does not know the model: it then passes), and prices. */
  catalog: Pick<Catalog, 'capabilities' | 'contextWindow' | 'price'>;
  /** The health window: the times to first token FASTEST ranks by are its calls'. */
  healthWindowMs: number;
  clock: () => Date;
  maxWorkspaces?: number;
}

export function createRouteService(deps: RouteServiceDeps) {
  const maxWorkspaces = deps.maxWorkspaces ?? MAX_WORKSPACES;
  const now = () => deps.clock().getTime();
  const kept = new Map<string, KeptRouting>();

  async function load(workspaceId: string): Promise<RoutingConfig> {
    const [preferences, agentPreferences, providers] = await Promise.all([
      readPreferences(deps.sql, workspaceId),
      listAgentPreferences(deps.sql, workspaceId),
      deps.providers.listRoutable(workspaceId),
    ]);
    // The median over the health window's calls is read only where FASTEST ranks by it.
    const fastest = preferences.routingStrategy === 'FASTEST' || agentPreferences.some((preference) => preference.routingStrategy === 'FASTEST');
    const firstTokenTimes = fastest ? await readFirstTokenTimes(deps.sql, workspaceId, new Date(now() - deps.healthWindowMs)) : new Map();
    return { preferences, agentPreferences, providers, firstTokenTimes };
  }

  /**
   * The workspace's routing inputs: kept, or read once for every caller waiting on them. An entry past
   * ROUTING_TTL_MS is read again while its callers go on with it (a chat never waits for a periodic reload); one
   * forgotten after a change is read before anyone routes with it again.
   */
  function config(workspaceId: string): Promise<RoutingConfig> {
    const entry = kept.get(workspaceId);
    if (!entry) return reload(workspaceId).config;
    if (now() - entry.loadedAt >= ROUTING_TTL_MS && !entry.reloading) {
      entry.reloading = true;
      reload(workspaceId, entry);
    }
    return entry.config;
  }

  /** Reads the workspace's routing again; `stale` (the entry being refreshed) is kept until the read succeeds. */
  function reload(workspaceId: string, stale?: KeptRouting): KeptRouting {
    const fresh: KeptRouting = { loadedAt: now(), config: load(workspaceId), reloading: false };
    if (!stale) {
      if (kept.size >= maxWorkspaces) kept.delete(kept.keys().next().value!);
      kept.set(workspaceId, fresh);
    }
    const current = stale ?? fresh;
    fresh.config.then(
      () => {
        // Forgotten meanwhile (a change): this read may predate it, and is not kept.
        if (!stale || kept.get(workspaceId) !== stale) return;
        kept.delete(workspaceId);
        kept.set(workspaceId, fresh);
      },
      () => {
        // A failed read is not kept: the next chat reads again, a stale entry serving meanwhile.
        if (kept.get(workspaceId) !== current) return;
        if (stale) stale.reloading = false;
        else kept.delete(workspaceId);
      },
    );
    return fresh;
  }

  function plan(viewer: Viewer, input: RouteInput, { preferences: prefs, agentPreferences, providers, firstTokenTimes }: RoutingConfig): RouteCandidate[] {
    const embedding = input.needs?.includes('embeddings') ?? false;
    const agentPreference = input.agent && !embedding ? agentPreferences.find((preference) => preference.agentType === input.agent) : undefined;
    const strategy = input.providerId || embedding ? 'PRIORITY' : (agentPreference?.routingStrategy ?? prefs.routingStrategy);
    const reranked = strategy !== 'PRIORITY';
    const needs = reranked ? (input.needs ?? []) : (input.needs ?? []).filter((need) => need !== 'json');
    const size = input.size ?? { promptTokens: NOMINAL_PROMPT_TOKENS };
    const at = deps.clock();
    const visible = providers.filter((provider) => canSee(viewer, provider));
    const byId = new Map(visible.map((provider) => [provider.id, provider]));
    const explicit = Boolean(input.providerId || input.model);
    // A gateway API key may be limited to some models: any other is skipped, or refused when named.
    const allowedModels = viewer.apiKey?.allowedModels ?? [];
    const route: RouteCandidate[] = [];
    const add = (providerId: string | null | undefined, model: string | null | undefined, reason: string) => {
      if (!providerId || route.some((candidate) => candidate.provider.id === providerId)) return;
      const provider = byId.get(providerId);
      // A preference can outlive its provider (deleted, or another member's personal one): nothing to try.
      if (!provider) return;
      const chosen = model ?? (embedding ? KINDS[provider.kind].defaultEmbeddingModel : (provider.defaultModel ?? KINDS[provider.kind].defaultModel));
      const cannot =
        embedding && !KINDS[provider.kind].embeds ? `${KINDS[provider.kind].displayName} has no embeddings API` : chosen === null ? 'no model named, and none by default' : null;
      const lacking = chosen === null ? null : missingCapability(provider, chosen);
      const tooLong = chosen === null || !reranked || embedding ? null : contextShortfall(provider, chosen);
      const forbidden = chosen !== null && allowedModels.length > 0 && !allowedModels.includes(chosen) ? `the API key does not allow ${chosen}` : null;
      // A provider or model named explicitly that cannot serve the call is the caller's mistake, not a reason to go elsewhere.
      if (explicit && route.length === 0) {
        if (forbidden) throw new ForbiddenError(`This API key does not allow the model ${chosen}: it allows ${listed(allowedModels)}`);
        if (cannot) throw new BadUserInputError(`${cannot}: choose a provider that embeds, or name its model`, input.model && KINDS[provider.kind].embeds ? 'model' : 'providerId');
        if (lacking) throw new BadUserInputError(`${chosen} cannot ${WHAT_IS_NEEDED[lacking]} (per the model catalog): choose a model that can`, FIELD_OF_NEED[lacking]);
        if (tooLong) throw new BadUserInputError(`${tooLong}: choose a model with a larger context window`, 'messages');
      }
      const skippedBecause = skipReason(provider) ?? cannot ?? forbidden ?? (lacking && `${chosen} cannot ${WHAT_IS_NEEDED[lacking]} (per the model catalog)`) ?? tooLong;
      const quote = chosen === null ? null : deps.catalog.price(provider.kind, chosen, at);
      route.push({
        provider,
        model: chosen ?? '',
        reason,
        usable: skippedBecause === null,
        skippedBecause,
        // A price the kind's fallback rule gave is no price for ranking: the model is unknown to the catalog.
        expectedCost:
          quote && !quote.fallback && !embedding
            ? expectedCost(size, quote, { maxTokensPerRequest: prefs.maxTokensPerRequest, contextWindow: deps.catalog.contextWindow(provider.kind, chosen!) })
            : null,
        firstToken: firstTokenTimes.get(provider.id) ?? null,
      });
    };
    const missingCapability = (provider: Provider, model: string): Capability | null => {
      const capabilities = deps.catalog.capabilities(provider.kind, model);
      return (capabilities && needs.find((need) => !capabilities.includes(need))) ?? null;
    };
    /** Why the model cannot hold the call: the prompt estimate and the output it asks for (or the least useful one) past its context window. */
    const contextShortfall = (provider: Provider, model: string): string | null => {
      const window = deps.catalog.contextWindow(provider.kind, model);
      const output = size.maxTokens ?? MIN_USEFUL_OUTPUT_TOKENS;
      return window !== null && size.promptTokens + output > window
        ? `${model}'s context window (${window} tokens) cannot hold the prompt (about ${size.promptTokens} tokens) and ${output} output tokens`
        : null;
    };

    if (input.providerId) {
      if (!byId.has(input.providerId)) throw new NotFoundError('Provider');
      add(input.providerId, input.model, 'explicit provider');
    } else if (embedding) {
      if (prefs.embeddingProviderId && byId.has(prefs.embeddingProviderId)) add(prefs.embeddingProviderId, input.model ?? prefs.embeddingModel, 'workspace embedding provider');
    } else if (agentPreference) {
      add(agentPreference.providerId, input.model ?? agentPreference.model, 'agent preference');
    } else if (prefs.defaultProviderId && byId.has(prefs.defaultProviderId)) {
      add(prefs.defaultProviderId, input.model ?? prefs.defaultModel, 'workspace default');
    }
    const byPriority = [...visible].sort((a, b) => a.priority - b.priority || a.createdAt.getTime() - b.createdAt.getTime());
    if (route.length === 0) {
      const first = byPriority.find((provider) => skipReason(provider) === null && (!embedding || KINDS[provider.kind].embeds)) ?? byPriority[0];
      add(first?.id, input.model, first && isPlatform(first) ? 'platform default' : 'highest priority (no default set)');
    }

    // Ranked, a call that allows no fallback tries the first of every candidate (only the cheapest, say); one naming
    // its model keeps to it.
    if (input.allowFallback !== false || (reranked && !input.model)) {
      add(agentPreference?.fallbackProviderId, agentPreference?.fallbackModel, 'agent fallback');
      if (!embedding) add(prefs.fallbackProviderId, prefs.fallbackModel, 'workspace fallback');
      if (prefs.autoFailover) for (const provider of byPriority) add(provider.id, null, 'auto-failover by priority');
    }
    // A DEGRADED provider is tried only when no healthy one can answer.
    if (route.some((candidate) => candidate.usable && candidate.provider.status !== 'DEGRADED')) {
      for (const candidate of route) {
        if (candidate.usable && candidate.provider.status === 'DEGRADED') Object.assign(candidate, { usable: false, skippedBecause: 'DEGRADED (a healthy provider is available)' });
      }
    }
    return reranked ? rankRoute(route, strategy, Boolean(input.model)) : route;
  }

  return {
    config,
    plan,

    /**
     * The route a chat with this input would take now (`resolveRoute`), with the providers whose limits
     * leave less than a useful answer marked as skipped. A chat needs no such read: its reservation refuses
     * them atomically and the next candidate is tried.
     */
    async resolve(viewer: Viewer, input: RouteInput): Promise<RouteCandidate[]> {
      if (input.model != null) modelName(input.model, 'model');
      if (input.agent != null) callerName(input.agent, 'agent');
      const routing = await config(viewer.workspaceId);
      const route = plan(viewer, withFields(input, { agent: callAgent(viewer, input.agent) }), routing);
      const prefs = routing.preferences;
      const day = dayKey(deps.clock(), prefs.timezone);
      const month = monthKey(deps.clock(), prefs.timezone);
      const workspace = workspaceScope(viewer.workspaceId);
      const counters = await readCounters(deps.sql, [workspace, ...route.map((candidate) => providerScope(candidate.provider))], [day, month]);
      const limitReached = (scope: string, tokenLimit: bigint | null, budgetMicros: bigint | null, whose: string): string | null => {
        if (tokenLimit !== null && tokenLimit - (counters.get(`${scope}|${day}`)?.tokens ?? 0n) < MIN_USEFUL_OUTPUT_TOKENS) return `${whose} daily token limit is reached`;
        if (budgetMicros !== null && (counters.get(`${scope}|${month}`)?.costMicros ?? 0n) >= budgetMicros) return `${whose} monthly budget is reached`;
        return null;
      };
      const workspaceSpent = limitReached(workspace, prefs.workspaceDailyTokenLimit, prefs.workspaceMonthlyBudgetMicros, "the workspace's");
      for (const candidate of route) {
        if (!candidate.usable) continue;
        const reason = workspaceSpent ?? limitReached(providerScope(candidate.provider), candidate.provider.dailyTokenLimit, candidate.provider.monthlyBudgetMicros, 'its');
        if (reason) Object.assign(candidate, { usable: false, skippedBecause: reason });
      }
      return route;
    },

    /** After a change to the workspace's preferences or providers. A read under way when it comes is not kept. */
    forget(workspaceId: string): void {
      kept.delete(workspaceId);
    },
  };
}

/** The first few names of a list that may hold a hundred, for a message. */
function listed(names: string[]): string {
  const shown = 5;
  return names.length > shown ? `${names.slice(0, shown).join(', ')} and ${names.length - shown} more` : names.join(', ');
}

function skipReason(provider: Provider): string | null {
  if (provider.status === 'INVALID') return 'INVALID key';
  if (provider.status === 'DISABLED') return 'disabled';
  return null;
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
