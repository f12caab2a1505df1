import { builder } from '../../graphql/builder.js';
import type { UsageTickEvent } from '../../pubsub/pubsub.js';

const UsageTick = builder.objectRef<UsageTickEvent>('UsageTick').implement({
  description: "One provider's live counters after a finished call",
  fields: (t) => ({
    providerId: t.exposeID('providerId'),
    tokensUsedToday: t.expose('tokensUsedToday', { type: 'SafeInt' }),
    dailyTokenLimit: t.expose('dailyTokenLimit', { type: 'SafeInt', nullable: true }),
    spendThisMonthUsd: t.exposeFloat('spendThisMonthUsd'),
    monthlyBudgetUsd: t.exposeFloat('monthlyBudgetUsd', { nullable: true }),
  }),
});

builder.subscriptionField('usageTicks', (t) =>
  t.field({
    type: UsageTick,
    description: "This workspace's counters after each finished call",
    subscribe: (_root, _args, context) => context.services.usageTicks.subscribe(context.viewer!.workspaceId, context.signal),
    resolve: (tick) => tick,
  }),
);
