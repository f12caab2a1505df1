import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { MessageType, openAcknowledgedSocket, openRawSocket, type RawMessage, type RawSocket } from '../testkit/raw-ws.js';
import { disposeAll, eventually, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { take } from '../testkit/streams.js';

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

const publish = (workspaceId: string, providerId: string, tokensUsedToday = 1) => gw.app.services.usageTicks.publish(workspaceId, tick(providerId, tokensUsedToday));

/** What `subscribe()` receives when `publish()` runs once `server` has the workspace's subscriber. */
async function publishedOnceSubscribed<T>(server: TestServer, workspaceId: string, subscribe: () => Promise<T>, publish: () => void): Promise<T> {
  const subscribed = server.nextSubscriber('usage:tick', workspaceId);
  const received = subscribe();
  await subscribed;
  publish();
  return received;
}

/** Publishes a tick every 10 ms until `done` resolves. */
async function publishUntil(done: Promise<unknown>, workspaceId: string, providerId: string): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true));
  for (let n = 1; !finished && n < 500; n++) {
    publish(workspaceId, providerId, n);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('usageTicks over graphql-ws', () => {
  it('delivers a tick published through the service layer, with every field', async () => {
    const workspace = newWorkspace();
    const client = gw.ws(await gw.token(workspace.claims('member')));
    const [result] = await publishedOnceSubscribed(
      gw,
      workspace.id,
      () => take(client.iterate({ query: USAGE_TICKS }), 1),
      () => publish(workspace.id, 'p-1'),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.usageTicks).toMatchObject({ providerId: 'p-1', dailyTokenLimit: 10_000_000_000, spendThisMonthUsd: 1.25, monthlyBudgetUsd: null });
  });

  it("never delivers another workspace's ticks", async () => {
    const mine = newWorkspace();
    const theirs = newWorkspace();
    const client = gw.ws(await gw.token(mine.claims('owner')));
    const [result] = await publishedOnceSubscribed(
      gw,
      mine.id,
      () => take(client.iterate({ query: USAGE_TICKS }), 1),
      () => {
        publish(theirs.id, 'theirs');
        publish(mine.id, 'mine');
      },
    );
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
    const socket = await openAcknowledgedSocket(gw.wsUrl, token);
    socket.send({ id: '1', type: MessageType.Subscribe, payload: { query: USAGE_TICKS } });
    const closed = await socket.closed;
    expect(closed).toEqual({ code: 4403, reason: 'Token expired' });
  });

  it('answers an invalid operation with an error message and keeps the socket open', async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const socket = await openAcknowledgedSocket(gw.wsUrl, token);
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
    const providersOf = async (ticks: Promise<Array<{ data?: unknown }>>) =>
      new Set((await ticks).map((tick) => (tick.data as { usageTicks: { providerId: string } }).usageTicks.providerId));
    expect(await providersOf(ofBob)).toEqual(new Set([shared.id]));
    expect(await providersOf(ofAlice)).toEqual(new Set([shared.id, personal.id]));
  });
});

