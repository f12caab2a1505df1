// The Pothos builder: plugins, scalars and root types only. Each domain's
// *.graphql.ts adds its own types and fields; src/graphql/schema.ts imports them.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { type Role, roleAtLeast, type Viewer } from '../auth/viewer.js';
import type { Context } from '../context.js';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import { DateTimeScalar, JSONScalar, SafeIntScalar } from './scalars.js';

/** The context of a field whose scopes passed: every scope needs a viewer. */
type ViewerContext = Context & { viewer: Viewer };

interface BuilderConfig {
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  AuthScopes: {
    authenticated: boolean;
    /** The viewer's role is at least this one. */
    role: Role;
  };
  /** What `t.withAuth(scopes)` gives a resolver: a non-null viewer. */
  AuthContexts: {
    authenticated: ViewerContext;
    role: ViewerContext;
  };
  Scalars: {
    /** graphql-js parses every ID argument, integer literals included, to a string. */
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date | string };
    SafeInt: { Input: number; Output: number | bigint };
    JSON: { Input: unknown; Output: unknown };
  };
}

/** The schema's types, for helpers that take refs (e.g. connectionType). */
export type Types = PothosSchemaTypes.ExtendDefaultTypes<BuilderConfig>;

export const builder = new SchemaBuilder<BuilderConfig>({
  plugins: [ScopeAuthPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Without this, scopes guard a subscription's resolve but not its subscribe.
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      authenticated: context.viewer !== null,
      role: (minimum: Role) => context.viewer !== null && roleAtLeast(context.viewer.role, minimum),
    }),
    unauthorizedError: (_parent, context) => (context.viewer ? new ForbiddenError() : new UnauthenticatedError(context.authFailure)),
  },
  prisma: {
    // Each app (and each test server) has its own database, so the client comes with the request.
    client: (context) => context.services.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
  },
});

builder.addScalarType('DateTime', DateTimeScalar);
builder.addScalarType('SafeInt', SafeIntScalar);
builder.addScalarType('JSON', JSONScalar);

// Every root field needs a valid token unless it says otherwise.
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });
builder.subscriptionType({ authScopes: { authenticated: true } });
