import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, afterTexts, chatStreamRequest, readChatStream, streamOverWs, types, userMessage } from '../testkit/chat.js';
import { Chat, DeleteProvider, SessionById, Sessions, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const owner = () => newOwner(gw);
const SLOW = 'slow=100&chunks=200&chunk-size=8';

async function cancelledRow(workspaceId: string) {
  return eventually(async () => {
    const [row] = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId } });
    return row?.status === 'CANCELLED' ? row : undefined;
  });
}

describe('cancellation', () => {
  it.each(['graphql-ws', 'SSE'] as const)('over %s: the upstream request is closed and the row is CANCELLED with partial, estimated tokens', async (transport) => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { script: SLOW });
    const client = transport === 'SSE' ? gw.sse(token) : gw.ws(token);
    const started = Date.now();
    const { chunks } = await readChatStream(client.iterate(chatStreamRequest({ messages: userMessage() })), afterTexts(3));
    expect(types(chunks)).toEqual(['START', 'TEXT']);

    const upstream = await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
    expect(upstream.completed).toBe(false);
    const row = await cancelledRow(workspace.id);
    expect(row).toMatchObject({ usageSource: 'ESTIMATED', errorCode: null });
    expect(row.completionTokens).toBeGreaterThanOrEqual(6);
    // Well before the 20 s the full reply would take.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('of a non-streamed chat over HTTP: the client leaving closes the upstream request, and the row is CANCELLED', async () => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { script: 'delay=20000' });
    const client = new AbortController();
    const call = fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(Chat), variables: { input: { messages: userMessage() } } }),
      signal: client.signal,
    });
    const started = Date.now();
    // The gateway has reserved the row and is waiting on the provider when the client goes.
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST'));
    client.abort();
    await expect(call).rejects.toThrow();

    const upstream = await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
    expect(upstream.completed).toBe(false);
    const row = await cancelledRow(workspace.id);
    expect(row).toMatchObject({ usageSource: 'ESTIMATED', errorCode: null, completionTokens: 0 });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('a slow client', () => {
  it('holds the upstream back instead of buffering its answer: nothing is read faster than the client reads', async () => {
    const { token } = await newOwner(gw);
    // 40 MB of answer in 5,000 chunks: far more than the socket buffers between the simulator, the gateway and the client.
    const provider = await addSimProvider(gw, sim, token, { script: 'chunks=5000&chunk-size=8000' });
    const socket = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const tcp = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    const received: string[] = [];
    let paused = false;
    socket.on('message', (data) => {
      received.push(String(data));
      // At the first text the client stops reading (its socket is paused): the gateway must stop reading upstream too.
      // Paused here, not after a poll, so a busy machine cannot let the whole answer through first.
      if (!paused && received.at(-1)!.includes('"TEXT"')) {
        paused = true;
        tcp.pause();
      }
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await eventually(() => received.some((m) => m.includes('connection_ack')) || undefined);
    socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: chatStreamRequest({ messages: userMessage(), maxTokens: 10_000_000 }) }));
    await eventually(() => paused || undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const upstream = sim.requests.find((r) => r.key === provider.key && r.method === 'POST')!;
    expect(upstream.completed).toBe(false);
    const receivedWhilePaused = received.length;
    expect(receivedWhilePaused).toBeLessThan(5_000);

    tcp.resume();
    await eventually(() => received.some((m) => m.includes('"DONE"')) || undefined, 30_000);
    const text = received
      .map((m) => JSON.parse(m) as { payload?: { data?: { chatStream: { type: string; delta?: string } } } })
      .filter((m) => m.payload?.data?.chatStream.type === 'TEXT');
    expect(text.reduce((sum, m) => sum + m.payload!.data!.chatStream.delta!.length, 0)).toBe(5_000 * 8_000);
    expect(upstream.completed).toBe(true);
    socket.close();
  }, 60_000);
});

