// What one report or export may ask of the server: its groups, buckets and
// series cells are bounded (BAD_USER_INPUT naming the bound, before any work),
// ranges must run forwards, and a large grouped export streams without the
// server holding it.
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageEvents, UsageReport } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startTestServer, type TestServer } from '../testkit/server.js';
import { insertLedgerRows, type LedgerRow } from '../testkit/usage.js';

let gw: TestServer;
beforeAll(async () => {
  gw = await startTestServer();
});
afterAll(disposeAll);

const START = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const iso = (at: number) => new Date(at).toISOString();

/** `count` calls in the first hour, each with its own model, agent, operation and user. */
function distinctCalls(count: number): LedgerRow[] {
  const provider = randomUUID();
  return Array.from({ length: count }, (_, i) => ({
    createdAt: new Date(START + i),
    providerId: provider,
    model: `model-${i}`,
    agent: `agent-${i}`,
    operation: `operation-${i}`,
    userId: `user-${i}`,
    status: 'SUCCEEDED',
    promptTokens: 10,
    completionTokens: 5,
    costMicros: 1n,
    durationMs: 10,
  }));
}

async function workspaceWith(rows: LedgerRow[]) {
  const workspace = newWorkspace();
  await insertLedgerRows(gw.db, workspace.id, rows);
  return gw.token(workspace.claims('owner'));
}

type Refusal = { status: number; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
async function exportCsv(token: string, query: Record<string, string>): Promise<Response> {
  return fetch(`${gw.url}/export/usage.csv?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${token}` } });
}
async function exportRefusal(token: string, query: Record<string, string>): Promise<Refusal> {
  const response = await exportCsv(token, query);
  expect(response.headers.get('content-type')).toBe('application/json');
  return { status: response.status, ...((await response.json()) as Omit<Refusal, 'status'>) };
}

describe('report bounds', () => {
  it('refuse more than 1,000 groups in any dimension, in the report and the export, naming the bound; 1,000 are answered', async () => {
    const token = await workspaceWith(distinctCalls(1_001));
    const range = { from: iso(START), to: iso(START + 24 * HOUR) };
    for (const dimension of ['MODEL', 'AGENT', 'OPERATION', 'USER'] as const) {
      const report = await gw.execute(UsageReport, { range, groupBy: [dimension], bucket: 'DAY' }, { token });
      expect(report.data, dimension).toBeNull();
      expect(report.errors?.[0].extensions, dimension).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'groups' });
      expect(report.errors?.[0].message).toContain('1,000 groups');

      const refused = await exportRefusal(token, { ...range, groupBy: dimension, bucket: 'DAY' });
      expect(refused.status, dimension).toBe(400);
      expect(refused.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'groups' });
    }
    // The bound itself is allowed: one call fewer.
    const allowed = await gw.execute(UsageReport, { range, groupBy: ['MODEL'], bucket: 'DAY', filter: { success: true } }, { token: await workspaceWith(distinctCalls(1_000)) });
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data!.usage.groups).toHaveLength(1_000);
    expect(allowed.data!.usage.series).toHaveLength(1_000);
  });

  it('refuse more than 50,000 series cells (buckets × groups) in the report and 1,000,000 lines in the export, naming the bound', async () => {
    const token = await workspaceWith(distinctCalls(250));
    // 250 models × 720 hours = 180,000 cells: over the report's bound, within the export's.
    const month = { from: iso(START), to: iso(START + 720 * HOUR) };
    const report = await gw.execute(UsageReport, { range: month, groupBy: ['MODEL'], bucket: 'HOUR' }, { token });
    expect(report.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'seriesCells' });
    expect(report.errors?.[0].message).toContain('50,000');
    // 250 × 24 = 6,000 cells: answered.
    const day = await gw.execute(UsageReport, { range: { from: month.from, to: iso(START + 24 * HOUR) }, groupBy: ['MODEL'], bucket: 'HOUR' }, { token });
    expect(day.data?.usage.series).toHaveLength(6_000);

    // 250 models × 4,500 hours = 1,125,000 lines.
    const refused = await exportRefusal(token, { from: month.from, to: iso(START + 4_500 * HOUR), groupBy: 'MODEL', bucket: 'HOUR' });
    expect(refused.status).toBe(400);
    expect(refused.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'seriesCells' });
    expect(refused.errors[0].message).toContain('1,000,000');
  });

  it('refuse more than 5,000 buckets, naming the bound', async () => {
    const token = await workspaceWith(distinctCalls(1));
    const range = { from: iso(START), to: iso(START + 5_001 * HOUR) };
    const report = await gw.execute(UsageReport, { range, bucket: 'HOUR' }, { token });
    expect(report.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'buckets' });
    const refused = await exportRefusal(token, { ...range, groupBy: 'MODEL', bucket: 'HOUR' });
    expect(refused.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'buckets' });
  });
});

describe('a large grouped export', () => {
  // The server runs in this process: a full collection before each look leaves only what is still held.
  v8.setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const heapHeld = async () => {
    collectGarbage();
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    return Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)![1]);
  };

  it('streams while the server holds less than the file, however long', async () => {
    // 200 models with long names × 2,500 hours, zero-filled: 500,000 lines, about 52 MB.
    const token = await workspaceWith(distinctCalls(200).map((call) => ({ ...call, model: call.model.padEnd(64, '.') })));
    const query = { from: iso(START), to: iso(START + 2_500 * HOUR), groupBy: 'MODEL', bucket: 'HOUR' };
    // A small export first, so what the first one costs once (compiled code, pools) is not counted.
    await (await exportCsv(token, { ...query, to: iso(START + 10 * HOUR) })).text();
    const before = await heapHeld();
    const response = await exportCsv(token, query);
    expect(response.status).toBe(200);
    let bytes = 0;
    let lines = 0;
    let held = 0;
    let sampledAt = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      for (const byte of chunk) if (byte === 10) lines++;
      if (bytes - sampledAt > 4_000_000) {
        sampledAt = bytes;
        held = Math.max(held, (await heapHeld()) - before);
      }
    }
    expect(lines).toBe(1 + 500_000);
    // Reading the whole series before writing held 4 times the file (207 MB for 52 MB).
    expect(held).toBeLessThan(bytes);
  }, 120_000);
});

describe('ranges', () => {
  it('run forwards: from at or after to is BAD_USER_INPUT for the report, the events and the export', async () => {
    const token = await workspaceWith(distinctCalls(3));
    for (const range of [
      { from: iso(START + HOUR), to: iso(START) },
      { from: iso(START), to: iso(START) },
    ]) {
      const events = await gw.execute(UsageEvents, { range, first: 10 }, { token });
      expect(events.errors?.[0].extensions, JSON.stringify(range)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range' });
      const report = await gw.execute(UsageReport, { range }, { token });
      expect(report.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range' });
      for (const query of [range, { ...range, groupBy: 'MODEL' }]) {
        const refused = await exportRefusal(token, query);
        expect(refused.status).toBe(400);
        expect(refused.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      }
    }
    expect((await gw.execute(UsageEvents, { range: { from: iso(START), to: iso(START + HOUR) }, first: 10 }, { token })).data?.usageEvents.edges).toHaveLength(3);
  });
});
