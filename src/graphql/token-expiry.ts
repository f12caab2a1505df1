// A subscription lives no longer than the token that opened it, nor than its
// API key once revoked. Over SSE its last event is an UNAUTHENTICATED "Token
// expired" (or "API key revoked") error, then the stream completes; graphql-ws
// closes the whole socket with 4403 instead (websocket.ts).
import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context, WebSocketInitialContext } from '../context.js';
import { API_KEY_REVOKED, ApiKeyRevoked } from '../modules/apikeys/api-key-uses.js';
import { untilAborted } from '../pubsub/until-aborted.js';

/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds until `expiresAt`, within what setTimeout can wait. */
export function delayUntil(expiresAt: number): number {
  return Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS);
}

const TOKEN_EXPIRED: ExecutionResult = { errors: [new GraphQLError('Token expired', { extensions: { code: 'UNAUTHENTICATED' } })] };
const KEY_REVOKED: ExecutionResult = { errors: [new GraphQLError(API_KEY_REVOKED, { extensions: { code: 'UNAUTHENTICATED' } })] };

export function tokenExpiryPlugin(): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result, setResult }) => {
        const context = args.contextValue as Partial<Context & WebSocketInitialContext>;
        if (context.wsViewer || !context.viewer || !(Symbol.asyncIterator in result)) return;
        setResult(endingAt(result as AsyncIterableIterator<ExecutionResult>, context.viewer.expiresAt, context.signal!));
      },
    }),
  };
}

/**
 * `source` until `expiresAt`, then one TOKEN_EXPIRED result; ended early by return() like any subscription. A
 * revoked key aborts the request's `signal` (context.ts), which ends `source`: one KEY_REVOKED result then.
 */
function endingAt(source: AsyncIterableIterator<ExecutionResult>, expiresAt: number, signal: AbortSignal): AsyncIterableIterator<ExecutionResult> {
  const expiry = new AbortController();
  const timer = setTimeout(() => expiry.abort(), delayUntil(expiresAt));
  const results = untilAborted(source, expiry.signal);
  let finished = false;
  const finish = () => {
    finished = true;
    clearTimeout(timer);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return { done: true, value: undefined };
      const next = await results.next();
      if (!next.done) return next;
      finish();
      if (expiry.signal.aborted) return { done: false, value: TOKEN_EXPIRED };
      return signal.reason instanceof ApiKeyRevoked ? { done: false, value: KEY_REVOKED } : next;
    },
    return: () => {
      finish();
      return results.return!();
    },
  };
}