describe('provider removal', () => {
  it.each(['deleted', 'disabled'] as const)('a provider %s mid-stream ends its live streams with PROVIDER_REMOVED', async (how) => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { script: SLOW });
    const { chunks } = await readChatStream(gw.ws(token).iterate(chatStreamRequest({ messages: userMessage() })), async (chunk, chunks) => {
      if (chunk.type === 'TEXT' && afterTexts(2)(chunk, chunks)) {
        const removed =
          how === 'deleted'
            ? await gw.execute(DeleteProvider, { id: provider.id }, { token })
            : await gw.execute(UpdateProvider, { id: provider.id, input: { disabled: true } }, { token });
        expect(removed.errors).toBeUndefined();
      }
    });
    expect(chunks.at(-1)).toMatchObject({ type: 'ERROR', errorCode: 'PROVIDER_REMOVED' });
    const [row] = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id } });
    expect(row).toMatchObject({ status: 'CANCELLED', errorCode: 'PROVIDER_REMOVED' });
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
  });
});

describe('tenancy', () => {
  it("a member cannot chat through another member's personal provider, nor another workspace's", async () => {
    const { workspace, token } = await owner();
    const mine = await gw.token(workspace.claims('member', 'mo'));
    const personal = await addSimProvider(gw, sim, mine, { scope: 'PERSONAL' });
    const other = await gw.token(workspace.claims('member', 'flo'));
    const foreign = await owner();
    const elsewhere = await addSimProvider(gw, sim, foreign.token);
    for (const [caller, providerId] of [
      [other, personal.id],
      [token, personal.id],
      [token, elsewhere.id],
    ] as const) {
      const result = await gw.execute(Chat, { input: { messages: userMessage(), providerId } }, { token: caller });
      expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const streamed = await streamOverWs(gw, caller, { messages: userMessage(), providerId });
      expect(streamed.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })]);
    }
    // The owner of the personal provider can.
    expect((await gw.execute(Chat, { input: { messages: userMessage(), providerId: personal.id } }, { token: mine })).data?.chat.providerId).toBe(personal.id);
    expect(sim.requests.filter((r) => r.key === elsewhere.key && r.method === 'POST')).toEqual([]);
  });
});

