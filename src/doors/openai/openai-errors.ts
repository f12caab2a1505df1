// The core's failures in OpenAI's error shape and statuses, which the SDKs turn into their error classes
// (and retry or not by). An upstream that still rate-limits after the core's retries and fallbacks is a 429,
// not a 503: the limit is the caller's own provider key's, and backing off as told is the right reaction.
import { AppError, type ErrorCode } from '../../errors.js';
import { ProviderCallError } from '../../modules/providers/adapters/adapter.js';
import { isModelNotFound } from '../door-model.js';

export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export interface OpenAiErrorReply {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

const STATUS: Record<ErrorCode, [number, string]> = {
  UNAUTHENTICATED: [401, 'invalid_request_error'],
  FORBIDDEN: [403, 'permission_error'],
  NOT_FOUND: [404, 'invalid_request_error'],
  BAD_USER_INPUT: [400, 'invalid_request_error'],
  LIMIT_EXCEEDED: [429, 'insufficient_quota'],
  RATE_LIMITED: [429, 'rate_limit_error'],
  UPSTREAM_RATE_LIMITED: [429, 'rate_limit_error'],
  // The provider refused the workspace's stored key: not the caller's credential, so not a 401.
  INVALID_CREDENTIALS: [502, 'upstream_error'],
  PROVIDER_UNAVAILABLE: [503, 'server_error'],
  PROVIDER_REMOVED: [503, 'server_error'],
  SERVICE_UNAVAILABLE: [503, 'server_error'],
  INTERNAL: [500, 'server_error'],
};

/** The core's request fields (GraphQL's names) as OpenAI's parameters. */
const PARAMETERS: Record<string, string> = {
  messages: 'messages',
  tools: 'tools',
  toolChoice: 'tool_choice',
  responseFormat: 'response_format',
  stop: 'stop',
  topP: 'top_p',
  temperature: 'temperature',
  model: 'model',
  providerId: 'model',
  inputs: 'input',
  dimensions: 'dimensions',
};

/** A limit of ours refuses until a running call settles or an admin raises it: worth a later try, not an SDK's immediate retries. */
const LIMIT_RETRY_AFTER_SECONDS = 60;

/** `maxTokens` is whichever of max_tokens and max_completion_tokens the caller sent. */
export function openAiError(error: AppError, maxTokensParam = 'max_completion_tokens'): OpenAiErrorReply {
  const [status, type] = STATUS[error.code];
  const field = typeof error.details.field === 'string' ? error.details.field : undefined;
  const param = field === 'maxTokens' ? maxTokensParam : field ? (PARAMETERS[field] ?? null) : null;
  const code = isModelNotFound(error) ? 'model_not_found' : error.code.toLowerCase();
  const headers: Record<string, string> = {};
  if (error.code === 'LIMIT_EXCEEDED') Object.assign(headers, { 'retry-after': String(LIMIT_RETRY_AFTER_SECONDS), 'x-should-retry': 'false' });
  if (error.code === 'RATE_LIMITED' || error.code === 'UPSTREAM_RATE_LIMITED') headers['retry-after'] = String(retryAfterSeconds(error));
  return { status, body: { error: { message: error.message, type, code, param } }, headers };
}

export function unauthenticated(message: string): OpenAiErrorReply {
  return { status: 401, body: { error: { message, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }, headers: {} };
}

/** A request the door itself cannot read, naming OpenAI's parameter. */
export function badRequest(message: string, param: string | null): OpenAiErrorReply {
  return { status: 400, body: { error: { message, type: 'invalid_request_error', code: 'bad_user_input', param } }, headers: {} };
}

/** Anything not an AppError: masked, the way GraphQL masks it. */
export const UNEXPECTED: OpenAiErrorReply = openAiError(new AppError('INTERNAL', 'Unexpected error'));

function retryAfterSeconds(error: AppError): number {
  if (typeof error.details.retryAfterSeconds === 'number') return error.details.retryAfterSeconds;
  if (error instanceof ProviderCallError && error.retryAfterMs !== undefined) return Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  return 1;
}
