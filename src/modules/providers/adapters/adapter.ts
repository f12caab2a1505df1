// The one interface every wire protocol implements (canonical request in, canonical
// answer events out: see chat/canonical.ts), and the mapping of upstream
// failures to the contract's codes. Upstream error text is never passed on: it
// can echo the key (OpenAI's 401 does), so callers get status and error type only.

import { childSignal } from '../../../child-signal.js';
import { AppError, type ErrorCode } from '../../../errors.js';
import type { ProviderKind } from '../../../generated/prisma/enums.js';
import { EgressRefused } from '../../../net/egress.js';
import { type HttpClient, UpstreamLineTooLong } from '../../../net/http-fetch.js';
import type { AnswerEvent, Embeddings, UpstreamEmbedRequest, UpstreamRequest } from '../../chat/canonical.js';
import { KINDS } from '../kinds.js';

export interface ProviderTarget {
  kind: ProviderKind;
  baseUrl: string;
  /** Plaintext, for the duration of one call. */
  apiKey: string;
  credentialType: 'API_KEY' | 'OAUTH_TOKEN';
}

export interface ProviderAdapter {
  /** Proves the key works; resolves with the models it can use when the provider lists them. */
  validate(target: ProviderTarget, signal: AbortSignal): Promise<{ models: string[] | null }>;
  listModels(target: ProviderTarget, signal: AbortSignal): Promise<string[]>;
  /** One non-streamed call, answered as the same events a stream would give. */
  chat(target: ProviderTarget, request: UpstreamRequest, signal: AbortSignal): Promise<AnswerEvent[]>;
  /** Upstream failures are thrown as ProviderCallError, before or after the first event. */
  stream(target: ProviderTarget, request: UpstreamRequest, signal: AbortSignal): AsyncIterable<AnswerEvent>;
  /** Absent where the protocol has no embeddings (Anthropic): routing goes past such providers. */
  embed?(target: ProviderTarget, request: UpstreamEmbedRequest, signal: AbortSignal): Promise<Embeddings>;
}

export interface AdapterDeps {
  /** The egress-guarded HTTP client: its fetch is every SDK's. */
  http: HttpClient;
  /** Deadline of one call, or of a stream's first event. */
  timeoutMs: number;
  /** Longest silence between two events of a stream. */
  idleTimeoutMs: number;
}

/** A failed upstream call, already in the contract's terms. */
export class ProviderCallError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, details);
    this.name = 'ProviderCallError';
  }
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504, 529]);
const SAFE_IDENTIFIER = /^[A-Za-z0-9_.-]{1,64}$/;

/** What we know of a failed HTTP exchange, whichever SDK made it. */
export interface UpstreamFailure {
  status?: number;
  headers?: Headers;
  /** The provider's machine-readable error type or reason (e.g. "rate_limit_error", "API_KEY_INVALID"). */
  type?: string;
}

/** An answer other than 2xx to a request an adapter made with the guarded fetch itself, not through an SDK. */
export class UpstreamHttpError extends Error {
  constructor(readonly failure: UpstreamFailure) {
    super(`answered ${failure.status}`);
    this.name = 'UpstreamHttpError';
  }
}

/** What we know of an UpstreamHttpError; undefined for anything else. */
export function ownHttpFailure(error: unknown): UpstreamFailure | undefined {
  return error instanceof UpstreamHttpError ? error.failure : undefined;
}

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function providerError(kind: ProviderKind, failure: UpstreamFailure): ProviderCallError {
  const name = KINDS[kind].displayName;
  const { status } = failure;
  const type = failure.type && SAFE_IDENTIFIER.test(failure.type) ? failure.type : undefined;
  const said = `${name} answered ${status}${type ? ` (${type})` : ''}`;
  const details = { upstreamStatus: status };
  if (status === 401 || status === 403 || type === 'API_KEY_INVALID') {
    const hint = KINDS[kind].keyPrefix ? ` ${name} keys usually start with "${KINDS[kind].keyPrefix}".` : '';
    return new ProviderCallError('INVALID_CREDENTIALS', `${said}: the key was rejected.${hint}`, status, false, undefined, details);
  }
  if (status === 429) {
    return new ProviderCallError('UPSTREAM_RATE_LIMITED', `${said}: rate limited`, status, true, retryAfterMs(failure.headers), details);
  }
  if (status !== undefined && RETRYABLE_STATUS.has(status)) {
    return new ProviderCallError('PROVIDER_UNAVAILABLE', `${said}`, status, true, retryAfterMs(failure.headers), details);
  }
  if (status === 402) return new ProviderCallError('PROVIDER_UNAVAILABLE', `${said}: the account has no credit`, status, false, undefined, details);
  if (status !== undefined && status >= 500) return new ProviderCallError('PROVIDER_UNAVAILABLE', said, status, false, undefined, details);
  return new ProviderCallError('BAD_USER_INPUT', `${said}: the request was refused (check the base URL and model)`, status, false, undefined, details);
}

