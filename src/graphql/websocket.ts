// graphql-ws on the HTTP server's port, through Yoga's plugin pipeline (getEnveloped) and context. A socket is
// authenticated once, at connection_init, and closed with 4403 when its token expires or its API key is revoked;
// each operation holds a place in the per-connection and per-user bounds until it completes or its socket closes.
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Authenticate } from '../auth/authenticate.js';
import type { Viewer } from '../auth/viewer.js';
import type { Config } from '../config.js';
import type { WebSocketInitialContext } from '../context.js';
import { API_KEY_REVOKED } from '../modules/apikeys/api-key-uses.js';
import type { Services } from '../services.js';
import { maskError } from './errors.js';
import { type OperationQuota, tooManyOperations } from './operation-quota.js';
import { delayUntil } from './token-expiry.js';
import { GRAPHQL_PATH, type Yoga } from './yoga.js';

export interface WebSocketDeps {
  config: Config;
  yoga: Yoga;
  authenticate: Authenticate;
  operationQuota: OperationQuota;
  metrics: Services['metrics'];
  apiKeyUses: Services['apiKeyUses'];
}

export interface WebSocketGraphQL {
  /** Aborts every open operation; their subscriptions then complete on their own. */
  endOperations(): void;
  /** Resolves when no socket holds a subscription any more, or after `timeoutMs`. */
  subscriptionsEnded(timeoutMs: number): Promise<void>;
  /** Closes every socket with 1001 Going Away. */
  dispose(): Promise<void>;
}

type WsExtra = Extra & { viewer?: Viewer; operations?: Map<string, AbortController> };

/**
 * Why a graphql-ws operation's signal aborts when it completes (the client's `complete`, or its end):
 * one shared reason, because abort() without one builds a DOMException, stack and all, every time.
 */
const OPERATION_COMPLETED = new DOMException('The operation completed', 'AbortError');

export function attachWebSocketGraphQL(server: Server, { config, yoga, authenticate, operationQuota, metrics, apiKeyUses }: WebSocketDeps): WebSocketGraphQL {
  // Upgrades are handed over by hand: given the server itself, ws would re-emit its errors (a port in use) as
  // its own, and graphql-ws prints those with a stack as an internal error.
  const wsServer = new WebSocketServer({ noServer: true, path: GRAPHQL_PATH, maxPayload: config.wsMaxPayloadBytes });
  server.on('upgrade', (request, socket, head) => wsServer.handleUpgrade(request, socket, head, (ws) => wsServer.emit('connection', ws, request)));
  const wsClients = new Set<WsContext<Record<string, unknown>, WsExtra>>();
  metrics.countSubscriptions(() => [...wsClients].reduce((open, ctx) => open + Object.keys(ctx.subscriptions).length, 0));

  const wsHandle = useServer<Record<string, unknown>, { viewer: Viewer; operations: Map<string, AbortController> }>(
    {
      connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
      onConnect: async (ctx) => {
        // Refused with the reason (graphql-ws's own refusal only says "Forbidden"); any JSON may arrive here.
        const refuse = (reason: string) => (ctx.extra.socket.close(CloseCode.Forbidden, reason), false);
        const authorization = ctx.connectionParams?.authorization;
        const authentication = await authenticate(typeof authorization === 'string' ? authorization : undefined);
        if (!authentication.viewer) return refuse(authentication.refusal ?? 'connection_init must carry authorization: "Bearer <token>"');
        ctx.extra.viewer = authentication.viewer;
        endConnectionWithCredential(ctx);
        wsClients.add(ctx);
        // Every operation of this socket ends with it (shutdown closes the sockets too).
        const operations = (ctx.extra.operations = new Map<string, AbortController>());
        ctx.extra.socket.once('close', () => {
          wsClients.delete(ctx);
          for (const operation of operations.values()) operation.abort();
          operations.clear();
        });
        return true;
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations?.get(id)?.abort(OPERATION_COMPLETED);
        ctx.extra.operations?.delete(id);
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has already listed this operation: the bound counts it.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxOperationsPerConnection) {
          return [tooManyOperations('operationsPerConnection', config.wsMaxOperationsPerConnection)];
        }
        const operation = new AbortController();
        const initial: WebSocketInitialContext = { wsViewer: ctx.extra.viewer!, wsSignal: operation.signal };
        const {
          schema: enveloped,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...initial,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        // Whatever parse or validation throws fails this operation with an error message, never the socket (4500).
        let document;
        try {
          document = parse(payload.query);
          const errors = validate(enveloped, document);
          if (errors.length > 0) return errors.map((error: unknown) => maskError(error) as never);
        } catch (error) {
          return [maskError(error) as never];
        }
        const giveBack = operationQuota.take(ctx.extra.viewer!);
        if (!giveBack) return [tooManyOperations('operationsPerUser', operationQuota.max)];
        // Aborted when the operation completes, its socket closes or the server stops.
        operation.signal.addEventListener('abort', giveBack, { once: true });
        ctx.extra.operations?.set(id, operation);
        return {
          schema: enveloped,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
    },
    wsServer,
  );

  /** A token that expires, or an API key revoked (on any instance), while its socket is open ends the connection. */
  function endConnectionWithCredential(ctx: WsContext<Record<string, unknown>, WsExtra>): void {
    const end = (reason: string) => ctx.extra.socket.close(CloseCode.Forbidden, reason);
    const timer = setTimeout(() => end('Token expired'), delayUntil(ctx.extra.viewer!.expiresAt));
    const untrack = apiKeyUses.track(ctx.extra.viewer!, { abort: () => end(API_KEY_REVOKED) });
    ctx.extra.socket.once('close', () => {
      clearTimeout(timer);
      untrack();
    });
  }

  return {
    endOperations: () => {
      for (const ctx of wsClients) for (const operation of ctx.extra.operations?.values() ?? []) operation.abort();
    },
    subscriptionsEnded: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while ([...wsClients].some((ctx) => Object.keys(ctx.subscriptions).length > 0) && Date.now() < deadline) await sleep(5, undefined, { ref: false });
    },
    dispose: async () => {
      await wsHandle.dispose();
    },
  };
}
