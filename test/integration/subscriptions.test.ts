import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.js';
import { MessageType, openRawSocket } from '../testkit/raw-ws.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, take, type TestServer } from '../testkit/server.js';

const UsageTicks = graphql(`
  subscription UsageTicks {
    usageTicks {
      providerId
      tokensUsedToday
      dailyTokenLimit
      spendThisMonthUsd
      monthlyBudgetUsd
    }
  }
`);
const USAGE_TICKS = print(UsageTicks);

const tick = (providerId: string, tokensUsedToday: number) => ({
  providerId,
  personalOwnerId: null,
  tokensUsedToday,
  dailyTokenLimit: 10_000_000_000,
  spendThisMonthUsd: 1.25,
  monthlyBudgetUsd: null,
});

let gw: TestServer;
beforeAll(async () => {
  gw = await startTestServer();
});
afterAll(disposeAll);

/** Publishes ticks until `done` resolves: a subscription may start listening a moment after it is acknowledged. */
async function publishUntil(done: Promise<unknown>, workspaceId: string, providerId: string): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true));
  for (let n = 1; !finished && n < 500; n++) {
    gw.app.services.usageTicks.publish(workspaceId, tick(providerId, n));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('usageTicks over graphql-ws', () => {
  it('delivers a tick published through the service layer, with every field', async () => {
    const workspace = newWorkspace();
    const client = gw.ws(await gw.token(workspace.claims('member')));
    const received = take(client.iterate({ query: USAGE_TICKS }), 1);
    await publishUntil(received, workspace.id, 'p-1');
    const [result] = await received;
    expect(result.errors).toBeUndefined();
    expect(result.data?.usageTicks).toMatchObject({ providerId: 'p-1', dailyTokenLimit: 10_000_000_000, spendThisMonthUsd: 1.25, monthlyBudgetUsd: null });
  });

  it("never delivers another workspace's ticks", async () => {
    const mine = newWorkspace();
    const theirs = newWorkspace();
    const client = gw.ws(await gw.token(mine.claims('owner')));
    const received = take(client.iterate({ query: USAGE_TICKS }), 1);
    let finished = false;
    void received.finally(() => (finished = true));
    for (let n = 1; !finished && n < 500; n++) {
      gw.app.services.usageTicks.publish(theirs.id, tick('theirs', n));
      gw.app.services.usageTicks.publish(mine.id, tick('mine', n));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [result] = await received;
    expect(result.data?.usageTicks).toMatchObject({ providerId: 'mine' });
  });

  it('closes with 4403 for a bad token and for no token', async () => {
    for (const authorization of ['Bearer not-a-token', undefined]) {
      const socket = await openRawSocket(gw.wsUrl);
      socket.send({ type: MessageType.ConnectionInit, payload: authorization ? { authorization } : {} });
      expect((await socket.closed).code).toBe(4403);
    }
  });

  it('ends the connection when the token expires', async () => {
    const token = await gw.token(newWorkspace().claims('member'), Math.floor(Date.now() / 1000) + 2);
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${token}` } });
    expect((await socket.nextMessage()).type).toBe(MessageType.ConnectionAck);
    socket.send({ id: '1', type: MessageType.Subscribe, payload: { query: USAGE_TICKS } });
    const closed = await socket.closed;
    expect(closed).toEqual({ code: 4403, reason: 'Token expired' });
  });

  it('answers an invalid operation with an error message and keeps the socket open', async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${token}` } });
    await socket.nextMessage();
    socket.send({ id: 'bad', type: MessageType.Subscribe, payload: { query: 'subscription { nope }' } });
    const message = await socket.nextMessage();
    expect(message).toMatchObject({ id: 'bad', type: MessageType.Error });
    socket.send({ id: 'bad2', type: MessageType.Subscribe, payload: { query: 'subscription {' } });
    expect(await socket.nextMessage()).toMatchObject({ id: 'bad2', type: MessageType.Error });
    socket.close();
    expect((await socket.closed).code).toBe(1005);
  });
});

