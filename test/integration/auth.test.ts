import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.js';
import { MessageType, openRawSocket } from '../testkit/raw-ws.js';
import { disposeAll, newWorkspace, startTestServer, TEST_JWT, type TestServer } from '../testkit/server.js';

const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      userId
      workspaceId
      role
    }
  }
`);

let gw: TestServer;
beforeAll(async () => {
  gw = await startTestServer();
});
afterAll(disposeAll);

/** `exp: null` signs a token without an expiry. */
function sign(claims: Record<string, unknown>, options: { secret?: string; issuer?: string; audience?: string; exp?: number | string | null } = {}) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setIssuer(options.issuer ?? TEST_JWT.issuer)
    .setAudience(options.audience ?? TEST_JWT.audience);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT.secret));
}

/** Every log line of the server that carries a stack trace. */
const stackLines = (server: TestServer) => server.logs.filter((line) => /\bat .+:\d+:\d+/.test(line) || line.includes('"stack"'));

describe('HTTP authentication', () => {
  it('answers UNAUTHENTICATED without a token', async () => {
    const result = await gw.execute(ViewerQuery);
    expect(result.data).toBeNull();
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a bad signature', { secret: 'another-secret-that-is-also-32-bytes-long!!' }, 'signature'],
    ['a wrong issuer', { issuer: 'https://evil.test' }, 'claim "iss"'],
    ['a wrong audience', { audience: 'someone-else' }, 'claim "aud"'],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 60 }, 'expired'],
  ])('answers UNAUTHENTICATED for %s and says why', async (_name, options, reason) => {
    const token = await sign({ sub: 'alice', wid: 'acme', role: 'owner' }, options);
    const result = await gw.execute(ViewerQuery, {}, { token });
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0].message).toContain(reason);
  });

  it.each([
    ['no wid', { sub: 'alice', role: 'owner' }],
    ['an unknown role', { sub: 'alice', wid: 'acme', role: 'superuser' }],
    ['no sub', { wid: 'acme', role: 'owner' }],
  ])('refuses a token with %s', async (_name, claims) => {
    const result = await gw.execute(ViewerQuery, {}, { token: await sign(claims) });
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])(
    'refuses a role claim named like a property of every object (%s) as UNAUTHENTICATED',
    async (role) => {
      const result = await gw.execute(ViewerQuery, {}, { token: await sign({ sub: 'alice', wid: newWorkspace().id, role }) });
      expect(result.errors?.[0]).toMatchObject({ message: 'Token "role" claim must be owner, admin or member', extensions: { code: 'UNAUTHENTICATED' } });
    },
  );

  it('refuses a token without an expiry, and says exp is required', async () => {
    const result = await gw.execute(ViewerQuery, {}, { token: await sign({ sub: 'alice', wid: newWorkspace().id, role: 'owner' }, { exp: null }) });
    expect(result.errors?.[0]).toMatchObject({ message: 'Token has no "exp" claim: tokens must expire', extensions: { code: 'UNAUTHENTICATED' } });
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${await sign({ sub: 'alice', wid: newWorkspace().id, role: 'owner' }, { exp: null })}` } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Token has no "exp" claim: tokens must expire' });
  });

  it('returns the claims of a valid token and creates the workspace, user and membership', async () => {
    const workspace = newWorkspace();
    const claims = workspace.claims('admin', 'alice');
    const result = await gw.execute(ViewerQuery, {}, { token: await gw.token(claims) });
    expect(result).toEqual({ data: { viewer: { userId: 'alice', workspaceId: workspace.id, role: 'ADMIN' } } });

    const member = await gw.db.prisma.member.findUnique({ where: { workspaceId_userId: { workspaceId: workspace.id, userId: 'alice' } } });
    expect(member?.role).toBe('ADMIN');
  });

  it('follows the role of the latest token', async () => {
    const workspace = newWorkspace();
    await gw.execute(ViewerQuery, {}, { token: await gw.token(workspace.claims('member', 'bob')) });
    await gw.execute(ViewerQuery, {}, { token: await gw.token(workspace.claims('owner', 'bob')) });
    const member = await gw.db.prisma.member.findUnique({ where: { workspaceId_userId: { workspaceId: workspace.id, userId: 'bob' } } });
    expect(member?.role).toBe('OWNER');
  });

  it('gives malformed requests a stable code and does not leak the token into logs', async () => {
    const token = await gw.token(newWorkspace().claims('owner'));
    const response = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewr { userId } }' }),
    });
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(gw.logs.join('\n')).not.toContain(token.slice(-16));
  });
});

describe('WebSocket authentication', () => {
  it.each([
    ['an object', { toString: 'Bearer x' }],
    ['an object with a null prototype', JSON.parse('{"__proto__": null}')],
    ['a number', 42],
    ['an array', ['Bearer x', 'Bearer y']],
    ['null', null],
  ])('closes with 4403 and a clear reason when authorization is %s, with no stack logged', async (_name, authorization) => {
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'connection_init must carry authorization: "Bearer <token>"' });
    expect(stackLines(gw)).toEqual([]);
  });

  it('says why a token is refused in the close reason', async () => {
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${await sign({ sub: 'alice', wid: 'acme', role: '__proto__' })}` } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Token "role" claim must be owner, admin or member' });
  });
});

describe('JWKS authentication (RS256/ES256)', () => {
  it('accepts a token signed by a key the JWKS URL publishes and refuses others', async () => {
    const { createServer } = await import('node:http');
    const { exportJWK, generateKeyPair } = await import('jose');
    const published = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(published.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as import('node:net').AddressInfo;
    try {
      const server = await startTestServer({ JWT_SECRET: '', JWKS_URL: `http://127.0.0.1:${port}/jwks.json` });
      const signWith = (key: CryptoKey) =>
        new SignJWT({ wid: newWorkspace().id, role: 'member' })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setSubject('carol')
          .setIssuer(TEST_JWT.issuer)
          .setAudience(TEST_JWT.audience)
          .setExpirationTime('5m')
          .sign(key);
      const accepted = await server.execute(ViewerQuery, {}, { token: await signWith(published.privateKey) });
      expect(accepted.data?.viewer).toMatchObject({ userId: 'carol', role: 'MEMBER' });
      const refused = await server.execute(ViewerQuery, {}, { token: await signWith(stranger.privateKey) });
      expect(refused.errors?.[0]).toMatchObject({ message: 'Token signature is invalid', extensions: { code: 'UNAUTHENTICATED' } });
      // An HS256 token is not accepted where keys come from JWKS.
      const hs = await sign({ sub: 'carol', wid: 'acme', role: 'owner' });
      expect((await server.execute(ViewerQuery, {}, { token: hs })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      jwks.close();
    }
  });
});