describe('sessions', () => {
  it('continue with their provider and model, send stored history, and total their tokens', async () => {
    const { workspace, token } = await owner();
    await gw.execute(UpdatePreferences, { input: { storeConversationHistory: true } }, { token });
    const first = await addSimProvider(gw, sim, token, { priority: 1 });
    const opened = await gw.execute(Chat, { input: { messages: userMessage('First question'), model: 'gpt-4o' } }, { token });
    const sessionId = opened.data!.chat.sessionId!;
    // A provider with a better priority appears; the session keeps its own.
    const better = await addSimProvider(gw, sim, token, { priority: 0 });
    const continued = await gw.execute(Chat, { input: { messages: userMessage('Second question'), sessionId } }, { token });
    expect(continued.data?.chat).toMatchObject({ providerId: first.id, model: 'gpt-4o', sessionId });
    const second = sim.requests.filter((r) => r.key === first.key && r.method === 'POST')[1].body as { messages: Array<{ role: string; content: string }> };
    expect(second.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(second.messages[0].content).toBe('First question');
    expect(sim.requests.filter((r) => r.key === better.key && r.method === 'POST')).toEqual([]);

    const listed = await gw.execute(Sessions, { first: 10 }, { token });
    expect(listed.data?.sessions.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ id: sessionId, title: 'First question', providerId: first.id, model: 'gpt-4o', messageCount: 4 }),
    ]);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id, sessionId } });
    expect(listed.data?.sessions.edges[0].node.totalTokens).toBe(rows.reduce((sum, r) => sum + r.totalTokens, 0));
    expect(listed.data?.sessions.edges[0].node.costUsd).toBeCloseTo(rows.reduce((sum, r) => sum + Number(r.costMicros), 0) / 1e6, 9);
    expect(rows.every((r) => r.costMicros > 0n)).toBe(true);
  });

  it('are written by their first reservation: a chat every provider refuses leaves none', async () => {
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 1 } }, { token })).errors).toBeUndefined();
    const streamed = await streamOverWs(gw, token, { messages: userMessage() });
    const start = streamed.chunks.find((c) => c.type === 'START')!;
    expect(streamed.chunks.at(-1)).toMatchObject({ type: 'ERROR', errorCode: 'LIMIT_EXCEEDED' });
    expect(await gw.db.prisma.chatSession.findMany({ where: { workspaceId: workspace.id } })).toEqual([]);
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id } })).toBe(0);
    // Its id names nothing to continue.
    expect((await gw.execute(Chat, { input: { messages: userMessage(), sessionId: start.sessionId } }, { token })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('keep the provider and model of a first stream the client cancelled', async () => {
    const { workspace, token } = await owner();
    const first = await addSimProvider(gw, sim, token, { priority: 1, script: SLOW });
    const { chunks } = await readChatStream(gw.ws(token).iterate(chatStreamRequest({ messages: userMessage(), model: 'gpt-4o' })), afterTexts(1));
    const sessionId = chunks[0].sessionId!;
    await cancelledRow(workspace.id);
    // A provider with a better priority appears; the session keeps the one it started with.
    const better = await addSimProvider(gw, sim, token, { priority: 0 });
    const continued = await gw.execute(Chat, { input: { messages: userMessage('Again'), sessionId, maxTokens: 50 } }, { token });
    expect(continued.data?.chat).toMatchObject({ providerId: first.id, model: 'gpt-4o', sessionId });
    expect(sim.requests.filter((r) => r.key === better.key && r.method === 'POST')).toEqual([]);
  });

  it('refuse a sessionId that cannot name a session, and write nothing', async () => {
    const { workspace, token } = await owner();
    await addSimProvider(gw, sim, token);
    for (const sessionId of ['', ' ', 'not-a-session', '00000000-0000-0000-0000-00000000000g']) {
      const result = await gw.execute(Chat, { input: { messages: userMessage(), sessionId } }, { token });
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sessionId' });
      const streamed = await streamOverWs(gw, token, { messages: userMessage(), sessionId });
      expect(streamed.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
    }
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id } })).toBe(0);
    expect(await gw.db.prisma.chatSession.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it("are the caller's own: another member's session is NOT_FOUND", async () => {
    const { workspace, token } = await owner();
    await addSimProvider(gw, sim, token);
    const sessionId = (await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).data!.chat.sessionId!;
    const other = await gw.token(workspace.claims('admin', 'ann'));
    expect((await gw.execute(SessionById, { id: sessionId }, { token: other })).data?.session).toBeNull();
    expect((await gw.execute(Chat, { input: { messages: userMessage(), sessionId } }, { token: other })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.execute(Sessions, {}, { token: other })).data?.sessions.edges).toEqual([]);
  });
});

describe('provider removal across instances', () => {
  // Needs a shared bus: CI's Postgres+Redis phase runs it.
  it.runIf(Boolean(process.env.REDIS_URL))('deleting a provider on instance A ends its stream on instance B', async () => {
    const b = await startTestServer({}, { db: gw.db });
    const { workspace, token } = await owner();
    const provider = await addSimProvider(gw, sim, token, { script: SLOW });
    const { chunks } = await readChatStream(b.ws(token).iterate(chatStreamRequest({ messages: userMessage() })), async (chunk, chunks) => {
      if (chunk.type === 'TEXT' && afterTexts(2)(chunk, chunks)) {
        expect((await gw.execute(DeleteProvider, { id: provider.id }, { token })).errors).toBeUndefined();
      }
    });
    expect(chunks.at(-1)).toMatchObject({ type: 'ERROR', errorCode: 'PROVIDER_REMOVED' });
    expect(await cancelledRow(workspace.id)).toMatchObject({ errorCode: 'PROVIDER_REMOVED' });
  });
});
