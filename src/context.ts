// The per-operation context, built the same way for HTTP, SSE and WebSocket.
import { randomUUID } from 'node:crypto';
import type { YogaInitialContext } from 'graphql-yoga';
import { bearerToken, TokenRejected, type VerifyToken, type Viewer } from './auth/jwt.js';
import type { Logger } from './logging/logger.js';
import type { Services } from './services.js';

export interface Context {
  /** null when the request carries no valid token; `authFailure` then says why. */
  viewer: Viewer | null;
  authFailure?: string;
  requestId: string;
  /** Aborts when the client goes away or the server shuts down. */
  signal: AbortSignal;
  services: Services;
  logger: Logger;
}

/** What graphql-ws hands to Yoga for a WebSocket operation (the viewer was checked in onConnect). */
export interface WebSocketInitialContext {
  wsViewer: Viewer;
  /** Aborts when this operation completes, its socket closes or the server shuts down. */
  wsSignal: AbortSignal;
}

export interface ContextDeps {
  verifyToken: VerifyToken;
  services: Services;
  logger: Logger;
  shutdownSignal: AbortSignal;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function createContextFactory(deps: ContextDeps) {
  return async (initial: YogaInitialContext & Partial<WebSocketInitialContext>): Promise<Context> => {
    const headerId = initial.request?.headers.get('x-request-id');
    const requestId = headerId && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    const signal = initial.wsSignal ?? (initial.request?.signal ? AbortSignal.any([initial.request.signal, deps.shutdownSignal]) : deps.shutdownSignal);
    const base = { requestId, signal, services: deps.services, logger: deps.logger.child({ requestId }) };
    if (initial.wsViewer) return { ...base, viewer: initial.wsViewer };

    const token = bearerToken(initial.request?.headers.get('authorization'));
    if (!token) return { ...base, viewer: null };
    try {
      const viewer = await deps.verifyToken(token);
      await deps.services.viewers.ensureKnown(viewer);
      return { ...base, viewer };
    } catch (error) {
      if (error instanceof TokenRejected) return { ...base, viewer: null, authFailure: error.message };
      throw error;
    }
  };
}
