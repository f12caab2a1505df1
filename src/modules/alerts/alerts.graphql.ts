import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';
import type { AlertEvent } from '../../pubsub/pubsub.js';
import { BUDGET_FORECAST_RULE } from '../limits/budget-forecast.js';

export const AlertKindEnum = builder.enumType('AlertKind', {
  values: {
    LIMIT_WARNING: {},
    LIMIT_REACHED: {},
    BUDGET_WARNING: {},
    BUDGET_REACHED: {},
    BUDGET_FORECAST: { description: BUDGET_FORECAST_RULE },
    PROVIDER_DEGRADED: {},
    PROVIDER_INVALID: {},
    PROVIDER_RECOVERED: {},
  } as const,
});
const SeverityEnum = builder.enumType('Severity', { values: ['INFO', 'WARNING', 'CRITICAL'] as const });

/**
 * A stored alert or a published one: the same fields. Not a prismaObject: the subscription delivers the
 * published event (JSON across Redis, dates as strings), not a row.
 */
const Alert = builder.objectRef<AlertEvent>('Alert').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: AlertKindEnum, resolve: (a) => a.kind as never }),
    severity: t.field({ type: SeverityEnum, resolve: (a) => a.severity as never }),
    providerId: t.exposeID('providerId', { nullable: true }),
    message: t.exposeString('message'),
    data: t.field({ type: 'JSON', resolve: (a) => a.data }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.acknowledgedAt }),
  }),
});
const AlertConnection = connectionType('Alert', Alert);

builder.queryField('alerts', (t) =>
  t.withAuth({ role: 'ADMIN' }).field({
    type: AlertConnection,
    description: 'Newest first. ADMIN and OWNER only.',
    args: { unacknowledgedOnly: t.arg.boolean({ defaultValue: false }), first: t.arg.int({ defaultValue: 50 }), after: t.arg.string() },
    resolve: (_root, args, context) =>
      context.services.alerts.list(context.viewer, { unacknowledgedOnly: args.unacknowledgedOnly ?? false, first: args.first ?? 50, after: args.after }),
  }),
);

builder.mutationField('acknowledgeAlert', (t) =>
  t.withAuth({ role: 'ADMIN' }).field({
    type: Alert,
    description: 'ADMIN and OWNER only. Acknowledging twice keeps the first time.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => context.services.alerts.acknowledge(context.viewer, args.id),
  }),
);

builder.subscriptionField('alerts', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: Alert,
    description: "This workspace's alerts as they are raised: all of them to ADMIN and OWNER; to a member, those about their own personal providers.",
    subscribe: (_root, _args, context) => context.services.alerts.subscribe(context.viewer, context.signal),
    resolve: (alert) => alert,
  }),
);
