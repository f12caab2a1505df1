// Development tokens, signed with the configured JWT_SECRET (or the dev secret in
// DATA_DIR): `npm run token` (src/cli/token.ts) prints one; the demo, the tests
// and the benchmarks call signToken themselves.
import { SignJWT } from 'jose';
import type { JwtConfig } from '../config.js';

export async function signToken(jwt: JwtConfig, claims: { workspace: string; user: string; role: string }, ttl: string | number = '12h'): Promise<string> {
  if (!jwt.secret) throw new Error('Tokens can only be minted with JWT_SECRET (HS256); JWKS_URL tokens come from your identity provider.');
  let builder = new SignJWT({ wid: claims.workspace, role: claims.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.user).setIssuedAt().setExpirationTime(ttl);
  if (jwt.issuer) builder = builder.setIssuer(jwt.issuer);
  if (jwt.audience) builder = builder.setAudience(jwt.audience);
  return builder.sign(new TextEncoder().encode(jwt.secret));
}
