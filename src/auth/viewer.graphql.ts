import { builder } from '../graphql/builder.js';
import type { Viewer } from './viewer.js';

const RoleEnum = builder.enumType('Role', { values: ['OWNER', 'ADMIN', 'MEMBER'] as const });

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who the token says the caller is',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    workspaceId: t.exposeID('workspaceId'),
    role: t.field({ type: RoleEnum, resolve: (viewer) => viewer.role }),
  }),
});

builder.queryField('viewer', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: ViewerRef,
    resolve: (_root, _args, context) => context.viewer,
  }),
);
