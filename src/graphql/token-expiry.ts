// A subscription lives no longer than the token that opened it. Over SSE its
// last event is an UNAUTHENTICATED "Token expired" error, then the stream
// completes; graphql-ws closes the whole socket with 4403 instead (websocket.ts).
import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context, WebSocketInitialContext } from '../context.js';
import { untilAborted } from '../pubsub/until-aborted.js';

/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds until `expiresAt`, within what setTimeout can wait. */
export function delayUntil(expiresAt: number): number {
  return Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS);
}

const TOKEN_EXPIRED: ExecutionResult = { errors: [new GraphQLError('Token expired', { extensions: { code: 'UNAUTHENTICATED' } })] };

export function tokenExpiryPlugin(): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result, setResult }) => {
        const context = args.contextValue as Partial<Context & WebSocketInitialContext>;
        if (context.wsViewer || !context.viewer || !(Symbol.asyncIterator in result)) return;
        setResult(endingAt(result as AsyncIterableIterator<ExecutionResult>, context.viewer.expiresAt));
      },
    }),
  };
}

/** `source` until `expiresAt`, then one TOKEN_EXPIRED result; ended early by return() like any subscription. */
function endingAt(source: AsyncIterableIterator<ExecutionResult>, expiresAt: number): AsyncIterableIterator<ExecutionResult> {
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
      return expiry.signal.aborted ? { done: false, value: TOKEN_EXPIRED } : next;
    },
    return: () => {
      finish();
      return results.return!();
    },
  };
}
