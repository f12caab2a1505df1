import { maskKey } from '../../crypto/mask.js';
import { notFound } from '../../errors.js';
import { CredentialType, ProviderKind, ProviderScope, ProviderStatus } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import { microsToUsd } from '../../money.js';
import type { PlatformQuota as Quota } from '../limits/platform-quota.service.js';
import { KINDS, type KindSpec, kindCapabilities } from './kinds.js';
import type { ProviderTestResult as TestResult } from './provider.service.js';
import { SCOPE_MEANING } from './visibility.js';

export const ProviderKindEnum = builder.enumType(ProviderKind, { name: 'ProviderKind' });
const ProviderScopeEnum = builder.enumType(ProviderScope, {
  name: 'ProviderScope',
  description: Object.entries(SCOPE_MEANING)
    .map(([scope, meaning]) => `${scope}: ${meaning}`)
    .join('; '),
});
const CredentialTypeEnum = builder.enumType(CredentialType, { name: 'CredentialType' });
const ProviderStatusEnum = builder.enumType(ProviderStatus, { name: 'ProviderStatus' });

/** The same row as its Provider, in a type of its own. */
const ProviderHealth = builder.prismaObject('Provider', {
  variant: 'ProviderHealth',
  fields: (t) => ({
    status: t.field({ type: ProviderStatusEnum, resolve: (p) => p.status }),
    errorRate: t.float({
      description: 'Share of failed calls in the health window, 0..1 (upstream rate limits not counted)',
      resolve: async (p, _args, context) => (await context.services.providers.health(p)).errorRate,
    }),
    requestsInWindow: t.int({ resolve: async (p, _args, context) => (await context.services.providers.health(p)).requests }),
    latencyP50Ms: t.float({ nullable: true, resolve: async (p, _args, context) => (await context.services.providers.health(p)).latencyP50Ms }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Redacted, human readable' }),
    lastCheckedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The later of its last call and its last key test',
      resolve: async (p, _args, context) => {
        const lastCall = (await context.services.providers.health(p)).lastCallAt;
        return [lastCall, p.lastValidatedAt].filter((at): at is Date => at !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
      },
    }),
  }),
});

const Provider = builder.prismaObject('Provider', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: ProviderKindEnum, resolve: (p) => p.kind }),
    label: t.exposeString('label'),
    scope: t.field({ type: ProviderScopeEnum, resolve: (p) => p.scope }),
    credentialType: t.field({ type: CredentialTypeEnum, resolve: (p) => p.credentialType }),
    maskedKey: t.string({ description: 'At most the last 4 characters of the key', resolve: (p) => maskKey(p.keyHint) }),
    baseUrl: t.exposeString('baseUrl', { nullable: true }),
    defaultModel: t.exposeString('defaultModel', { nullable: true }),
    priority: t.exposeInt('priority', { description: 'Lower first when choosing among equals and fallbacks' }),
    dailyTokenLimit: t.field({ type: 'SafeInt', nullable: true, resolve: (p) => p.dailyTokenLimit }),
    monthlyBudgetUsd: t.float({ nullable: true, resolve: (p) => microsToUsd(p.monthlyBudgetMicros) }),
    tokensUsedToday: t.field({
      type: 'SafeInt',
      description: "In the workspace's time zone",
      resolve: async (p, _args, context) => (await context.services.providers.usage(p)).tokensUsedToday,
    }),
    spendThisMonthUsd: t.float({ resolve: async (p, _args, context) => (await context.services.providers.usage(p)).spendThisMonthUsd }),
    // Not `t.variant`: it reloads the row from the database, where platform providers are not.
    health: t.field({ type: ProviderHealth, resolve: (p) => p }),
    lastValidatedAt: t.expose('lastValidatedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ProviderKindInfo = builder.objectRef<KindSpec & { kind: ProviderKind }>('ProviderKindInfo').implement({
  description: 'A kind of provider as people name it, and what adding one needs',
  fields: (t) => ({
    kind: t.field({ type: ProviderKindEnum, resolve: (k) => k.kind }),
    displayName: t.exposeString('displayName', { description: 'e.g. "OpenAI", "OpenAI-compatible"' }),
    protocol: t.exposeString('protocol', { description: 'The wire protocol: openai, anthropic or gemini' }),
    defaultBaseUrl: t.exposeString('defaultBaseUrl', { nullable: true, description: 'null: the kind has no usual endpoint, addProvider needs a baseUrl' }),
    keyPrefix: t.exposeString('keyPrefix', { nullable: true, description: "What the vendor's keys usually start with" }),
    requiresKey: t.exposeBoolean('requiresKey'),
    defaultModel: t.exposeString('defaultModel', { description: 'What a call uses when nothing names a model' }),
    capabilities: t.stringList({
      description:
        'What the gateway carries through this kind: chat, streaming, tools, vision, json, and embeddings when the vendor has an embeddings API (a model may do less: see the catalog)',
      resolve: (k) => kindCapabilities(k),
    }),
  }),
});

