// Turns what resolvers throw into what clients see: AppError keeps its message
// and code; GraphQL's own request errors get BAD_USER_INPUT; the rest is masked.
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError } from '../errors.js';
import { withoutEchoedValue } from './request-errors.js';

// Duck-typed: graphql ships two builds (CJS and ESM) and a class check fails across them.
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

const VARIABLE_REFUSED = /^Variable "\$\w+" got (?:an )?invalid value/;

export function maskError(error: unknown): Error {
  if (!isGraphQLError(error)) return internal();
  const original = error.originalError;
  if (original instanceof AppError) {
    return new GraphQLError(original.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { ...original.details, code: original.code },
    });
  }
  // A scalar that refused a variable's value: the outer error says which variable and where, without echoing the value.
  if (isGraphQLError(original)) {
    if (original.originalError && !VARIABLE_REFUSED.test(error.message)) return maskError(original);
    return new GraphQLError(withoutEchoedValue(error.message), { nodes: error.nodes, path: error.path, extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (isDatabaseUnavailable(original)) {
    return new GraphQLError('The database is unavailable; try again shortly', { path: error.path, extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
  if (original) return internal(error);
  // Parse, validation and variable errors: the request itself is wrong.
  if (error.extensions.code) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
  });
}

function internal(error?: GraphQLError): GraphQLError {
  return new GraphQLError('Unexpected error', { path: error?.path, extensions: { code: 'INTERNAL' } });
}
