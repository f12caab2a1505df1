// How many operations one user may hold open on this instance (graphql-ws
// operations and SSE subscriptions together), and the refusal a client gets
// for the one over a bound. RATE_LIMITED, not BAD_USER_INPUT: the operation is
// valid and succeeds once another one ends (the contract's "this API's own rate limit").
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';
import type { Context, HttpInitialContext, WebSocketInitialContext } from '../context.js';

export type OperationBound = 'operationsPerConnection' | 'operationsPerUser';

const WHERE: Record<OperationBound, string> = { operationsPerConnection: 'on this connection', operationsPerUser: 'for this user on this instance' };

export function tooManyOperations(limit: OperationBound, max: number): GraphQLError {
  return new GraphQLError(`Too many operations open ${WHERE[limit]} (at most ${max}): complete one first`, { extensions: { code: 'RATE_LIMITED', limit, max } });
}

export interface OperationQuota {
  /** A place for one more operation of the viewer, to give back once it ends; undefined when they hold the maximum. */
  take(viewer: Viewer): (() => void) | undefined;
  readonly max: number;
}

export function createOperationQuota(max: number): OperationQuota {
  const open = new Map<string, number>();
  return {
    max,
    take(viewer) {
      const user = `${viewer.workspaceId}\u0000${viewer.userId}`;
      const count = open.get(user) ?? 0;
      if (count >= max) return undefined;
      open.set(user, count + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = open.get(user)! - 1;
        if (left === 0) open.delete(user);
        else open.set(user, left);
      };
    },
  };
}

/** SSE subscriptions hold a place until their response closes; graphql-ws operations are counted in websocket.ts. */
export function sseOperationQuotaPlugin(quota: OperationQuota): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Partial<Context & WebSocketInitialContext & HttpInitialContext>;
      if (context.wsViewer || !context.viewer || !context.res) return;
      const giveBack = quota.take(context.viewer);
      if (!giveBack) return setResultAndStopExecution({ errors: [tooManyOperations('operationsPerUser', quota.max)] });
      context.res.once('close', giveBack);
    },
  };
}
