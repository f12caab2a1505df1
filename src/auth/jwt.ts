// Bearer tokens: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose';
import type { JwtConfig } from '../config.js';
import { isServiceUserId, roleFromClaim, type Viewer } from './viewer.js';

/** Why a token was refused, in words safe to show the caller. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
}

export type VerifyToken = (token: string) => Promise<Viewer>;

const CLAIM_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Verified tokens remembered until they expire; a client sends the same token with every request. */
const REMEMBERED_TOKENS = 10_000;

export function createTokenVerifier(config: JwtConfig): VerifyToken {
  const key: KeyObject | JWTVerifyGetKey = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : createSecretKey(Buffer.from(config.secret ?? ''));
  const algorithms = config.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  const verified = new Map<string, Viewer>();

  return async (token) => {
    const known = verified.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    const viewer = Object.freeze(await verify(token));
    if (verified.size >= REMEMBERED_TOKENS) verified.delete(verified.keys().next().value!);
    verified.set(token, viewer);
    return viewer;
  };

  async function verify(token: string): Promise<Viewer> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key as KeyObject, {
        algorithms,
        issuer: config.issuer,
        audience: config.audience,
        // A token without an expiry would be a credential for ever.
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw new TokenRejected(describeJoseError(error));
    }
    const role = roleFromClaim(payload.role);
    if (typeof payload.sub !== 'string' || !CLAIM_ID.test(payload.sub) || isServiceUserId(payload.sub)) throw new TokenRejected('Token has no valid "sub" claim');
    if (typeof payload.wid !== 'string' || !CLAIM_ID.test(payload.wid)) throw new TokenRejected('Token has no valid "wid" claim');
    if (!role) throw new TokenRejected('Token "role" claim must be owner, admin or member');
    return { userId: payload.sub, workspaceId: payload.wid, role, expiresAt: payload.exp! * 1000 };
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'Token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing') return 'Token has no "exp" claim: tokens must expire';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `Token claim "${error.claim}" is not accepted`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'Token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'Token algorithm is not accepted';
  return 'Token is malformed or cannot be verified';
}
