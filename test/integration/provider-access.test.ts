import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider, AuditLog, DeleteProvider, ProviderById, Providers, TestProvider, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const key = () => `sk-access-${randomUUID()}`;
type Role = 'owner' | 'admin' | 'member';

async function addAs(token: string, scope: 'WORKSPACE' | 'PERSONAL' = 'WORKSPACE') {
  return gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key(), baseUrl: sim.baseUrls.openai, scope } }, { token });
}

/** Every provider mutation and id-taking field, as one caller, on one provider id. */
async function everyOperation(token: string, id: string) {
  return {
    provider: (await gw.execute(ProviderById, { id }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
    updateProvider: (await gw.execute(UpdateProvider, { id, input: { label: `by-${randomUUID().slice(0, 4)}` } }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
    rotate: (await gw.execute(UpdateProvider, { id, input: { apiKey: key() } }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
    testProvider: (await gw.execute(TestProvider, { id }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
    disable: (await gw.execute(UpdateProvider, { id, input: { disabled: true } }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
    deleteProvider: (await gw.execute(DeleteProvider, { id }, { token })).errors?.[0]?.extensions?.code ?? 'OK',
  };
}

const allowed = { provider: 'OK', updateProvider: 'OK', rotate: 'OK', testProvider: 'OK', disable: 'OK', deleteProvider: 'OK' };
const forbidden = { provider: 'OK', updateProvider: 'FORBIDDEN', rotate: 'FORBIDDEN', testProvider: 'FORBIDDEN', disable: 'FORBIDDEN', deleteProvider: 'FORBIDDEN' };
const invisible = { provider: 'NOT_FOUND', updateProvider: 'NOT_FOUND', rotate: 'NOT_FOUND', testProvider: 'NOT_FOUND', disable: 'NOT_FOUND', deleteProvider: 'NOT_FOUND' };

describe('role matrix on workspace providers', () => {
  it.each([
    ['owner', allowed],
    ['admin', allowed],
    ['member', forbidden],
  ] as const)('%s', async (role: Role, expected) => {
    const workspace = newWorkspace();
    const id = (await addAs(await gw.token(workspace.claims('owner')))).data!.addProvider.id;
    expect(await everyOperation(await gw.token(workspace.claims(role)), id)).toEqual(expected);
  });

  it.each([
    ['owner', 'OK'],
    ['admin', 'OK'],
    ['member', 'FORBIDDEN'],
  ] as const)('addProvider WORKSPACE as %s: %s; PERSONAL always allowed', async (role: Role, code) => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims(role));
    expect((await addAs(token)).errors?.[0]?.extensions?.code ?? 'OK').toBe(code);
    expect((await addAs(token, 'PERSONAL')).errors).toBeUndefined();
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(code === 'OK' ? 2 : 1);
  });

  it('auditLog is for ADMIN and OWNER only', async () => {
    const workspace = newWorkspace();
    for (const [role, code] of [
      ['owner', undefined],
      ['admin', undefined],
      ['member', 'FORBIDDEN'],
    ] as const) {
      const result = await gw.execute(AuditLog, {}, { token: await gw.token(workspace.claims(role)) });
      expect(result.errors?.[0]?.extensions?.code).toBe(code);
    }
  });

  it('needs a token for every provider operation', async () => {
    const workspace = newWorkspace();
    const id = (await addAs(await gw.token(workspace.claims('owner')))).data!.addProvider.id;
    const results = [
      await gw.execute(Providers),
      await gw.execute(ProviderById, { id }),
      await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key() } }),
      await gw.execute(UpdateProvider, { id, input: { label: 'x' } }),
      await gw.execute(TestProvider, { id }),
      await gw.execute(DeleteProvider, { id }),
    ];
    expect(results.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(Array(6).fill('UNAUTHENTICATED'));
  });
});

describe('personal providers', () => {
  it('belong to their member alone: the owner of them may do everything, anyone else gets NOT_FOUND as if it did not exist', async () => {
    const workspace = newWorkspace();
    const mine = await gw.token(workspace.claims('member', 'mia'));
    const id = (await addAs(mine, 'PERSONAL')).data!.addProvider.id;
    for (const [role, user] of [
      ['member', 'max'],
      ['admin', 'ada'],
      ['owner', 'olga'],
    ] as const) {
      const other = await gw.token(workspace.claims(role, user));
      const seen = await everyOperation(other, id);
      expect(seen).toEqual(invisible);
      expect((await gw.execute(ProviderById, { id }, { token: other })).data?.provider).toBeNull();
      expect((await gw.execute(Providers, {}, { token: other })).data?.providers.map((p) => p.id)).not.toContain(id);
    }
    expect(await everyOperation(mine, id)).toEqual(allowed);
  });
});

describe('another workspace', () => {
  it('answers NOT_FOUND for every id-taking field, exactly as for an id that does not exist', async () => {
    const id = (await addAs(await gw.token(newWorkspace().claims('owner')))).data!.addProvider.id;
    const stranger = await gw.token(newWorkspace().claims('owner'));
    expect(await everyOperation(stranger, id)).toEqual(invisible);
    expect(await everyOperation(stranger, randomUUID())).toEqual(invisible);
    expect((await gw.execute(ProviderById, { id }, { token: stranger })).data?.provider).toBeNull();
  });
});
