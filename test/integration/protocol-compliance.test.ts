// Public suites and protocol rules: graphql-http's server audits against the
// live server, and graphql-ws's close codes, each provoked with a raw socket.
import { type AuditResult, serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, openAcknowledgedSocket, openRawSocket, type RawSocket } from '../testkit/raw-ws.js';
import { disposeAll, newWorkspace, startTestServer, type TestServer } from '../testkit/server.js';

/** MAY audits the server does not pass, each with the reason (also listed in the README). */
const MAY_NOT_PASSED: Record<string, string> = {};

let gw: TestServer;
let token: string;
beforeAll(async () => {
  gw = await startTestServer({ WS_CONNECTION_INIT_TIMEOUT_MS: '300' });
  token = await gw.token(newWorkspace().claims('member'));
});
afterAll(disposeAll);

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  it('passes every MUST and SHOULD audit; the MAY audits it fails are the listed ones', async () => {
    const fetchFn: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const results: Array<{ name: string; result: AuditResult }> = [];
    for (const audit of serverAudits({ url: gw.graphqlUrl, fetchFn })) results.push({ name: audit.name, result: await audit.fn() });

    const failed = (level: string) => results.filter(({ name, result }) => name.startsWith(level) && result.status !== 'ok');
    const describe = ({ name, result }: (typeof results)[number]) => `${name}: ${result.status !== 'ok' ? result.reason : ''}`;
    expect(failed('MUST').map(describe)).toEqual([]);
    expect(failed('SHOULD').map(describe)).toEqual([]);
    expect(
      failed('MAY')
        .map(({ name }) => name)
        .sort(),
    ).toEqual(Object.keys(MAY_NOT_PASSED).sort());
    const counts = Object.fromEntries(['MUST', 'SHOULD', 'MAY'].map((level) => [level, results.filter(({ name }) => name.startsWith(level)).length]));
    console.info(`graphql-http audits: ${results.length} run (${JSON.stringify(counts)}), ${results.filter(({ result }) => result.status === 'ok').length} passed`);
  });
});

describe('graphql-ws close codes', () => {
  const acknowledged = (): Promise<RawSocket> => openAcknowledgedSocket(gw.wsUrl, token);
  const subscribe = (id: string) => ({ id, type: MessageType.Subscribe, payload: { query: 'subscription { usageTicks { providerId } }' } });

  it('4408 when connection_init does not arrive in time', async () => {
    const socket = await openRawSocket(gw.wsUrl);
    expect(await socket.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('4429 on a second connection_init', async () => {
    const socket = await acknowledged();
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${token}` } });
    expect(await socket.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('4401 on a subscribe before the connection is acknowledged', async () => {
    const socket = await openRawSocket(gw.wsUrl);
    socket.send(subscribe('early'));
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('4403 for a token that is not valid', async () => {
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${token}x` } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Token signature is invalid' });
  });

  it('4400 for a message that is not valid', async () => {
    for (const message of [{ type: 'not-a-type' }, { type: MessageType.Subscribe, id: 'x' }]) {
      const socket = await acknowledged();
      socket.send(message);
      expect((await socket.closed).code).toBe(4400);
    }
    const notJson = await openRawSocket(gw.wsUrl);
    notJson.sendRaw('{ this is not JSON');
    expect((await notJson.closed).code).toBe(4400);
  });

  it('4409 when a subscription id is already in use', async () => {
    const socket = await acknowledged();
    socket.send(subscribe('same'));
    socket.send(subscribe('same'));
    expect(await socket.closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
  });
});
