// The same bounds on HTTP, SSE and WebSocket: an operation over a limit fails
// alone, with BAD_USER_INPUT and the limit's name, and a WebSocket stays open.
// Introspection, field suggestions and CORS as configured.
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, openAcknowledgedSocket, type RawSocket } from '../testkit/raw-ws.js';
import { disposeAll, newWorkspace, startTestServer, type TestServer } from '../testkit/server.js';

const LIMITS = {
  GRAPHQL_MAX_DEPTH: '3',
  GRAPHQL_MAX_ALIASES: '3',
  GRAPHQL_MAX_TOKENS: '300',
  GRAPHQL_MAX_DIRECTIVES: '3',
  GRAPHQL_MAX_COST: '60',
  GRAPHQL_MAX_CHARACTERS: '2000',
  WS_MAX_PAYLOAD_BYTES: '4096',
};

const OVER_LIMIT: Record<string, string> = {
  depth: '{ models { edges { node { id } } } }',
  aliases: '{ a: viewer { userId } b: viewer { userId } c: viewer { userId } d: viewer { userId } }',
  tokens: `{ viewer { ${'a '.repeat(400)}} }`,
  directives: '{ viewer @include(if: true) @skip(if: false) { userId @include(if: true) role @skip(if: false) } }',
  // The cost of a connection grows with `first`: 50 × 3.5.
  cost: '{ models(first: 50) { totalCount } }',
  characters: `{ viewer { userId } } # ${'x'.repeat(2000)}`,
};
const WITHIN_LIMITS = '{ viewer { userId role } }';

let gw: TestServer;
let token: string;
beforeAll(async () => {
  gw = await startTestServer(LIMITS);
  token = await gw.token(newWorkspace().claims('member'));
});
afterAll(disposeAll);

async function overHttp(query: string, server = gw, bearer = token): Promise<ExecutionResult> {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as ExecutionResult;
}

async function overSse(query: string): Promise<ExecutionResult> {
  const response = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const data = (await response.text()).split('\n').find((line) => line.startsWith('data: {'));
  return JSON.parse(data!.slice('data: '.length)) as ExecutionResult;
}

const connected = (server = gw, bearer = token): Promise<RawSocket> => openAcknowledgedSocket(server.wsUrl, bearer);

/** One operation over an open socket: its `next` result, or its `error` message's errors as a result. */
async function overWs(socket: RawSocket, id: string, query: string): Promise<ExecutionResult> {
  socket.send({ id, type: MessageType.Subscribe, payload: { query } });
  const message = await socket.nextMessage();
  expect(message.id).toBe(id);
  if (message.type === MessageType.Error) return { errors: message.payload as never };
  expect(message.type).toBe(MessageType.Next);
  expect((await socket.nextMessage()).type).toBe(MessageType.Complete);
  return message.payload as ExecutionResult;
}