describe('usageTicks visibility', () => {
  it("a member gets the ticks of workspace providers and of their own personal ones, never another member's", async () => {
    const sim = await startSimulator();
    const workspace = newWorkspace();
    const alice = await gw.token(workspace.claims('member', 'alice'));
    const bob = await gw.token(workspace.claims('member', 'bob'));
    const shared = await addSimProvider(gw, sim, await gw.token(workspace.claims('owner')));
    const personal = await addSimProvider(gw, sim, alice, { scope: 'PERSONAL' });
    const ofAlice = take(gw.ws(alice).iterate({ query: USAGE_TICKS }), 4);
    const ofBob = take(gw.ws(bob).iterate({ query: USAGE_TICKS }), 2);
    // Alice calls her own provider and the workspace's by turns until both subscribers have what they wait for.
    let finished = false;
    void Promise.all([ofAlice, ofBob]).finally(() => (finished = true));
    for (let n = 0; !finished && n < 100; n++) {
      const result = await gw.execute(Chat, { input: { providerId: n % 2 === 0 ? personal.id : shared.id, messages: userMessage() } }, { token: alice });
      expect(result.errors).toBeUndefined();
    }
    const providersOf = async (ticks: Promise<Array<{ data?: unknown }>>) => new Set((await ticks).map((tick) => (tick.data as { usageTicks: { providerId: string } }).usageTicks.providerId));
    expect(await providersOf(ofBob)).toEqual(new Set([shared.id]));
    expect(await providersOf(ofAlice)).toEqual(new Set([shared.id, personal.id]));
  });
});

describe('usageTicks over SSE', () => {
  it('delivers ticks to a GraphQL-over-SSE client', async () => {
    const workspace = newWorkspace();
    const client = gw.sse(await gw.token(workspace.claims('admin')));
    const received = take(client.iterate({ query: USAGE_TICKS }), 2);
    await publishUntil(received, workspace.id, 'p-sse');
    const results = await received;
    expect(results.map((r) => r.data?.usageTicks)).toEqual([
      expect.objectContaining({ providerId: 'p-sse' }),
      expect.objectContaining({ providerId: 'p-sse' }),
    ]);
  });

  it('ends with an UNAUTHENTICATED "Token expired" event when the token expires, as WebSocket closes 4403', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member'), Math.floor(Date.now() / 1000) + 2);
    const results: Array<{ data?: unknown; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }> = [];
    const received = (async () => {
      for await (const result of gw.sse(token).iterate({ query: USAGE_TICKS })) {
        results.push(result);
        if (results.length > 1_000) break;
      }
    })();
    await publishUntil(received, workspace.id, 'p-expiring');
    await received;
    expect(results.length).toBeGreaterThan(1);
    expect(results.slice(0, -1).every((result) => result.data && !result.errors)).toBe(true);
    expect(results.at(-1)).toEqual({ errors: [expect.objectContaining({ message: 'Token expired', extensions: { code: 'UNAUTHENTICATED' } })] });
  });

  it('refuses an SSE subscription without a token', async () => {
    const client = gw.sse();
    const [result] = await take(client.iterate({ query: USAGE_TICKS }), 1);
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('usageTicks across instances', () => {
  // Only meaningful with a shared bus: CI's Postgres+Redis phase runs it.
  it.runIf(Boolean(process.env.REDIS_URL))('a tick published on instance A reaches a subscriber on instance B', async () => {
    const other = await startTestServer();
    const workspace = newWorkspace();
    const client = other.ws(await other.token(workspace.claims('admin')));
    const received = take(client.iterate({ query: USAGE_TICKS }), 1);
    await publishUntil(received, workspace.id, 'from-a');
    const [result] = await received;
    expect(result.data?.usageTicks).toMatchObject({ providerId: 'from-a' });
  });
});
