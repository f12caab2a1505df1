// The per-operation context, built the same way for HTTP, SSE and WebSocket.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { YogaInitialContext } from 'graphql-yoga';
import type { Authenticate } from './auth/authenticate.js';
import type { Viewer } from './auth/viewer.js';
import { childSignal } from './child-signal.js';
import type { ApiKeyUses } from './modules/apikeys/api-key-uses.js';
import type { Services } from './services.js';

export interface Context {
  /** null when the request carries no valid token; `authFailure` then says why. */
  viewer: Viewer | null;
  authFailure?: string;
  requestId: string;
  /** Aborts when the client goes away or the server shuts down. */
  signal: AbortSignal;
  services: Services;
}

/** What graphql-ws hands to Yoga for a WebSocket operation (the viewer was checked in onConnect). */
export interface WebSocketInitialContext {
  wsViewer: Viewer;
  /** Aborts when this operation completes, its socket closes or the server shuts down. */
  wsSignal: AbortSignal;
}

/** What Yoga's Node adapter adds for an HTTP request (SSE included). */
export interface HttpInitialContext {
  res: ServerResponse;
}

export interface ContextDeps {
  authenticate: Authenticate;
  services: Services;
  shutdownSignal: AbortSignal;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Why an HTTP operation's signal aborts when its client goes away: one shared reason (see graphql/websocket.ts, OPERATION_COMPLETED). */
const CLIENT_LEFT = new DOMException('The client closed the connection', 'AbortError');

/**
 * Aborts when the connection closes before the response is finished, when the server shuts down, or when the
 * viewer's API key is revoked. The request's own `signal` would do for the first, but it is a Proxy that builds an
 * AbortController on first use, and following it and the shutdown signal took AbortSignal.any: together about
 * 1.5% of a chat's CPU in V8 profiles.
 */
function untilClientLeaves(res: ServerResponse, shutdown: AbortSignal, viewer: Viewer | null, apiKeyUses: ApiKeyUses): AbortSignal {
  const child = childSignal(shutdown);
  const untrack = apiKeyUses.track(viewer, child);
  const leave = () => {
    child.release();
    untrack();
    if (!res.writableFinished) child.abort(CLIENT_LEFT);
  };
  // The client may have gone while its credential was checked.
  if (res.closed) leave();
  else res.once('close', leave);
  return child.signal;
}

export type ContextFactory = (initial: YogaInitialContext & Partial<WebSocketInitialContext & HttpInitialContext>) => Promise<Context>;

export function createContextFactory(deps: ContextDeps): ContextFactory {
  return async (initial) => {
    const headerId = initial.request?.headers.get('x-request-id');
    const requestId = headerId && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    const { services } = deps;
    if (initial.wsViewer) return { requestId, services, signal: initial.wsSignal!, viewer: initial.wsViewer };

    const authentication = await deps.authenticate(initial.request?.headers.get('authorization'));
    const { viewer } = authentication;
    const signal = initial.res ? untilClientLeaves(initial.res, deps.shutdownSignal, viewer, deps.services.apiKeyUses) : deps.shutdownSignal;
    if (viewer) return { requestId, services, signal, viewer };
    return { requestId, services, signal, viewer: null, authFailure: authentication.refusal };
  };
}
