// Every way an upstream can fail, scripted by the simulator, on each protocol:
// the client gets a typed ERROR within its deadline, retries stay within their
// budget (none once a token was sent), and every attempt leaves a finalized row.

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, type Chunk, MODELS, streamOverWs, userMessage } from '../testkit/chat.js';
import { AddProvider, Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const SETTINGS = {
  PROVIDER_TIMEOUT_MS: 600,
  STREAM_IDLE_TIMEOUT_MS: 600,
  CHAT_MAX_RETRIES: 2,
  CHAT_RETRY_BASE_MS: 20,
  CHAT_RETRY_MAX_DELAY_MS: 50,
  UPSTREAM_MAX_LINE_BYTES: 65_536,
};
const ATTEMPTS = 1 + SETTINGS.CHAT_MAX_RETRIES;
/** The longest a failing call may take: every attempt waiting out both deadlines, plus backoff and slack. */
const DEADLINE_MS = ATTEMPTS * (SETTINGS.PROVIDER_TIMEOUT_MS + SETTINGS.STREAM_IDLE_TIMEOUT_MS) + 1_000;

/** Scripts (src/simulator/script.ts), long enough that the mid-stream ones fail after tokens on every protocol. */
const STREAM_FAULTS: Record<string, string> = {
  'answers 503': 'status=503',
  'hang until the deadline': 'hang=1',
  'reset mid-stream': 'chunks=8&reset=5',
  'silence mid-stream': 'chunks=8&stall=5',
  'in-band error event after a 200': 'chunks=6&midstream=error',
  'malformed SSE': 'chunks=6&malformed=1',
  'no terminal event': 'chunks=6&truncate=1',
  'an oversized chunk': 'chunks=1&chunk-size=100000',
};
const PROTOCOLS = ['OPENAI', 'ANTHROPIC', 'GEMINI'] as const;

let gw: TestServer;
let sim: Simulator;
let closedPort: number;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(Object.fromEntries(Object.entries(SETTINGS).map(([name, value]) => [name, String(value)]))), startSimulator()]);
  // A port that was just free: connecting to it is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(disposeAll);

async function rowsOf(workspaceId: string) {
  return gw.db.prisma.usageEvent.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } });
}

/** What every fault must leave: finalized FAILED rows with the error's code, within the retry budget. */
async function expectMetered(workspaceId: string, sawTokens: boolean) {
  const rows = await rowsOf(workspaceId);
  expect(rows.length).toBeGreaterThanOrEqual(1);
  expect(rows.length).toBeLessThanOrEqual(sawTokens ? 1 : ATTEMPTS);
  for (const row of rows) expect(row).toMatchObject({ status: 'FAILED', errorCode: 'PROVIDER_UNAVAILABLE' });
  if (sawTokens) {
    expect(rows[0].completionTokens).toBeGreaterThan(0);
    return rows;
  }
  // An attempt the provider never answered is not billed: nothing on the rows, nothing on the counters.
  for (const row of rows) expect(row).toMatchObject({ promptTokens: 0, completionTokens: 0, totalTokens: 0, costMicros: 0n });
  const counters = await gw.db.sql.query<{ tokens: bigint; cost_micros: bigint }>('SELECT tokens, cost_micros FROM usage_counters WHERE workspace_id = $1', [workspaceId]);
  for (const counter of counters) expect(counter).toEqual({ tokens: 0n, cost_micros: 0n });
  return rows;
}

function expectTypedError(chunks: Chunk[], elapsedMs: number) {
  const last = chunks.at(-1)!;
  expect(last).toMatchObject({ type: 'ERROR', errorCode: 'PROVIDER_UNAVAILABLE' });
  expect(last.message).toMatch(/\S/);
  expect(elapsedMs).toBeLessThan(DEADLINE_MS);
}

describe('a streamed chat whose upstream fails', () => {
  const cases = PROTOCOLS.flatMap((kind) => Object.entries(STREAM_FAULTS).map(([fault, script]) => [kind, fault, script] as const));

  it.each(cases)('%s, %s: a typed ERROR in time, and every attempt metered', async (kind, _fault, script) => {
    const { workspace, token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind, script });
    const started = Date.now();
    const { chunks, errors } = await streamOverWs(gw, token, { messages: userMessage(), model: MODELS[kind] });
    expect(errors).toBeUndefined();
    expectTypedError(chunks, Date.now() - started);
    const sawTokens = chunks.some((c) => c.type === 'TEXT');
    await expectMetered(workspace.id, sawTokens);
  });

  it('connection refused: retried within the budget, then a typed ERROR', async () => {
    const { workspace, token } = await newOwner(gw);
    const added = await gw.execute(
      AddProvider,
      { input: { kind: 'OPENAI', apiKey: `sk-refused-${randomUUID()}`, baseUrl: `http://127.0.0.1:${closedPort}/v1`, skipValidation: true } },
      { token },
    );
    expect(added.errors).toBeUndefined();
    const started = Date.now();
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage(), model: MODELS.OPENAI });
    expectTypedError(chunks, Date.now() - started);
    expect(await expectMetered(workspace.id, false)).toHaveLength(ATTEMPTS);
  });
});

describe('a non-streamed chat whose upstream fails', () => {
  it.each([
    ['hangs', 'hang=1'],
    ['answers with an oversized body', 'chunks=1&chunk-size=100000'],
  ])('when it %s: PROVIDER_UNAVAILABLE in time, every attempt metered', async (_fault, script) => {
    const { workspace, token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind: 'OPENAI', script });
    const started = Date.now();
    const result = await gw.execute(Chat, { input: { messages: userMessage(), model: MODELS.OPENAI } }, { token });
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    await expectMetered(workspace.id, false);
  });
});

describe('the line bound', () => {
  it('passes a long answer cut into lines that are each within it', async () => {
    const { workspace, token } = await newOwner(gw);
    await addSimProvider(gw, sim, token, { kind: 'OPENAI', script: 'chunks=200&chunk-size=4000' });
    // An answer this long needs an output cap that allows it (800,000 characters estimate 200,000 tokens).
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage(), model: MODELS.OPENAI, maxTokens: 200_000 });
    expect(chunks.at(-1)?.type).toBe('DONE');
    expect(
      chunks
        .filter((c) => c.type === 'TEXT')
        .map((c) => c.delta)
        .join(''),
    ).toHaveLength(800_000);
    expect((await rowsOf(workspace.id))[0]).toMatchObject({ status: 'SUCCEEDED' });
  });
});
