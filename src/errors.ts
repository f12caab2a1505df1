// Expected failures, thrown by services and mapped to GraphQL errors with a
// stable `extensions.code` (src/graphql/errors.ts). Anything else is masked.

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'INVALID_CREDENTIALS'
  | 'PROVIDER_UNAVAILABLE'
  | 'UPSTREAM_RATE_LIMITED'
  | 'LIMIT_EXCEEDED'
  | 'RATE_LIMITED'
  | 'PROVIDER_REMOVED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, non-secret fields for `extensions` (e.g. `field`, `retryAfterSeconds`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required: send "Authorization: Bearer <token>"') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Your role does not allow this') {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/** For `lookup() ?? notFound('Thing')`. */
export function notFound(what: string): never {
  throw new NotFoundError(what);
}

export class BadUserInputError extends AppError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field ? { field } : {});
  }
}

/** A failure at start that the operator can act on (a lock held too long): the process prints its message alone and exits 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
