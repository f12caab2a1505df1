// validateKey checks a key exactly as addProvider would and keeps nothing of it;
// providerKinds describes every kind from the data the gateway routes with.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KINDS } from '../../src/modules/providers/kinds.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider, AuditLog, CreateApiKey, ProviderKinds, ValidateKey } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(), startSimulator()]);
});
afterAll(disposeAll);

const canary = () => `sk-canary-${randomUUID().replaceAll('-', '')}`;

/** Everything the gateway keeps about a workspace's keys: no row of it may change when a key is only checked. */
async function storedFor(workspaceId: string) {
  const [providers, changes] = await Promise.all([
    gw.db.prisma.provider.count({ where: { workspaceId } }),
    gw.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM credential_changes WHERE workspace_id = $1', [workspaceId]),
  ]);
  return { providers, credentialChanges: changes[0].n };
}

describe('validateKey', () => {
  it('validates a working key with the provider and stores nothing but an audit entry without it', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'mia'));
    const key = canary();
    const result = await gw.execute(ValidateKey, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai } }, { token });
    expect(result.errors).toBeUndefined();
    expect(result.data!.validateKey).toMatchObject({ ok: true, errorCode: null, message: null });
    expect(result.data!.validateKey.models).toContain('gpt-4o-mini');
    expect(sim.requests.filter((r) => r.key === key).map((r) => r.path)).toEqual(['/openai/v1/models']);

    expect(await storedFor(workspace.id)).toEqual({ providers: 0, credentialChanges: 1 });
    const owner = await gw.token(workspace.claims('owner'));
    const audit = await gw.execute(AuditLog, { first: 10 }, { token: owner });
    expect(audit.data!.auditLog.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ action: 'PROVIDER_KEY_VALIDATED', actorId: 'mia', targetId: null, data: expect.objectContaining({ kind: 'OPENAI', ok: true, errorCode: null }) }),
    ]);
    expect(JSON.stringify([result, audit.data])).not.toContain(key.slice(10));
    expect(gw.logs.join('\n')).not.toContain(key.slice(10));
  });

  it('gives a refused key as a result, as addProvider would refuse it, and leaks none of it', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('admin'));
    const key = `${canary()}#status=401`;
    const checked = await gw.execute(ValidateKey, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai } }, { token });
    expect(checked.data!.validateKey).toMatchObject({ ok: false, errorCode: 'INVALID_CREDENTIALS', models: null });
    const added = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai } }, { token });
    expect(added.errors?.[0].extensions?.code).toBe(checked.data!.validateKey.errorCode);
    expect(added.errors?.[0].message).toBe(checked.data!.validateKey.message);
    expect(JSON.stringify(checked)).not.toContain(key.slice(10, 30));
    expect(await storedFor(workspace.id)).toEqual({ providers: 0, credentialChanges: 2 });
  });

  it('refuses bad input as addProvider does, before any call and without taking from the allowance', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member'));
    const before = sim.requests.length;
    const cases = [
      [{ kind: 'OPENAI', apiKey: '', baseUrl: sim.baseUrls.openai }, 'apiKey'],
      [{ kind: 'OPENAI', apiKey: `sk-${'x'.repeat(5000)}`, baseUrl: sim.baseUrls.openai }, 'apiKey'],
      [{ kind: 'OPENAI', apiKey: 'sk-with space', baseUrl: sim.baseUrls.openai }, 'apiKey'],
      [{ kind: 'OPENAI_COMPATIBLE', apiKey: canary() }, 'baseUrl'],
      [{ kind: 'OPENAI', apiKey: canary(), baseUrl: 'http://169.254.169.254/latest/meta-data/' }, 'baseUrl'],
      [{ kind: 'OPENAI', apiKey: canary(), baseUrl: `https://example.com/${'a'.repeat(2100)}` }, 'baseUrl'],
      [{ kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai, credentialType: 'OAUTH_TOKEN' }, 'credentialType'],
    ] as const;
    for (const [input, field] of cases) {
      const refused = await gw.execute(ValidateKey, { input }, { token });
      expect(refused.errors?.[0].extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(sim.requests.length).toBe(before);
    expect(await storedFor(workspace.id)).toEqual({ providers: 0, credentialChanges: 0 });
  });

  it("refuses an agent's SERVICE API key, which may add no provider either", async () => {
    const workspace = newWorkspace();
    const owner = await gw.token(workspace.claims('owner'));
    const { secret } = (await gw.execute(CreateApiKey, { input: { name: 'agent', principal: 'SERVICE' } }, { token: owner })).data!.createApiKey;
    const before = sim.requests.length;
    const stored = await storedFor(workspace.id); // creating the API key was one key change
    const input = { kind: 'OPENAI' as const, apiKey: canary(), baseUrl: sim.baseUrls.openai };
    expect((await gw.execute(ValidateKey, { input }, { token: secret })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.execute(AddProvider, { input: { ...input, scope: 'PERSONAL' } }, { token: secret })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(sim.requests.length).toBe(before);
    expect(await storedFor(workspace.id)).toEqual(stored);
  });

  it('takes from the same hourly allowance as addProvider', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    for (let i = 0; i < 10; i++) {
      expect((await gw.execute(ValidateKey, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token })).errors).toBeUndefined();
    }
    const eleventh = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token });
    expect(eleventh.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    const twelfth = await gw.execute(ValidateKey, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token });
    expect(twelfth.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('providerKinds', () => {
  it("lists every kind of the schema's enum with the facts the gateway routes with", async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const { data, errors } = await gw.execute(ProviderKinds, {}, { token });
    expect(errors).toBeUndefined();
    expect(data!.providerKinds.map((k) => k.kind)).toEqual(data!.kindEnum!.enumValues!.map((v) => v.name));
    for (const info of data!.providerKinds) {
      const spec = KINDS[info.kind];
      expect(info).toEqual({
        kind: info.kind,
        displayName: spec.displayName,
        protocol: spec.protocol,
        defaultBaseUrl: spec.defaultBaseUrl,
        keyPrefix: spec.keyPrefix ?? null,
        requiresKey: spec.requiresKey,
        capabilities: expect.arrayContaining(['chat', 'streaming', 'tools', 'vision', 'json']),
      });
      expect(info.capabilities.includes('embeddings')).toBe(spec.embeds);
    }
  });
});
