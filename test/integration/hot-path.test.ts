// The statements a warm chat runs, counted: a query added to the hot path fails here.
//
// A warm call (the workspace's routing is kept, the viewer's rows are known) runs exactly two statements, Prisma's
// included: the reservation (one statement: limit counters, the RESERVED row and, for a new session, its row) and
// the finalize (one statement: the row's outcome, the counters corrected, the session and the daily rollup). Nothing
// else: routing is read once per workspace (route.service.ts), the viewer's rows are written once (viewer.service.ts),
// the key is opened in memory, health writes only on a change of status, alerts only when a limit is crossed, a
// session's messages only when the workspace stores history (off by default), and the usage tick is a publish.
// (A cold call adds three reads, the workspace's routing: preferences, agent preferences, routable providers; and a
// fourth where FASTEST ranks the route, the health window's times to first token.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, streamOverWs, types, userMessage } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { statementRecorder } from '../testkit/statements.js';

const statements = statementRecorder();
let gw: TestServer;
let sim: Simulator;
// A clock that stands still: the workspace's routing, once read, is kept for the whole test (ROUTING_TTL_MS).
const now = new Date('2026-06-10T12:00:00Z');
// The background jobs are not the request path: the alert delivery job (every 2 s by default) would add its claim
// to whichever call it falls in, so here it runs once an hour (the sweeper already does in tests).
const quietJobs = { ALERT_DELIVERY_INTERVAL_MS: '3600000' };
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(quietJobs, { clock: () => now, onStatement: statements.onStatement }), startSimulator()]);
});
afterAll(disposeAll);

const RESERVE = expect.stringContaining('reserve_usage_batch(');
const FINALIZE = expect.stringContaining('UPDATE usage_events SET status');

describe('a warm chat', () => {
  it('over the chat mutation runs two statements: the reservation and the finalize', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    const chat = () => gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect((await chat()).errors).toBeUndefined();

    const warm = await statements.during(chat);
    expect(warm.result.errors).toBeUndefined();
    expect(warm.statements).toEqual([RESERVE, FINALIZE]);
  });

  it('over chatStream runs the same two', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    const stream = () => streamOverWs(gw, token, { messages: userMessage() });
    expect((await stream()).errors).toBeUndefined();

    const warm = await statements.during(stream);
    expect(types(warm.result.chunks)).toEqual(['START', 'TEXT', 'USAGE', 'DONE']);
    expect(warm.statements).toEqual([RESERVE, FINALIZE]);
  });
});

describe('the count', () => {
  it("takes in Prisma's statements and transactions' BEGIN and COMMIT, whichever driver sends them", async () => {
    const { prisma, sql } = gw.db;
    const counted = await statements.during(async () => {
      await prisma.$transaction([prisma.workspace.count(), prisma.user.count()]);
      await sql.transaction((tx) => tx.query('SELECT 1'));
    });
    expect(counted.statements).toEqual(['BEGIN', expect.stringContaining('"workspaces"'), expect.stringContaining('"users"'), 'COMMIT', 'BEGIN', 'SELECT 1', 'COMMIT']);
  });
});
