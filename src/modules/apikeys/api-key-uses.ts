// What is open on this instance with a gateway API key: graphql-ws connections, GraphQL requests over HTTP (SSE
// subscriptions included) and the doors' calls. Revoking the key (on any instance: the bus tells every one) ends
// them at once, as a token's expiry does, instead of letting them run on with a key that is refused everywhere else.
import { createAbortRegistry } from '../../abort-registry.js';
import type { Viewer } from '../../auth/viewer.js';
import { UnauthenticatedError } from '../../errors.js';

/** Safe to show: whoever holds the connection already knew the key was good. */
export const API_KEY_REVOKED = 'API key revoked';

/** The abort reason of what a revocation ended: a client still there is told why (an SSE event, a door's 401 or error event). */
export class ApiKeyRevoked extends UnauthenticatedError {
  override name = 'ApiKeyRevoked';
}

export function createApiKeyUses() {
  const registry = createAbortRegistry(() => new ApiKeyRevoked(API_KEY_REVOKED));
  return {
    /** Aborts `controller` if the viewer's key is revoked while it is open; the returned function stops that. Nothing for a viewer without a key. */
    track: (viewer: Pick<Viewer, 'apiKey'> | null, controller: Pick<AbortController, 'abort'>): (() => void) =>
      viewer?.apiKey ? registry.track(viewer.apiKey.id, controller) : () => {},
    endAll: registry.endAll,
  };
}

export type ApiKeyUses = ReturnType<typeof createApiKeyUses>;
