// The one place a credential becomes a Viewer: the Authorization header of an HTTP request (GraphQL, SSE,
// the CSV export) and the `authorization` of a graphql-ws connection_init. What each front door answers
// when there is no viewer (a status, a close code, an error) stays with the door.
import { type ApiKeyAuthenticator, ApiKeyRejected } from '../modules/apikeys/api-key-authenticator.js';
import { looksLikeSecret } from '../modules/apikeys/api-key-secret.js';
import { TokenRejected, type VerifyToken } from './jwt.js';
import type { Viewer } from './viewer.js';
import type { ViewerService } from './viewer.service.js';

/** The viewer; or none, with why the credential was refused in words safe to show the caller (no refusal: none was offered). */
export type Authentication = { viewer: Viewer } | { viewer: null; refusal?: string };

export type Authenticate = (authorization: string | null | undefined) => Promise<Authentication>;

export interface AuthenticateDeps {
  verifyToken: VerifyToken;
  viewers: ViewerService;
  /** `Bearer gk_…`: a gateway API key instead of a JWT. */
  apiKeys: Pick<ApiKeyAuthenticator, 'authenticate'>;
}

const NO_CREDENTIAL: Authentication = Object.freeze({ viewer: null });

export function createAuthenticate({ verifyToken, viewers, apiKeys }: AuthenticateDeps): Authenticate {
  return async (authorization) => {
    const token = bearerToken(authorization);
    if (!token) return NO_CREDENTIAL;
    try {
      if (looksLikeSecret(token)) return { viewer: await apiKeys.authenticate(token) };
      const viewer = await verifyToken(token);
      // Rows for the workspace, user and membership the token names, so that everything after may rely on them.
      // Not for an API key: its workspace and creator exist, and the creator's role is the one a token last claimed
      // (a key writing back the role it was looked up with would undo a demotion).
      await viewers.ensureKnown(viewer);
      return { viewer };
    } catch (error) {
      if (error instanceof TokenRejected || error instanceof ApiKeyRejected) return { viewer: null, refusal: error.message };
      throw error;
    }
  };
}

/** `Bearer <token>` → token; anything else → undefined. */
function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