describe('operation limits', () => {
  it('admit an ordinary operation on every transport', async () => {
    const socket = await connected();
    for (const result of [await overHttp(WITHIN_LIMITS), await overSse(WITHIN_LIMITS), await overWs(socket, 'ok', WITHIN_LIMITS)]) {
      expect(result.errors).toBeUndefined();
      expect(result.data).toMatchObject({ viewer: { role: 'MEMBER' } });
    }
    socket.close();
  });

  it.each(Object.entries(OVER_LIMIT))('refuse an operation over the %s limit on HTTP, SSE and WebSocket alike', async (limit, query) => {
    const socket = await connected();
    const results = { http: await overHttp(query), sse: await overSse(query), ws: await overWs(socket, `over-${limit}`, query) };
    for (const [transport, result] of Object.entries(results)) {
      expect(result.data ?? undefined, transport).toBeUndefined();
      expect(result.errors?.[0]?.extensions, transport).toMatchObject({ code: 'BAD_USER_INPUT', limit });
    }
    // The socket is still open and still serves.
    expect((await overWs(socket, 'after', WITHIN_LIMITS)).data).toMatchObject({ viewer: { role: 'MEMBER' } });
    socket.close();
    expect((await socket.closed).code).toBe(1005);
  });

  it('close a WebSocket whose frame is over WS_MAX_PAYLOAD_BYTES with 1009', async () => {
    const socket = await connected();
    socket.send({ id: 'big', type: MessageType.Subscribe, payload: { query: `{ viewer { userId } } # ${'x'.repeat(5000)}` } });
    expect((await socket.closed).code).toBe(1009);
  });

  it('refuse a page larger than the bound', async () => {
    const server = await startTestServer();
    const result = await overHttp('{ models(first: 201) { totalCount } }', server, await server.token(newWorkspace().claims('member')));
    expect(result.errors?.[0]).toMatchObject({ message: 'first must be between 1 and 200', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('strings Postgres cannot store', () => {
  it('refuses U+0000 in a variable or an inline argument with BAD_USER_INPUT, on HTTP and WebSocket', async () => {
    const inline = '{ models(search: "gpt\\u0000") { totalCount } }';
    const viaVariable = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'query($search: String) { models(search: $search) { totalCount } }', variables: { search: 'gpt\u0000' } }),
    });
    const socket = await connected();
    for (const result of [(await viaVariable.json()) as ExecutionResult, await overHttp(inline), await overWs(socket, 'nul', inline)]) {
      expect(result.errors?.[0]).toMatchObject({ message: 'Strings may not contain the character U+0000', extensions: { code: 'BAD_USER_INPUT' } });
    }
    socket.close();
  });
});

describe('introspection', () => {
  const INTROSPECT = '{ __schema { queryType { name } } }';

  it('is open in development', async () => {
    expect((await overHttp(INTROSPECT)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('when GRAPHQL_INTROSPECTION=admin, answers ADMIN and OWNER tokens and refuses members, over HTTP and WebSocket', async () => {
    const server = await startTestServer({ GRAPHQL_INTROSPECTION: 'admin' });
    const workspace = newWorkspace();
    const member = await server.token(workspace.claims('member'));
    const admin = await server.token(workspace.claims('admin'));
    expect((await overHttp(INTROSPECT, server, admin)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const refused = await overHttp(INTROSPECT, server, member);
    expect(refused.data ?? undefined).toBeUndefined();
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const socket = await connected(server, member);
    expect((await overWs(socket, 'i', INTROSPECT)).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect((await overWs(socket, 't', '{ __typename }')).data).toEqual({ __typename: 'Query' });
    socket.close();
  });

  it('when off (the production default), refuses everyone over HTTP and WebSocket, and hides field suggestions', async () => {
    const server = await startTestServer({ NODE_ENV: 'production' });
    const owner = await server.token(newWorkspace().claims('owner'));
    const refused = await overHttp(INTROSPECT, server, owner);
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
    const socket = await connected(server, owner);
    expect((await overWs(socket, 'i', INTROSPECT)).errors?.[0]?.message).toMatch(/introspection/i);
    socket.close();

    const typo = '{ viewr { userId } }';
    const hidden = await overHttp(typo, server, owner);
    expect(hidden.errors?.[0]?.message).toContain('Cannot query field "viewr"');
    expect(hidden.errors?.[0]?.message).not.toMatch(/did you mean|viewer/i);
    expect((await overHttp(typo)).errors?.[0]?.message).toMatch(/Did you mean "viewer"/);
  });
});

describe('browser-style requests', () => {
  it('serves a GET query with only its token; a request without one (all a cross-site form or link can send) is refused', async () => {
    const url = `${gw.graphqlUrl}?query=${encodeURIComponent(WITHIN_LIMITS)}`;
    const get = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ data: { viewer: { role: 'MEMBER' } } });
    const form = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'session=1' },
      body: `query=${encodeURIComponent(WITHIN_LIMITS)}`,
    });
    expect(await form.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('sends no CORS headers unless CORS_ORIGINS allows the origin', async () => {
    const preflight = (server: TestServer, origin: string) =>
      fetch(server.graphqlUrl, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    expect((await preflight(gw, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();

    const server = await startTestServer({ CORS_ORIGINS: 'https://console.example' });
    const allowed = await preflight(server, 'https://console.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await preflight(server, 'https://evil.example')).headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
  });
});
