import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { AppError, BadUserInputError } from '../../src/errors.js';
import { maskError } from '../../src/graphql/errors.js';
import { DateTimeScalar, SafeIntScalar } from '../../src/graphql/scalars.js';

const wrapped = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['viewer'] });

describe('maskError', () => {
  it('keeps the message, code and details of an AppError', () => {
    const error = maskError(wrapped(new AppError('RATE_LIMITED', 'Too many key changes', { retryAfterSeconds: 60 }))) as GraphQLError;
    expect(error.message).toBe('Too many key changes');
    expect(error.extensions).toEqual({ retryAfterSeconds: 60, code: 'RATE_LIMITED' });
    expect(error.path).toEqual(['viewer']);
  });

  it('masks anything unexpected as INTERNAL without its message', () => {
    const error = maskError(wrapped(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'))) as GraphQLError;
    expect(error.message).toBe('Unexpected error');
    expect(error.extensions).toEqual({ code: 'INTERNAL' });
    expect(maskError(new TypeError('boom')).message).toBe('Unexpected error');
  });

  it('gives request errors without a code BAD_USER_INPUT and keeps existing codes', () => {
    expect((maskError(new GraphQLError('Variable "$x" of required type "ID!" was not provided.')) as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
    expect((maskError(new GraphQLError('Syntax Error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })) as GraphQLError).extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('scalars', () => {
  it('DateTime takes ISO-8601 with a zone and prints UTC', () => {
    expect(DateTimeScalar.parseValue('2026-03-08T01:30:00-05:00')).toEqual(new Date('2026-03-08T06:30:00Z'));
    expect(DateTimeScalar.serialize(new Date('2026-03-08T06:30:00Z'))).toBe('2026-03-08T06:30:00.000Z');
    for (const bad of ['2026-03-08', '2026-03-08T01:30:00', 'yesterday', 12]) {
      expect(() => DateTimeScalar.parseValue(bad)).toThrow(BadUserInputError);
    }
  });

  it('SafeInt carries integers past 32 bits and refuses the unsafe', () => {
    expect(SafeIntScalar.serialize(10_000_000_000n)).toBe(10_000_000_000);
    expect(SafeIntScalar.parseValue(2 ** 53 - 1)).toBe(2 ** 53 - 1);
    expect(() => SafeIntScalar.parseValue(2 ** 53)).toThrow(BadUserInputError);
    expect(() => SafeIntScalar.parseValue(1.5)).toThrow(BadUserInputError);
    expect(() => SafeIntScalar.serialize(2n ** 60n)).toThrow(TypeError);
  });
});

describe('database outages', () => {
  it('are recognised from pg, Postgres and Prisma errors anywhere in the cause chain', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    // Every connection the server allows is taken: it cannot take this one now.
    expect(isDatabaseUnavailable(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('boom'))).toBe(false);
  });

  it('reach the client as SERVICE_UNAVAILABLE, without details', () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });
    const masked = maskError(new GraphQLError(outage.message, { originalError: outage })) as GraphQLError;
    expect(masked.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(masked.message).not.toContain('10.1.2.3');
  });
});
