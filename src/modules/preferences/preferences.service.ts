// Workspace preferences (default, fallback and embedding provider, limits, time
// zone) and per-agent model preferences. Every provider named must be a usable
// workspace provider, and every chat model one that provider offers.
import type { Viewer } from '../../auth/viewer.js';
import { AppError, BadUserInputError, NotFoundError } from '../../errors.js';
import type { AgentPreference, Preferences, Provider } from '../../generated/prisma/client.js';
import type { RoutingStrategy } from '../../generated/prisma/enums.js';
import { callerName, modelName } from '../../text-input.js';
import { budgetMicros, dailyTokenLimit } from '../limits/limit-input.js';
import { MAX_OUTPUT_TOKENS } from '../limits/output-allowance.js';
import { isTimeZone } from '../limits/periods.js';
import { KINDS } from '../providers/kinds.js';
import type { ProviderService } from '../providers/provider.service.js';
import { sharedWithWorkspace } from '../providers/visibility.js';
import type { PreferencesRepository, StoredPreferences } from './preferences.repository.js';

export interface PreferencesInput {
  defaultProviderId?: string | null;
  defaultModel?: string | null;
  fallbackProviderId?: string | null;
  fallbackModel?: string | null;
  autoFailover?: boolean | null;
  maxTokensPerRequest?: number | null;
  timezone?: string | null;
  quotaWarningThreshold?: number | null;
  workspaceDailyTokenLimit?: number | null;
  workspaceMonthlyBudgetUsd?: number | null;
  storeConversationHistory?: boolean | null;
  embeddingProviderId?: string | null;
  embeddingModel?: string | null;
  routingStrategy?: RoutingStrategy | null;
}

export interface AgentPreferenceInput {
  agentType: string;
  providerId: string;
  model: string;
  fallbackProviderId?: string | null;
  fallbackModel?: string | null;
  /** null: the workspace's. */
  routingStrategy?: RoutingStrategy | null;
}

export type PreferencesView = Omit<Preferences, 'updatedAt'> & { agentPreferences: AgentPreference[] };

