import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';
import { microsToUsd } from '../../money.js';
import type { UsageTickEvent } from '../../pubsub/pubsub.js';
import { ProviderKindEnum } from '../providers/provider.graphql.js';
import { DIMENSIONS, type GroupKey, MAX_GROUPS, MAX_TOP_MODELS, type UsageReport as Report, type Totals } from './report.js';
import type { DiscrepancyRow } from './usage.repository.js';
import { MAX_DISCREPANCY_DAYS, type UsageEventRow } from './usage.service.js';

export const UsageSourceEnum = builder.enumType('UsageSource', {
  values: ['PROVIDER', 'ESTIMATED'] as const,
  description: 'PROVIDER: counts reported by the provider; ESTIMATED: counted by the gateway (the provider gave none)',
});
const UsageStatusEnum = builder.enumType('UsageStatus', { values: ['RESERVED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'ABANDONED'] as const });
const UsageDimension = builder.enumType('UsageDimension', { values: DIMENSIONS });
const TimeBucket = builder.enumType('TimeBucket', { values: ['HOUR', 'DAY', 'WEEK', 'MONTH'] as const });

export const DateRangeInput = builder.inputType('DateRangeInput', {
  description: '[from, to)',
  fields: (t) => ({ from: t.field({ type: 'DateTime', required: true }), to: t.field({ type: 'DateTime', required: true }) }),
});
const UsageFilterInput = builder.inputType('UsageFilter', {
  fields: (t) => ({
    providerIds: t.idList(),
    models: t.stringList(),
    agents: t.stringList(),
    operations: t.stringList(),
    userIds: t.idList({ description: "Admins: these people's calls only; a member sees only their own either way" }),
    success: t.boolean({ description: 'true: only SUCCEEDED calls; false: only the others' }),
  }),
});

const UsageTotals = builder.objectRef<Totals>('UsageTotals').implement({
  fields: (t) => ({
    requests: t.field({ type: 'SafeInt', resolve: (x) => x.requests }),
    failedRequests: t.field({ type: 'SafeInt', resolve: (x) => x.failedRequests }),
    promptTokens: t.field({ type: 'SafeInt', resolve: (x) => x.promptTokens }),
    completionTokens: t.field({ type: 'SafeInt', resolve: (x) => x.completionTokens }),
    totalTokens: t.field({ type: 'SafeInt', resolve: (x) => x.totalTokens }),
    costUsd: t.float({ resolve: (x) => microsToUsd(x.costMicros) }),
    avgDurationMs: t.float({ nullable: true, resolve: (x) => x.avgDurationMs }),
  }),
});

type LabelledReport = Report & { labelOf(key: GroupKey): string };
interface Group {
  key: GroupKey;
  totals: Totals;
  label: string;
}

const UsageGroup = builder.objectRef<Group>('UsageGroup').implement({
  fields: (t) => ({
    key: t.field({ type: 'JSON', description: 'e.g. {"PROVIDER": "<id>", "MODEL": "gpt-4o"}', resolve: (g) => g.key }),
    label: t.exposeString('label'),
    totals: t.field({ type: UsageTotals, resolve: (g) => g.totals }),
  }),
});

const UsagePoint = builder.objectRef<Report['series'][number]>('UsagePoint').implement({
  fields: (t) => ({
    bucketStart: t.field({ type: 'DateTime', resolve: (p) => p.bucketStart }),
    key: t.field({ type: 'JSON', nullable: true, description: 'The group key; null when not grouped', resolve: (p) => p.key }),
    totals: t.field({ type: UsageTotals, resolve: (p) => p.totals }),
  }),
});

const DateRange = builder.objectRef<{ from: Date; to: Date }>('DateRange').implement({
  fields: (t) => ({ from: t.field({ type: 'DateTime', resolve: (r) => r.from }), to: t.field({ type: 'DateTime', resolve: (r) => r.to }) }),
});

const UsageReport = builder.objectRef<LabelledReport>('UsageReport').implement({
  fields: (t) => ({
    range: t.field({ type: DateRange, resolve: (r) => r.range }),
    totals: t.field({ type: UsageTotals, resolve: (r) => r.totals }),
    groups: t.field({
      type: [UsageGroup],
      description: 'One per distinct groupBy key, ordered by totalTokens desc',
      resolve: (r) => r.groups.map((g) => ({ ...g, label: r.labelOf(g.key) })),
    }),
    series: t.field({ type: [UsagePoint], description: 'One per bucket (× group), empty buckets included', resolve: (r) => r.series }),
    topModels: t.field({
      type: [UsageGroup],
      args: { limit: t.arg.int({ defaultValue: 5 }) },
      resolve: async (r, args) => {
        const limit = Math.max(0, Math.min(args.limit ?? 5, MAX_TOP_MODELS));
        return limit === 0 ? [] : (await r.topModels()).slice(0, limit).map((g) => ({ ...g, label: g.key.MODEL ?? '' }));
      },
    }),
  }),
});

/** Not a prismaObject: ledger pages are read by keyset SQL over (created_at, id), with only the columns the API shows. */
const UsageEvent = builder.objectRef<UsageEventRow>('UsageEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
    providerId: t.exposeID('providerId', { nullable: true }),
    kind: t.field({ type: ProviderKindEnum, resolve: (e) => e.kind }),
    model: t.exposeString('model'),
    agent: t.exposeString('agent', { nullable: true }),
    operation: t.exposeString('operation', { nullable: true }),
    userId: t.exposeID('userId', { nullable: true }),
    apiKeyId: t.exposeID('apiKeyId', { nullable: true, description: 'The gateway API key the call was made with; null for a token' }),
    status: t.field({ type: UsageStatusEnum, resolve: (e) => e.status }),
    streamed: t.exposeBoolean('streamed'),
    promptTokens: t.exposeInt('promptTokens'),
    cachedPromptTokens: t.exposeInt('cachedPromptTokens', { description: 'Part of promptTokens served from the provider cache (priced apart)' }),
    completionTokens: t.exposeInt('completionTokens'),
    reasoningTokens: t.exposeInt('reasoningTokens', { description: 'Part of completionTokens spent thinking' }),
    totalTokens: t.exposeInt('totalTokens'),
    usageSource: t.field({ type: UsageSourceEnum, resolve: (e) => e.usageSource }),
    costUsd: t.float({ resolve: (e) => microsToUsd(e.costMicros) }),
    providerCostUsd: t.float({
      nullable: true,
      description: "What the provider said the call cost (OpenRouter's usage.cost), beside costUsd; null when it said nothing",
      resolve: (e) => microsToUsd(e.providerCostMicros),
    }),
    priceVersion: t.exposeString('priceVersion', { nullable: true, description: 'Which price table priced it' }),
    priceFallback: t.exposeBoolean('priceFallback', { description: "The model had no known price: its kind's fallback rule priced it" }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    ttftMs: t.exposeInt('ttftMs', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    fallbackFrom: t.exposeID('fallbackFromId', { nullable: true, description: 'The usage event this call fell back from, if any' }),
  }),
});
const UsageEventConnection = connectionType('UsageEvent', UsageEvent);

const CostDiscrepancy = builder.objectRef<DiscrepancyRow>('CostDiscrepancy').implement({
  description: "Our cost of a provider kind's model beside what the provider said, over the calls for which it said",
  fields: (t) => ({
    kind: t.field({ type: ProviderKindEnum, resolve: (d) => d.kind }),
    model: t.exposeString('model'),
    calls: t.int({ resolve: (d) => Number(d.calls) }),
    ourCostUsd: t.float({ resolve: (d) => microsToUsd(d.ourCostMicros) }),
    providerCostUsd: t.float({ resolve: (d) => microsToUsd(d.providerCostMicros) }),
    differingCalls: t.int({ description: 'Calls whose two costs differ by more than the tolerance (unpriced calls left out)', resolve: (d) => Number(d.differingCalls) }),
    unpricedCalls: t.int({
      description:
        "Calls of a model the gateway has no price for (neither its table nor OpenRouter's list): priced by the kind's fallback rule, so their difference says nothing of a stale price",
      resolve: (d) => Number(d.unpricedCalls),
    }),
  }),
});

builder.queryFields((t) => ({
  usage: t.withAuth({ authenticated: true }).field({
    type: UsageReport,
    description: "Totals, groups, a zero-filled series and top models over [from, to); members see only their own calls. Buckets follow the workspace's time zone.",
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      groupBy: t.arg({ type: [UsageDimension], defaultValue: [] }),
      bucket: t.arg({ type: TimeBucket, defaultValue: 'DAY' }),
      filter: t.arg({ type: UsageFilterInput }),
    },
    resolve: (_root, args, context) =>
      context.services.usage.report(context.viewer, { ...args.range, groupBy: args.groupBy ?? [], bucket: args.bucket ?? 'DAY', filter: args.filter }),
  }),
  usageEvents: t.withAuth({ authenticated: true }).field({
    type: UsageEventConnection,
    description: 'Raw ledger rows, newest first; members see only their own',
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      filter: t.arg({ type: UsageFilterInput }),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: (_root, args, context) => context.services.usage.events(context.viewer, { ...args.range, filter: args.filter, first: args.first ?? 50, after: args.after }),
  }),
  costDiscrepancies: t.withAuth({ role: 'ADMIN' }).field({
    type: [CostDiscrepancy],
    description: `Our cost beside the provider's own (where it reports one: OpenRouter), by kind and model, over [from, to) (at most ${MAX_DISCREPANCY_DAYS} days), most \
differing first, at most ${MAX_GROUPS.toLocaleString('en-US')}. A call differs when |ours - theirs| > tolerance × max(ours, theirs) + $0.000001 (each side is rounded to the \
micro-dollar): 0.01 flags a call more than 1% apart; 0 flags any real difference. A model whose calls all differ has a stale price. ADMIN+.`,
    args: {
      range: t.arg({ type: DateRangeInput, required: true }),
      tolerance: t.arg.float({ defaultValue: 0.01, description: 'A share of the larger cost, 0 to 1' }),
    },
    resolve: (_root, args, context) => context.services.usage.costDiscrepancies(context.viewer, { ...args.range, tolerance: args.tolerance ?? 0.01 }),
  }),
}));

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
  t.withAuth({ authenticated: true }).field({
    type: UsageTick,
    description: "This workspace's counters after each finished call",
    subscribe: (_root, _args, context) => context.services.usageTicks.subscribe(context.viewer, context.signal),
    resolve: (tick) => tick,
  }),
);
