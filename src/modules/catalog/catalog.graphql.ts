import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';
import { microsToUsd } from '../../money.js';
import { ProviderKindEnum } from '../providers/provider.graphql.js';
import type { CatalogModel } from './catalog.js';

export const ModelTierEnum = builder.enumType('ModelTier', { values: ['PREMIUM', 'BALANCED', 'CHEAP'] as const });

const ModelInfo = builder.objectRef<CatalogModel>('ModelInfo').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: '"<kind>:<model>", e.g. "OPENROUTER:anthropic/claude-3.5-sonnet"' }),
    kind: t.field({ type: ProviderKindEnum, resolve: (m) => m.kind }),
    model: t.exposeString('model'),
    displayName: t.exposeString('displayName'),
    contextWindow: t.exposeInt('contextWindow', { nullable: true }),
    inputUsdPerMTok: t.float({ nullable: true, description: 'USD per 1M input tokens', resolve: (m) => microsToUsd(m.price.input) }),
    cachedInputUsdPerMTok: t.float({ nullable: true, description: 'USD per 1M input tokens served from the provider cache', resolve: (m) => microsToUsd(m.price.cachedInput) }),
    outputUsdPerMTok: t.float({ nullable: true, description: 'USD per 1M output tokens (reasoning included)', resolve: (m) => microsToUsd(m.price.output) }),
    tier: t.field({ type: ModelTierEnum, nullable: true, resolve: (m) => m.tier }),
    capabilities: t.stringList({
      description: 'e.g. "streaming", "vision", "tools", "json", "reasoning", "embeddings"; empty when the catalog does not say (nothing is refused for the model then)',
      resolve: (m) => m.capabilities ?? [],
    }),
    priceVersion: t.exposeString('priceVersion', { description: 'The price table version these prices come from' }),
  }),
});

const ModelConnection = connectionType('Model', ModelInfo);
builder.objectField(ModelConnection, 'totalCount', (t) => t.int({ resolve: (page) => (page as unknown as { totalCount: number }).totalCount }));

builder.queryField('models', (t) =>
  t.field({
    type: ModelConnection,
    authScopes: { authenticated: true },
    description: 'The model catalog with prices; search ignores case and punctuation',
    args: {
      kind: t.arg({ type: ProviderKindEnum }),
      search: t.arg.string(),
      tier: t.arg({ type: ModelTierEnum }),
      capability: t.arg.string({ description: 'Only models with this capability, e.g. "embeddings", "tools", "vision"' }),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: (_root, args, context) => context.services.catalog.list({ ...args, first: args.first ?? 50 }),
  }),
);