describe('usageTicks over SSE', () => {
  it('delivers ticks to a GraphQL-over-SSE client', async () => {
    const workspace = newWorkspace();
    const client = gw.sse(await gw.token(workspace.claims('admin')));
    const results = await publishedOnceSubscribed(
      gw,
      workspace.id,
      () => take(client.iterate({ query: USAGE_TICKS }), 2),
      () => {
        publish(workspace.id, 'p-sse', 1);
        publish(workspace.id, 'p-sse', 2);
      },
    );
    expect(results.map((r) => r.data?.usageTicks)).toEqual([expect.objectContaining({ providerId: 'p-sse' }), expect.objectContaining({ providerId: 'p-sse' })]);
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

describe('operations per connection and per user', () => {
  let capped: TestServer;
  beforeAll(async () => {
    capped = await startTestServer({ WS_MAX_OPERATIONS_PER_CONNECTION: '3', MAX_OPERATIONS_PER_USER: '5' });
  });
  const VIEWER = '{ viewer { role } }';
  const subscribe = (id: string, query = USAGE_TICKS) => ({ id, type: MessageType.Subscribe, payload: { query } });

  const acknowledged = (token: string): Promise<RawSocket> => openAcknowledgedSocket(capped.wsUrl, token);

  /** The next message for operation `id` (ticks of the socket's other subscriptions are skipped). */
  async function messageFor(socket: RawSocket, id: string): Promise<RawMessage> {
    for (;;) {
      const message = await socket.nextMessage();
      if (message.id === id) return message;
    }
  }

  /** Publishes ticks until each subscription of `socket` has delivered one: they are open on the server. */
  async function live(socket: RawSocket, workspaceId: string, ids: string[]): Promise<void> {
    const seen = new Set<string>();
    while (ids.some((id) => !seen.has(id))) {
      capped.app.services.usageTicks.publish(workspaceId, tick('p-cap', 1));
      const message = await socket.nextMessage(200).catch(() => undefined);
      if (message?.type === MessageType.Next && message.id) seen.add(message.id);
    }
  }

  it('refuses an operation over WS_MAX_OPERATIONS_PER_CONNECTION with a RATE_LIMITED error; the socket stays open', async () => {
    const workspace = newWorkspace();
    const socket = await acknowledged(await capped.token(workspace.claims('member')));
    for (const id of ['1', '2', '3']) socket.send(subscribe(id));
    await live(socket, workspace.id, ['1', '2', '3']);
    socket.send(subscribe('4', VIEWER));
    expect(await messageFor(socket, '4')).toEqual({
      id: '4',
      type: MessageType.Error,
      payload: [
        { message: 'Too many operations open on this connection (at most 3): complete one first', extensions: { code: 'RATE_LIMITED', limit: 'operationsPerConnection', max: 3 } },
      ],
    });
    socket.send({ id: '1', type: MessageType.Complete });
    socket.send(subscribe('5', VIEWER));
    expect(await messageFor(socket, '5')).toMatchObject({ type: MessageType.Next, payload: { data: { viewer: { role: 'MEMBER' } } } });
    socket.close();
  });

  it('refuses an operation over MAX_OPERATIONS_PER_USER across sockets and SSE, for that user only, until one ends', async () => {
    const workspace = newWorkspace();
    const token = await capped.token(workspace.claims('member', 'carol'));
    const [a, b] = [await acknowledged(token), await acknowledged(token)];
    for (const id of ['a1', 'a2', 'a3']) a.send(subscribe(id));
    b.send(subscribe('b1'));
    await live(a, workspace.id, ['a1', 'a2', 'a3']);
    await live(b, workspace.id, ['b1']);
    let sseTicks = 0;
    const endSse = capped.sse(token).subscribe({ query: USAGE_TICKS }, { next: () => void sseTicks++, error: () => undefined, complete: () => undefined });
    await eventually(() => (capped.app.services.usageTicks.publish(workspace.id, tick('p-cap', 1)), sseTicks > 0 || undefined));

    const refusal = {
      message: 'Too many operations open for this user on this instance (at most 5): complete one first',
      extensions: { code: 'RATE_LIMITED', limit: 'operationsPerUser', max: 5 },
    };
    b.send(subscribe('b2', VIEWER));
    expect(await messageFor(b, 'b2')).toEqual({ id: 'b2', type: MessageType.Error, payload: [refusal] });
    const [overSse] = await take(capped.sse(token).iterate({ query: USAGE_TICKS }), 1);
    expect(overSse.errors).toEqual([refusal]);
    // Another member of the workspace is not affected.
    const dave = await acknowledged(await capped.token(workspace.claims('member', 'dave')));
    dave.send(subscribe('d1', VIEWER));
    expect(await messageFor(dave, 'd1')).toMatchObject({ type: MessageType.Next });

    // The SSE subscription's end gives its place back.
    endSse();
    await eventually(async () => {
      const id = `b-${randomUUID()}`;
      b.send(subscribe(id, VIEWER));
      return (await messageFor(b, id)).type === MessageType.Next || undefined;
    });
    for (const socket of [a, b, dave]) socket.close();
  });
});

describe('usageTicks across instances', () => {
  // Only meaningful with a shared bus: CI's Postgres+Redis phase runs it.
  it.runIf(Boolean(process.env.REDIS_URL))('a tick published on instance A reaches a subscriber on instance B', async () => {
    const other = await startTestServer();
    const workspace = newWorkspace();
    const client = other.ws(await other.token(workspace.claims('admin')));
    const [result] = await publishedOnceSubscribed(
      other,
      workspace.id,
      () => take(client.iterate({ query: USAGE_TICKS }), 1),
      () => publish(workspace.id, 'from-a'),
    );
    expect(result.data?.usageTicks).toMatchObject({ providerId: 'from-a' });
  });
});
