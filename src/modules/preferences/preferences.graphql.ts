import { RoutingStrategy } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import { microsToUsd } from '../../money.js';
import type { PreferencesView } from './preferences.service.js';

const RoutingStrategyEnum = builder.enumType(RoutingStrategy, {
  name: 'RoutingStrategy',
  description:
    "How a route orders its candidates. PRIORITY: the configured order (preference, default, fallbacks, then by priority). CHEAPEST: the candidates the catalog says can serve the call (tools, images, JSON, context length), by lowest expected cost, models without a catalog price last. FASTEST: by the lowest median time to first token of the provider's successful calls in the health window, unmeasured providers last. A call that names a provider, or continues a session that has one, is never re-ranked; one that names only a model keeps it first and ranks the fallbacks.",
});

const AgentModelPreference = builder.prismaObject('AgentPreference', {
  name: 'AgentModelPreference',
  fields: (t) => ({
    agentType: t.exposeString('agentType'),
    providerId: t.exposeID('providerId'),
    model: t.exposeString('model'),
    fallbackProviderId: t.exposeID('fallbackProviderId', { nullable: true }),
    fallbackModel: t.exposeString('fallbackModel', { nullable: true }),
    routingStrategy: t.field({
      type: RoutingStrategyEnum,
      nullable: true,
      description: "This agent's routing strategy; null: the workspace's",
      resolve: (choice) => choice.routingStrategy,
    }),
    estimatedUsdPerMTok: t.withAuth({ authenticated: true }).float({
      nullable: true,
      description:
        "Blended cost indicator of the choice: USD per 1M tokens at the catalog's price, three input tokens to one output; null when the catalog does not list the model",
      resolve: async (choice, _args, context) => {
        const provider = await context.services.providers.get(context.viewer, choice.providerId);
        return provider && context.services.catalog.blendedUsdPerMTok(provider.kind, choice.model);
      },
    }),
  }),
});

/** Not a prismaObject: a workspace that never saved preferences has defaults, not a row, and its agent preferences are no relation of it. */
const Preferences = builder.objectRef<PreferencesView>('Preferences').implement({
  fields: (t) => ({
    defaultProviderId: t.exposeID('defaultProviderId', { nullable: true }),
    defaultModel: t.exposeString('defaultModel', { nullable: true }),
    fallbackProviderId: t.exposeID('fallbackProviderId', { nullable: true }),
    fallbackModel: t.exposeString('fallbackModel', { nullable: true }),
    autoFailover: t.exposeBoolean('autoFailover'),
    maxTokensPerRequest: t.exposeInt('maxTokensPerRequest', { nullable: true }),
    timezone: t.exposeString('timezone', { description: 'IANA name; days for limits and usage buckets are counted in it' }),
    quotaWarningThreshold: t.exposeFloat('quotaWarningThreshold'),
    workspaceDailyTokenLimit: t.field({ type: 'SafeInt', nullable: true, resolve: (p) => p.workspaceDailyTokenLimit }),
    workspaceMonthlyBudgetUsd: t.float({ nullable: true, resolve: (p) => microsToUsd(p.workspaceMonthlyBudgetMicros) }),
    storeConversationHistory: t.exposeBoolean('storeConversationHistory'),
    routingStrategy: t.field({ type: RoutingStrategyEnum, description: 'The default PRIORITY is the configured order', resolve: (p) => p.routingStrategy }),
    agentPreferences: t.field({ type: [AgentModelPreference], resolve: (p) => p.agentPreferences }),
    embeddingProviderId: t.exposeID('embeddingProviderId', { nullable: true, description: 'Where `embed` and /v1/embeddings go when the call names no provider' }),
    embeddingModel: t.exposeString('embeddingModel', { nullable: true, description: "null: the provider kind's default embedding model" }),
  }),
});

const PreferencesInput = builder.inputType('PreferencesInput', {
  fields: (t) => ({
    defaultProviderId: t.id(),
    defaultModel: t.string(),
    fallbackProviderId: t.id(),
    fallbackModel: t.string(),
    autoFailover: t.boolean(),
    maxTokensPerRequest: t.int(),
    timezone: t.string(),
    quotaWarningThreshold: t.float(),
    workspaceDailyTokenLimit: t.field({ type: 'SafeInt' }),
    workspaceMonthlyBudgetUsd: t.float(),
    storeConversationHistory: t.boolean(),
    embeddingProviderId: t.id(),
    embeddingModel: t.string(),
    routingStrategy: t.field({ type: RoutingStrategyEnum }),
  }),
});

const AgentModelPreferenceInput = builder.inputType('AgentModelPreferenceInput', {
  fields: (t) => ({
    agentType: t.string({ required: true }),
    providerId: t.id({ required: true }),
    model: t.string({ required: true }),
    fallbackProviderId: t.id(),
    fallbackModel: t.string(),
    routingStrategy: t.field({ type: RoutingStrategyEnum, description: "null: the workspace's" }),
  }),
});

builder.queryField('preferences', (t) =>
  t.withAuth({ authenticated: true }).field({ type: Preferences, resolve: (_root, _args, context) => context.services.preferences.get(context.viewer) }),
);

builder.mutationFields((t) => ({
  updatePreferences: t.withAuth({ role: 'ADMIN' }).field({
    type: Preferences,
    args: { input: t.arg({ type: PreferencesInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.preferences.update(context.viewer, input, context.signal),
  }),
  setAgentModelPreference: t.withAuth({ role: 'ADMIN' }).field({
    type: AgentModelPreference,
    args: { input: t.arg({ type: AgentModelPreferenceInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.preferences.setAgentPreference(context.viewer, input, context.signal),
  }),
  removeAgentModelPreference: t.withAuth({ role: 'ADMIN' }).boolean({
    args: { agentType: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.services.preferences.removeAgentPreference(context.viewer, args.agentType),
  }),
}));