/**
 * Runs one upstream call under the caller's signal and the adapter's deadline.
 * `httpFailure` turns an SDK's HTTP error into what we know of it; anything
 * else is a transport failure (refused by policy, unreachable, timed out).
 * When the caller itself went away, its abort is passed on unchanged.
 */
export async function callProvider<T>(
  kind: ProviderKind,
  signal: AbortSignal,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T>,
  httpFailure: (error: unknown) => UpstreamFailure | undefined,
): Promise<T> {
  const call = childSignal(signal);
  call.deadline(timeoutMs, 'call');
  try {
    return await run(call.signal);
  } catch (error) {
    if (error instanceof ProviderCallError) throw error;
    const failure = httpFailure(error);
    if (failure) throw providerError(kind, failure);
    if (signal.aborted) throw error;
    throw transportError(kind, error, call.timedOut);
  } finally {
    call.release();
  }
}

/**
 * Like callProvider, for a stream: failures while opening it and while reading
 * it are mapped the same way. `timeoutMs` bounds the wait for the first event,
 * `idleTimeoutMs` every wait after it (time the consumer spends on an event is
 * not counted). A stream that ends without its terminal event (a `finish`) was
 * cut off: that is a failure, not an answer.
 */
export async function* streamProvider(
  kind: ProviderKind,
  signal: AbortSignal,
  deadlines: Pick<AdapterDeps, 'timeoutMs' | 'idleTimeoutMs'>,
  open: (signal: AbortSignal) => AsyncIterable<AnswerEvent> | Promise<AsyncIterable<AnswerEvent>>,
  httpFailure: (error: unknown) => UpstreamFailure | undefined,
): AsyncGenerator<AnswerEvent> {
  const upstream = childSignal(signal);
  upstream.deadline(deadlines.timeoutMs, 'stream');
  let finished = false;
  try {
    for await (const event of await open(upstream.signal)) {
      upstream.deadline(null, 'stream');
      if (event.type === 'finish') finished = true;
      yield event;
      upstream.deadline(deadlines.idleTimeoutMs, 'stream');
    }
    signal.throwIfAborted();
    if (!finished) throw new ProviderCallError('PROVIDER_UNAVAILABLE', `${KINDS[kind].displayName} ended the stream before its last event`, undefined, true);
  } catch (error) {
    if (error instanceof ProviderCallError) throw error;
    const failure = httpFailure(error);
    if (failure) throw providerError(kind, failure);
    if (signal.aborted) throw error;
    throw transportError(kind, error, upstream.timedOut);
  } finally {
    upstream.release();
  }
}

/** A stream that ended with an error event after a 200 (Anthropic `error`, OpenAI/Gemini `data: {"error": ...}`). */
export function inBandError(kind: ProviderKind, type: string | undefined): ProviderCallError {
  const overloaded = type === 'overloaded_error' || type === 'UNAVAILABLE';
  const safeType = type && SAFE_IDENTIFIER.test(type) ? ` (${type})` : '';
  return new ProviderCallError('PROVIDER_UNAVAILABLE', `${KINDS[kind].displayName} failed mid-stream${safeType}`, undefined, overloaded);
}

function transportError(kind: ProviderKind, error: unknown, timedOut: boolean): ProviderCallError {
  const refused = findCause(error, (e) => e instanceof EgressRefused);
  if (refused) return new ProviderCallError('BAD_USER_INPUT', (refused as Error).message, undefined, false, undefined, { field: 'baseUrl' });
  const oversized = findCause(error, (e) => e instanceof UpstreamLineTooLong);
  if (oversized) return new ProviderCallError('PROVIDER_UNAVAILABLE', `${KINDS[kind].displayName} ${(oversized as Error).message}`, undefined, false);
  if (findCause(error, (e) => e instanceof SyntaxError)) {
    return new ProviderCallError('PROVIDER_UNAVAILABLE', `${KINDS[kind].displayName} sent an answer that could not be read`, undefined, true);
  }
  const slow = timedOut || Boolean(findCause(error, (e) => e instanceof Error && /timed? ?out|TimeoutError/i.test(`${e.name} ${e.message}`)));
  return new ProviderCallError('PROVIDER_UNAVAILABLE', `${KINDS[kind].displayName} ${slow ? 'did not answer in time' : 'could not be reached'}`, undefined, true);
}

function findCause(error: unknown, match: (e: unknown) => boolean): unknown {
  for (let current = error, depth = 0; current && depth < 6; depth++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
