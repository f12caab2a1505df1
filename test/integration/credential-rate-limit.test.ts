import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider, DeleteProvider, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
let now = new Date('2026-06-01T12:00:00Z');
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({}, { clock: () => now }), startSimulator()]);
});
afterAll(disposeAll);

const add = (token: string, apiKey = `sk-rate-${randomUUID()}`) => gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey, baseUrl: sim.baseUrls.openai } }, { token });

describe('credential change rate limit', () => {
  it('trips at the 11th change within the hour, counts refused keys too, and frees up as the hour slides', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const first = (await add(token)).data!.addProvider.id;
    await add(token, 'sk-rate-bad#status=401'); // a refused attempt still counts
    for (let i = 0; i < 6; i++) {
      expect((await add(token)).errors).toBeUndefined();
      now = new Date(now.getTime() + 60_000);
    }
    expect((await gw.execute(UpdateProvider, { id: first, input: { apiKey: `sk-rate-${randomUUID()}` } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(DeleteProvider, { id: first }, { token })).errors).toBeUndefined();
    // Ten changes so far. Label edits are not credential changes.
    const count = await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id, deletedAt: null } });

    const eleventh = await add(token);
    expect(eleventh.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = eleventh.errors![0].extensions!.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThan(3_000);
    expect(retryAfter).toBeLessThanOrEqual(3_600);
    expect(eleventh.errors?.[0].message).toContain(`${retryAfter} s`);
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id, deletedAt: null } })).toBe(count);

    // Another user of the same workspace has an allowance of their own.
    expect((await add(await gw.token(workspace.claims('owner', 'sam')))).errors).toBeUndefined();

    now = new Date(now.getTime() + retryAfter * 1000);
    expect((await add(token)).errors).toBeUndefined();
  });
});