const PlatformQuota = builder.objectRef<Quota>('PlatformQuota').implement({
  description: "The workspace's calls through the operator's platform providers this month",
  fields: (t) => ({
    month: t.exposeString('month', { description: '"2026-11": the month counted, in the workspace\'s time zone' }),
    monthlyRequests: t.exposeInt('monthlyRequests', { description: 'Calls a month the operator allows each workspace' }),
    requestsThisMonth: t.exposeInt('requestsThisMonth'),
    // A quota lowered by the operator may sit below what was already counted: nothing is left, never a negative number.
    requestsLeft: t.int({ resolve: (q) => Math.max(0, q.monthlyRequests - q.requestsThisMonth) }),
  }),
});

const ProviderTestResult = builder.objectRef<TestResult>('ProviderTestResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    latencyMs: t.exposeFloat('latencyMs'),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    models: t.exposeStringList('models', { nullable: true }),
  }),
});

const AddProviderInput = builder.inputType('AddProviderInput', {
  fields: (t) => ({
    kind: t.field({ type: ProviderKindEnum, required: true }),
    label: t.string(),
    apiKey: t.string({ required: true, description: 'Plaintext in, never out' }),
    scope: t.field({ type: ProviderScopeEnum, defaultValue: 'WORKSPACE' }),
    credentialType: t.field({ type: CredentialTypeEnum, defaultValue: 'API_KEY' }),
    baseUrl: t.string({ description: 'Required for OPENAI_COMPATIBLE; an optional override for others' }),
    defaultModel: t.string(),
    priority: t.int(),
    dailyTokenLimit: t.field({ type: 'SafeInt' }),
    monthlyBudgetUsd: t.float(),
    skipValidation: t.boolean({ defaultValue: false, description: 'OWNER only; the key is stored unvalidated and marked so' }),
  }),
});

const ValidateKeyInput = builder.inputType('ValidateKeyInput', {
  fields: (t) => ({
    kind: t.field({ type: ProviderKindEnum, required: true }),
    apiKey: t.string({ required: true, description: 'Plaintext in, never out, never stored' }),
    baseUrl: t.string({ description: 'Required for OPENAI_COMPATIBLE; an optional override for others' }),
    credentialType: t.field({ type: CredentialTypeEnum, defaultValue: 'API_KEY' }),
  }),
});

const UpdateProviderInput = builder.inputType('UpdateProviderInput', {
  fields: (t) => ({
    label: t.string(),
    apiKey: t.string({ description: 'Rotation: validated before it replaces the old key' }),
    baseUrl: t.string({ description: 'Only together with apiKey' }),
    defaultModel: t.string(),
    priority: t.int(),
    dailyTokenLimit: t.field({ type: 'SafeInt', description: 'Explicit null clears' }),
    monthlyBudgetUsd: t.float({ description: 'Explicit null clears' }),
    disabled: t.boolean(),
  }),
});

builder.queryFields((t) => ({
  providers: t.withAuth({ authenticated: true }).field({
    type: [Provider],
    description: "The workspace's providers and the caller's personal ones",
    resolve: (_root, _args, context) => context.services.providers.list(context.viewer),
  }),
  providerKinds: t.withAuth({ authenticated: true }).field({
    type: [ProviderKindInfo],
    description: 'Every kind addProvider takes, with its display name',
    resolve: () => Object.entries(KINDS).map(([kind, spec]) => ({ ...spec, kind: kind as ProviderKind })),
  }),
  platformQuota: t.withAuth({ authenticated: true }).field({
    type: PlatformQuota,
    nullable: true,
    description: "The workspace's use of the platform providers this month; null when the operator offers none",
    resolve: (_root, _args, context) => context.services.platformQuota.read(context.viewer),
  }),
  provider: t.withAuth({ authenticated: true }).field({
    type: Provider,
    nullable: true,
    description: 'NOT_FOUND unless the caller can see it',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => (await context.services.providers.get(context.viewer, args.id)) ?? notFound('Provider'),
  }),
}));

builder.mutationFields((t) => ({
  addProvider: t.withAuth({ authenticated: true }).field({
    type: Provider,
    description: 'ADMIN+ for WORKSPACE scope, any member for PERSONAL. The key is validated with the provider first.',
    args: { input: t.arg({ type: AddProviderInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.providers.add(context.viewer, input, context.signal),
  }),
  updateProvider: t.withAuth({ authenticated: true }).field({
    type: Provider,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateProviderInput, required: true }) },
    resolve: (_root, args, context) => context.services.providers.update(context.viewer, args.id, args.input, context.signal),
  }),
  deleteProvider: t.withAuth({ authenticated: true }).id({
    description: 'Removes the key for good; usage history keeps the id, kind and label',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.providers.remove(context.viewer, args.id),
  }),
  validateKey: t.withAuth({ authenticated: true }).field({
    type: ProviderTestResult,
    description:
      'Checks a key exactly as addProvider would (the egress guard, the hourly allowance of key changes, one call to the provider) and stores nothing but an audit entry without the key. A refused key is ok: false with its errorCode. Any member, not a SERVICE API key (FORBIDDEN), which may add no provider either.',
    args: { input: t.arg({ type: ValidateKeyInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.providers.validate(context.viewer, input, context.signal),
  }),
  testProvider: t.withAuth({ authenticated: true }).field({
    type: ProviderTestResult,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.providers.test(context.viewer, args.id, context.signal),
  }),
}));
