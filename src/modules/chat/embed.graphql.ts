import { builder } from '../../graphql/builder.js';
import { ProviderKindEnum } from '../providers/provider.graphql.js';
import type { EmbeddingAnswer } from './canonical.js';
import { TokenUsage } from './chat.graphql.js';

// The GraphQL door to embeddings: EmbedInput → the core's EmbedRequest, its answer → EmbedResult.
const EmbedInput = builder.inputType('EmbedInput', {
  fields: (t) => ({
    providerId: t.id({ description: 'None: preferences.embeddingProviderId, else the first usable provider that embeds' }),
    model: t.string({ description: "None: preferences.embeddingModel, else the kind's default embedding model" }),
    inputs: t.stringList({ required: true, description: '1..2048 texts' }),
    dimensions: t.int({ description: 'Where the model supports shortening' }),
    agent: t.string(),
    operation: t.string({ description: 'Defaults to "embedding"' }),
  }),
});

const EmbedResult = builder.objectRef<EmbeddingAnswer>('EmbedResult').implement({
  fields: (t) => ({
    vectors: t.field({ type: t.listRef(t.listRef('Float')), description: 'One per input, in order', resolve: (r) => r.vectors }),
    providerId: t.exposeID('providerId'),
    kind: t.field({ type: ProviderKindEnum, resolve: (r) => r.kind }),
    model: t.exposeString('model'),
    usage: t.field({ type: TokenUsage, resolve: (r) => r.usage }),
    usageEventId: t.exposeID('usageEventId'),
  }),
});

builder.mutationField('embed', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: EmbedResult,
    args: { input: t.arg({ type: EmbedInput, required: true }) },
    resolve: (_root, { input }, context) =>
      context.services.embed(
        context.viewer,
        {
          inputs: input.inputs,
          dimensions: input.dimensions ?? undefined,
          providerId: input.providerId ?? undefined,
          model: input.model ?? undefined,
          agent: input.agent ?? undefined,
          operation: input.operation ?? undefined,
        },
        context.signal,
      ),
  }),
);
