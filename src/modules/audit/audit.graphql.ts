import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';

const AuditEntry = builder.prismaObject('AuditEntry', {
  description: 'One change to the workspace: who, what, when; never a key',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    actorId: t.exposeID('actorId'),
    action: t.exposeString('action'),
    targetId: t.exposeID('targetId', { nullable: true }),
    data: t.expose('data', { type: 'JSON' }),
  }),
});

const AuditEntryConnection = connectionType('AuditEntry', AuditEntry);

builder.queryField('auditLog', (t) =>
  t.withAuth({ role: 'ADMIN' }).field({
    type: AuditEntryConnection,
    description: 'Newest first. ADMIN and OWNER only.',
    args: { first: t.arg.int({ defaultValue: 50 }), after: t.arg.string() },
    resolve: (_root, args, context) => context.services.audit.list(context.viewer, args.first ?? 50, args.after),
  }),
);
