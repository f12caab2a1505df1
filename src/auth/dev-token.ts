// `npm run token -- --workspace acme --user alice --role owner [--ttl 12h]`
// Signs a development token with the configured JWT_SECRET (or the dev secret in DATA_DIR).
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { loadConfig, type JwtConfig } from '../config.js';

export async function signToken(
  jwt: JwtConfig,
  claims: { workspace: string; user: string; role: string },
  ttl: string | number = '12h',
): Promise<string> {
  if (!jwt.secret) throw new Error('Tokens can only be minted with JWT_SECRET (HS256); JWKS_URL tokens come from your identity provider.');
  let builder = new SignJWT({ wid: claims.workspace, role: claims.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.user)
    .setIssuedAt()
    .setExpirationTime(ttl);
  if (jwt.issuer) builder = builder.setIssuer(jwt.issuer);
  if (jwt.audience) builder = builder.setAudience(jwt.audience);
  return builder.sign(new TextEncoder().encode(jwt.secret));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workspace: { type: 'string', default: 'demo' },
      user: { type: 'string', default: 'dev' },
      role: { type: 'string', default: 'owner' },
      ttl: { type: 'string', default: '12h' },
    },
  });
  if (!['owner', 'admin', 'member'].includes(values.role)) throw new Error('--role must be owner, admin or member');
  const config = loadConfig();
  console.log(await signToken(config.jwt, { workspace: values.workspace, user: values.user, role: values.role }, values.ttl));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
