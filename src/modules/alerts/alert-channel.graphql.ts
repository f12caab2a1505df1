import type { AlertChannel as AlertChannelRow } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { AlertKindEnum } from './alerts.graphql.js';

const AlertChannelTypeEnum = builder.enumType('AlertChannelType', {
  values: ['WEBHOOK', 'SLACK'] as const,
  description: 'WEBHOOK: a signed JSON POST (X-Gateway-Signature); SLACK: a Slack-compatible incoming webhook',
});
const DeliveryStateEnum = builder.enumType('DeliveryState', {
  values: ['OK', 'RETRYING', 'DEAD'] as const,
  description: "A channel's latest delivery: delivered, failed and to be tried again, or given up after its last try",
});

const AlertChannel = builder.prismaObject('AlertChannel', {
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.field({ type: AlertChannelTypeEnum, resolve: (c) => c.type }),
    name: t.exposeString('name'),
    urlHost: t.exposeString('urlHost', { description: "The URL's host only: the rest may hold a token" }),
    kinds: t.field({ type: [AlertKindEnum], description: 'Empty: every kind', resolve: (c) => c.kinds }),
    state: t.field({ type: DeliveryStateEnum, resolve: (c) => c.state }),
    lastDeliveredAt: t.expose('lastDeliveredAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the latest try failed: a status, a timeout, the egress policy' }),
    deadDeliveries: t.int({
      description: 'Alerts this channel never got: their last try failed (state shows only the latest outcome)',
      resolve: (c, _args, context) => context.services.alertChannels.deadDeliveries(c),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreatedAlertChannel = builder.objectRef<{ channel: AlertChannelRow; signingSecret: string | null }>('CreatedAlertChannel').implement({
  fields: (t) => ({
    channel: t.field({ type: AlertChannel, resolve: (c) => c.channel }),
    signingSecret: t.exposeString('signingSecret', { nullable: true, description: 'WEBHOOK only, shown once: the key of X-Gateway-Signature' }),
  }),
});

const AlertChannelTestResult = builder.objectRef<{ ok: boolean; status: number | null; latencyMs: number; message: string | null }>('AlertChannelTestResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    status: t.exposeInt('status', { nullable: true }),
    latencyMs: t.exposeFloat('latencyMs'),
    message: t.exposeString('message', { nullable: true }),
  }),
});

const AddAlertChannelInput = builder.inputType('AddAlertChannelInput', {
  fields: (t) => ({
    type: t.field({ type: AlertChannelTypeEnum, required: true }),
    name: t.string({ required: true }),
    url: t.string({ required: true, description: 'Checked by the egress policy now and on every delivery; only its host is shown again' }),
    kinds: t.field({ type: [AlertKindEnum], description: 'None or empty: every kind' }),
  }),
});

builder.queryField('alertChannels', (t) =>
  t.withAuth({ role: 'ADMIN' }).field({
    type: [AlertChannel],
    description: 'ADMIN and OWNER only. Oldest first.',
    resolve: (_root, _args, context) => context.services.alertChannels.list(context.viewer),
  }),
);

builder.mutationFields((t) => ({
  addAlertChannel: t.withAuth({ role: 'ADMIN' }).field({
    type: CreatedAlertChannel,
    description: 'ADMIN and OWNER only.',
    args: { input: t.arg({ type: AddAlertChannelInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.alertChannels.add(context.viewer, input),
  }),
  removeAlertChannel: t.withAuth({ role: 'ADMIN' }).field({
    type: 'ID',
    description: 'ADMIN and OWNER only. Its undelivered alerts are dropped with it.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.alertChannels.remove(context.viewer, args.id),
  }),
  testAlertChannel: t.withAuth({ role: 'ADMIN' }).field({
    type: AlertChannelTestResult,
    description: "ADMIN and OWNER only. Sends an alert of kind TEST now; the channel's delivery state is left as it is.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.alertChannels.test(context.viewer, args.id, context.signal),
  }),
}));
