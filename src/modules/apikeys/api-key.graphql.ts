import type { ApiKey as ApiKeyRow } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';
import { microsToUsd } from '../../money.js';
import { MAX_REQUESTS_PER_MINUTE } from './api-key.service.js';

const ApiKeyPrincipalEnum = builder.enumType('ApiKeyPrincipal', {
  values: ['MEMBER', 'SERVICE'] as const,
  description: 'MEMBER: acts as its creator; SERVICE: a workspace program with the MEMBER role',
});

const ApiKey = builder.prismaObject('ApiKey', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognise it' }),
    principal: t.field({ type: ApiKeyPrincipalEnum, resolve: (k) => k.principal }),
    createdBy: t.exposeID('createdBy'),
    agent: t.exposeString('agent', { nullable: true }),
    allowedModels: t.stringList({ nullable: true, resolve: (k) => (k.allowedModels.length > 0 ? k.allowedModels : null) }),
    dailyTokenLimit: t.field({ type: 'SafeInt', nullable: true, resolve: (k) => k.dailyTokenLimit }),
    monthlyBudgetUsd: t.float({ nullable: true, resolve: (k) => microsToUsd(k.monthlyBudgetMicros) }),
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true, description: 'Model calls a minute at most; null: no bound' }),
    tokensUsedToday: t.field({ type: 'SafeInt', resolve: async (k, _args, context) => (await context.services.apiKeys.usage(k)).tokensUsedToday }),
    spendThisMonthUsd: t.float({ resolve: async (k, _args, context) => (await context.services.apiKeys.usage(k)).spendThisMonthUsd }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});
const ApiKeyConnection = connectionType('ApiKey', ApiKey);

const CreatedApiKey = builder.objectRef<{ apiKey: ApiKeyRow; secret: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKey, resolve: (c) => c.apiKey }),
    secret: t.string({ description: 'Shown once: only a hash is stored', resolve: (c) => c.secret }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    principal: t.field({ type: ApiKeyPrincipalEnum, defaultValue: 'MEMBER' }),
    agent: t.string({ description: 'Calls made with the key default to this agent type' }),
    allowedModels: t.stringList({ description: 'None: any model the route allows' }),
    expiresAt: t.field({ type: 'DateTime' }),
    dailyTokenLimit: t.field({ type: 'SafeInt', description: 'Enforced by the same reservation as every other limit' }),
    monthlyBudgetUsd: t.float(),
    requestsPerMinute: t.int({ description: `Model calls a minute at most (1 to ${MAX_REQUESTS_PER_MINUTE}), over every door; past it, RATE_LIMITED with retryAfterSeconds` }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: ApiKeyConnection,
    description: "ADMIN+ see all of the workspace's; members their own. Newest first.",
    args: { first: t.arg.int({ defaultValue: 50 }), after: t.arg.string() },
    resolve: (_root, args, context) => context.services.apiKeys.list(context.viewer, args.first ?? 50, args.after),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.withAuth({ authenticated: true }).field({
    type: CreatedApiKey,
    description: 'ADMIN+ for SERVICE keys; any member for keys acting as themselves',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.apiKeys.create(context.viewer, { ...input, principal: input.principal ?? 'MEMBER' }),
  }),
  revokeApiKey: t.withAuth({ authenticated: true }).field({
    type: ApiKey,
    description: 'Its creator, or ADMIN+. Refused at once on every instance.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.apiKeys.revoke(context.viewer, args.id),
  }),
}));