export function createPreferencesService(
  repository: PreferencesRepository,
  providers: ProviderService,
  routingChanged: (workspaceId: string) => void,
  rebuildRollup: (workspaceId: string) => Promise<unknown>,
) {
  const read = (workspaceId: string): Promise<StoredPreferences> => repository.read(workspaceId);

  /** A provider the whole workspace can route to: a workspace or platform provider that is not INVALID or DISABLED. */
  async function usableProvider(viewer: Viewer, id: string, field: string): Promise<Provider> {
    const provider = await providers.get(viewer, id);
    if (!provider) throw new NotFoundError('Provider');
    if (!sharedWithWorkspace(provider)) throw new BadUserInputError('Preferences may only name workspace or platform providers, not personal ones', field);
    if (provider.status === 'INVALID' || provider.status === 'DISABLED') {
      throw new BadUserInputError(`Provider "${provider.label}" is ${provider.status}: test or re-enable it first`, field);
    }
    return provider;
  }

  async function assertOffers(provider: Provider, model: string, field: string, signal: AbortSignal): Promise<void> {
    let models: string[];
    try {
      models = await providers.models(provider, signal);
    } catch (error) {
      if (error instanceof AppError) throw new AppError(error.code, `Could not confirm that "${provider.label}" offers ${model}: ${error.message}`, { field });
      throw error;
    }
    if (!models.includes(model)) throw new BadUserInputError(`"${provider.label}" does not offer the model "${model}"`, field);
  }

  /** Checks a (provider, model) pair; a model alone needs the provider it belongs to. */
  async function checkChoice(viewer: Viewer, providerId: string | null | undefined, model: string | null | undefined, fields: [string, string], signal: AbortSignal) {
    if (providerId == null) {
      if (model != null) throw new BadUserInputError(`${fields[1]} needs ${fields[0]}`, fields[1]);
      return;
    }
    const provider = await usableProvider(viewer, providerId, fields[0]);
    if (model != null) await assertOffers(provider, model, fields[1], signal);
  }

  /**
   * The embedding choice: a provider whose kind embeds, with a model or a kind that has a default one. The model is
   * not checked against the provider's list: those lists are made for chat (a custom server need not list its
   * embedding models), and the embed call reports an unknown model itself.
   */
  async function checkEmbeddingChoice(viewer: Viewer, providerId: string | null, model: string | null) {
    if (providerId == null) {
      if (model != null) throw new BadUserInputError('embeddingModel needs embeddingProviderId', 'embeddingModel');
      return;
    }
    const provider = await usableProvider(viewer, providerId, 'embeddingProviderId');
    const kind = KINDS[provider.kind];
    if (!kind.embeds) throw new BadUserInputError(`${kind.displayName} offers no embeddings: choose another embedding provider`, 'embeddingProviderId');
    if (model == null && kind.defaultEmbeddingModel == null) {
      throw new BadUserInputError(`${kind.displayName} providers have no default embedding model: name one in embeddingModel`, 'embeddingProviderId');
    }
  }

  return {
    read,

    async get(viewer: Viewer): Promise<PreferencesView> {
      const [preferences, agentPreferences] = await Promise.all([read(viewer.workspaceId), repository.listAgentPreferences(viewer.workspaceId)]);
      return { ...preferences, agentPreferences };
    },

    async update(viewer: Viewer, input: PreferencesInput, signal: AbortSignal): Promise<PreferencesView> {
      if (input.defaultModel != null) modelName(input.defaultModel, 'defaultModel');
      if (input.fallbackModel != null) modelName(input.fallbackModel, 'fallbackModel');
      if (input.embeddingModel != null) modelName(input.embeddingModel, 'embeddingModel');
      const current = await read(viewer.workspaceId);
      const next = {
        defaultProviderId: input.defaultProviderId === undefined ? current.defaultProviderId : input.defaultProviderId,
        defaultModel: input.defaultModel === undefined ? current.defaultModel : input.defaultModel,
        fallbackProviderId: input.fallbackProviderId === undefined ? current.fallbackProviderId : input.fallbackProviderId,
        fallbackModel: input.fallbackModel === undefined ? current.fallbackModel : input.fallbackModel,
        embeddingProviderId: input.embeddingProviderId === undefined ? current.embeddingProviderId : input.embeddingProviderId,
        embeddingModel: input.embeddingModel === undefined ? current.embeddingModel : input.embeddingModel,
      };
      if (input.defaultProviderId !== undefined || input.defaultModel !== undefined) {
        await checkChoice(viewer, next.defaultProviderId, next.defaultModel, ['defaultProviderId', 'defaultModel'], signal);
      }
      if (input.fallbackProviderId !== undefined || input.fallbackModel !== undefined) {
        await checkChoice(viewer, next.fallbackProviderId, next.fallbackModel, ['fallbackProviderId', 'fallbackModel'], signal);
      }
      if (input.embeddingProviderId !== undefined || input.embeddingModel !== undefined) await checkEmbeddingChoice(viewer, next.embeddingProviderId, next.embeddingModel);
      const data: Partial<Preferences> = { ...next };
      if (input.autoFailover != null) data.autoFailover = input.autoFailover;
      if (input.storeConversationHistory != null) data.storeConversationHistory = input.storeConversationHistory;
      if (input.routingStrategy != null) data.routingStrategy = input.routingStrategy;
      if (input.timezone != null) {
        if (input.timezone.length > 64 || !isTimeZone(input.timezone)) throw new BadUserInputError('timezone must be an IANA time zone (e.g. Europe/Berlin)', 'timezone');
        data.timezone = input.timezone;
      }
      if (input.quotaWarningThreshold != null) {
        if (!(input.quotaWarningThreshold > 0 && input.quotaWarningThreshold <= 1))
          throw new BadUserInputError('quotaWarningThreshold must be above 0 and at most 1', 'quotaWarningThreshold');
        data.quotaWarningThreshold = input.quotaWarningThreshold;
      }
      if (input.maxTokensPerRequest !== undefined) {
        if (input.maxTokensPerRequest !== null && !(input.maxTokensPerRequest >= 1 && input.maxTokensPerRequest <= MAX_OUTPUT_TOKENS)) {
          throw new BadUserInputError(`maxTokensPerRequest must be from 1 to ${MAX_OUTPUT_TOKENS}`, 'maxTokensPerRequest');
        }
        data.maxTokensPerRequest = input.maxTokensPerRequest;
      }
      if (input.workspaceDailyTokenLimit !== undefined) data.workspaceDailyTokenLimit = dailyTokenLimit(input.workspaceDailyTokenLimit, 'workspaceDailyTokenLimit');
      if (input.workspaceMonthlyBudgetUsd !== undefined) data.workspaceMonthlyBudgetMicros = budgetMicros(input.workspaceMonthlyBudgetUsd, 'workspaceMonthlyBudgetUsd');
      // The audit entry names what the input set, as given (ids, numbers, names: nothing secret).
      const changes = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
      await repository.save(viewer, data, { action: 'PREFERENCES_UPDATED', data: changes });
      routingChanged(viewer.workspaceId);
      // The rollup's days are local days: a new time zone moves every row's day.
      if (data.timezone !== undefined && data.timezone !== current.timezone) await rebuildRollup(viewer.workspaceId);
      return this.get(viewer);
    },

    async setAgentPreference(viewer: Viewer, input: AgentPreferenceInput, signal: AbortSignal): Promise<AgentPreference> {
      callerName(input.agentType, 'agentType');
      modelName(input.model, 'model');
      if (input.fallbackModel != null) modelName(input.fallbackModel, 'fallbackModel');
      await checkChoice(viewer, input.providerId, input.model, ['providerId', 'model'], signal);
      await checkChoice(viewer, input.fallbackProviderId, input.fallbackModel, ['fallbackProviderId', 'fallbackModel'], signal);
      const choice = {
        providerId: input.providerId,
        model: input.model,
        fallbackProviderId: input.fallbackProviderId ?? null,
        fallbackModel: input.fallbackModel ?? null,
        routingStrategy: input.routingStrategy ?? null,
      };
      const saved = await repository.saveAgentPreference(viewer, input.agentType, choice, { action: 'AGENT_PREFERENCE_SET', data: { agentType: input.agentType, ...choice } });
      routingChanged(viewer.workspaceId);
      return saved;
    },

    async removeAgentPreference(viewer: Viewer, agentType: string): Promise<boolean> {
      callerName(agentType, 'agentType');
      const removed = await repository.deleteAgentPreference(viewer, agentType, { action: 'AGENT_PREFERENCE_REMOVED', data: { agentType } });
      if (removed) routingChanged(viewer.workspaceId);
      return removed;
    },
  };
}

export type PreferencesService = ReturnType<typeof createPreferencesService>;
