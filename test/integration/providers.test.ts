import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider, AuditLog, DeleteProvider, ProviderById, Providers, TestProvider, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(), startSimulator()]);
});
afterAll(disposeAll);

const canary = () => `sk-canary-${randomUUID().replaceAll('-', '')}`;
const requestsWithKey = (key: string) => sim.requests.filter((r) => r.key === key);

const owner = () => newOwner(gw);

const PROTOCOLS = [
  { kind: 'OPENAI', base: () => sim.baseUrls.openai, models: 'gpt-4o-mini', path: '/openai/v1/models' },
  { kind: 'ANTHROPIC', base: () => sim.baseUrls.anthropic, models: 'claude-3-5-haiku-latest', path: '/anthropic/v1/models' },
  { kind: 'GEMINI', base: () => sim.baseUrls.gemini, models: 'gemini-2.0-flash', path: '/gemini/v1beta/models' },
  { kind: 'OPENROUTER', base: () => sim.baseUrls.openrouter, models: 'openai/gpt-4o-mini', path: '/openrouter/api/v1/key' },
] as const;

describe.each(PROTOCOLS)('a $kind provider, end to end', ({ kind, base, models, path }) => {
  it('is added after validation, listed, updated, rotated, tested and deleted', async () => {
    const { token } = await owner();
    const key = canary();
    const added = await gw.execute(
      AddProvider,
      { input: { kind, apiKey: key, baseUrl: base(), label: 'Main', dailyTokenLimit: 5_000_000_000, monthlyBudgetUsd: 12.5 } },
      { token },
    );
    expect(added.errors).toBeUndefined();
    const provider = added.data!.addProvider;
    expect(provider).toMatchObject({
      kind,
      label: 'Main',
      scope: 'WORKSPACE',
      credentialType: 'API_KEY',
      maskedKey: `••••${key.slice(-4)}`,
      dailyTokenLimit: 5_000_000_000,
      monthlyBudgetUsd: 12.5,
      tokensUsedToday: 0,
      spendThisMonthUsd: 0,
      health: { status: 'ACTIVE', errorRate: 0, requestsInWindow: 0 },
    });
    expect(provider.lastValidatedAt).not.toBeNull();
    expect(requestsWithKey(key).map((r) => r.path)).toContain(path);

    const listed = await gw.execute(Providers, {}, { token });
    expect(listed.data?.providers).toEqual([expect.objectContaining({ id: provider.id, kind, maskedKey: provider.maskedKey })]);

    const updated = await gw.execute(UpdateProvider, { id: provider.id, input: { label: 'Renamed', priority: 5, dailyTokenLimit: null, defaultModel: models } }, { token });
    expect(updated.data?.updateProvider).toMatchObject({ label: 'Renamed', priority: 5, dailyTokenLimit: null, monthlyBudgetUsd: 12.5, defaultModel: models });

    const rotatedKey = canary();
    const rotated = await gw.execute(UpdateProvider, { id: provider.id, input: { apiKey: rotatedKey } }, { token });
    expect(rotated.data?.updateProvider.maskedKey).toBe(`••••${rotatedKey.slice(-4)}`);

    const before = requestsWithKey(rotatedKey).length;
    const tested = await gw.execute(TestProvider, { id: provider.id }, { token });
    expect(tested.data?.testProvider).toMatchObject({ ok: true, errorCode: null, message: null });
    expect(tested.data?.testProvider.models).toContain(models);
    expect(tested.data?.testProvider.latencyMs).toBeGreaterThan(0);
    // The test used the rotated key, not the old one.
    expect(requestsWithKey(rotatedKey).length).toBeGreaterThan(before);

    const deleted = await gw.execute(DeleteProvider, { id: provider.id }, { token });
    expect(deleted.data?.deleteProvider).toBe(provider.id);
    expect((await gw.execute(Providers, {}, { token })).data?.providers).toEqual([]);
    expect((await gw.execute(ProviderById, { id: provider.id }, { token })).data?.provider).toBeNull();
    const row = await gw.db.prisma.provider.findUnique({ where: { id: provider.id } });
    expect(row).toMatchObject({ sealedKey: null, keyId: null, keyHint: '', kind, label: 'Renamed' });
    expect(row?.deletedAt).not.toBeNull();

    const audit = await gw.execute(AuditLog, { first: 10 }, { token });
    expect(audit.data?.auditLog.edges.map((e) => e.node.action)).toEqual(['PROVIDER_DELETED', 'PROVIDER_TESTED', 'PROVIDER_KEY_ROTATED', 'PROVIDER_UPDATED', 'PROVIDER_CREATED']);
    expect(audit.data?.auditLog.edges.every((e) => e.node.targetId === provider.id && e.node.actorId.startsWith('owner-'))).toBe(true);
  });

  it('refuses an invalid key with INVALID_CREDENTIALS and stores nothing', async () => {
    const { workspace, token } = await owner();
    const result = await gw.execute(AddProvider, { input: { kind, apiKey: `${canary()}#status=401`, baseUrl: base() } }, { token });
    expect(result.errors?.[0].extensions?.code).toBe('INVALID_CREDENTIALS');
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(0);
    expect(await gw.db.prisma.auditEntry.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it('refuses an unreachable provider with PROVIDER_UNAVAILABLE and stores nothing', async () => {
    const { workspace, token } = await owner();
    const closedPort = base().replace(/:\d+\//, ':9/');
    const result = await gw.execute(AddProvider, { input: { kind, apiKey: canary(), baseUrl: closedPort } }, { token });
    expect(result.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });
});

describe('key rotation and testing', () => {
  it('keeps the old key in force when the new one is refused', async () => {
    const { token } = await owner();
    const oldKey = canary();
    const { data } = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: oldKey, baseUrl: sim.baseUrls.openai } }, { token });
    const id = data!.addProvider.id;
    const refused = await gw.execute(UpdateProvider, { id, input: { apiKey: `${canary()}#status=401`, label: 'not applied' } }, { token });
    expect(refused.errors?.[0].extensions?.code).toBe('INVALID_CREDENTIALS');
    const after = await gw.execute(ProviderById, { id }, { token });
    expect(after.data?.provider).toMatchObject({ label: 'OpenAI', maskedKey: `••••${oldKey.slice(-4)}` });
    const before = requestsWithKey(oldKey).length;
    expect((await gw.execute(TestProvider, { id }, { token })).data?.testProvider.ok).toBe(true);
    expect(requestsWithKey(oldKey).length).toBe(before + 1);
  });

  it('marks a key INVALID when a test is refused, and a later good test restores it', async () => {
    const { token } = await owner();
    const key = canary();
    const { data } = await gw.execute(AddProvider, { input: { kind: 'ANTHROPIC', apiKey: key, baseUrl: sim.baseUrls.anthropic } }, { token });
    const id = data!.addProvider.id;
    // The provider starts refusing the key (revoked upstream): simulate by scripting the stored key's requests.
    await gw.db.prisma.provider.update({ where: { id }, data: { baseUrl: `${sim.url}/anthropic-revoked` } });
    const failed = await gw.execute(TestProvider, { id }, { token });
    expect(failed.data?.testProvider).toMatchObject({ ok: false, errorCode: 'BAD_USER_INPUT' });
    await gw.db.prisma.provider.update({ where: { id }, data: { baseUrl: sim.baseUrls.anthropic } });
    const rotated = await gw.execute(UpdateProvider, { id, input: { apiKey: `${key}#status=401` } }, { token });
    expect(rotated.errors?.[0].extensions?.code).toBe('INVALID_CREDENTIALS');
    expect((await gw.execute(TestProvider, { id }, { token })).data?.testProvider.ok).toBe(true);
  });

  it('a Gemini 400 API_KEY_INVALID on test marks the provider INVALID; a working key restores ACTIVE', async () => {
    const { token } = await owner();
    const key = `${canary()}#fail=401x1`;
    const { data, errors } = await gw.execute(AddProvider, { input: { kind: 'GEMINI', apiKey: key, baseUrl: sim.baseUrls.gemini, skipValidation: true } }, { token });
    expect(errors).toBeUndefined();
    const id = data!.addProvider.id;
    const failed = await gw.execute(TestProvider, { id }, { token });
    expect(failed.data?.testProvider).toMatchObject({ ok: false, errorCode: 'INVALID_CREDENTIALS' });
    expect(failed.data?.testProvider.message).toContain('Google Gemini answered 400 (API_KEY_INVALID)');
    expect((await gw.execute(ProviderById, { id }, { token })).data?.provider?.health).toMatchObject({ status: 'INVALID' });
    const recovered = await gw.execute(TestProvider, { id }, { token });
    expect(recovered.data?.testProvider.ok).toBe(true);
    expect((await gw.execute(ProviderById, { id }, { token })).data?.provider?.health).toMatchObject({ status: 'ACTIVE', lastError: null });
  });

  it('reports an upstream 429 during validation as UPSTREAM_RATE_LIMITED', async () => {
    const { token } = await owner();
    const result = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: `${canary()}#status=429&retry-after=3`, baseUrl: sim.baseUrls.openai } }, { token });
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'UPSTREAM_RATE_LIMITED', upstreamStatus: 429 } });
  });

  it('gives up on a provider that hangs within the configured timeout', async () => {
    const { token } = await owner();
    const started = Date.now();
    const result = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: `${canary()}#hang=1`, baseUrl: sim.baseUrls.openai } }, { token });
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'PROVIDER_UNAVAILABLE' } });
    expect(result.errors?.[0].message).toContain('did not answer in time');
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

describe('input rules', () => {
  it.each([
    [{ kind: 'OPENAI', apiKey: '' }, 'apiKey'],
    [{ kind: 'OPENAI', apiKey: 'has a space' }, 'apiKey'],
    [{ kind: 'OPENAI_COMPATIBLE', apiKey: 'k', baseUrl: null }, 'baseUrl'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', label: '' }, 'label'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', priority: -1 }, 'priority'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', dailyTokenLimit: -5 }, 'dailyTokenLimit'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', monthlyBudgetUsd: -1 }, 'monthlyBudgetUsd'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', scope: 'PLATFORM' }, 'scope'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', credentialType: 'OAUTH_TOKEN' }, 'credentialType'],
    [{ kind: 'OPENAI', apiKey: 'sk-x', baseUrl: 'ftp://example.com' }, 'baseUrl'],
  ] as const)('refuses %j naming the field %s, storing nothing', async (input, field) => {
    const { workspace, token } = await owner();
    const result = await gw.execute(AddProvider, { input: { baseUrl: sim.baseUrls.openai, ...input } as never }, { token });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it('needs the key again to change the base URL', async () => {
    const { token } = await owner();
    const { data } = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token });
    const result = await gw.execute(UpdateProvider, { id: data!.addProvider.id, input: { baseUrl: 'https://attacker.example/v1' } }, { token });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseUrl' });
  });

  it('stores a key unvalidated only for an OWNER who asks, without calling the provider', async () => {
    const workspace = newWorkspace();
    const key = canary();
    const admin = await gw.token(workspace.claims('admin'));
    const refused = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai, skipValidation: true } }, { token: admin });
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const ownerToken = await gw.token(workspace.claims('owner'));
    const stored = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai, skipValidation: true } }, { token: ownerToken });
    expect(stored.data?.addProvider.lastValidatedAt).toBeNull();
    expect(requestsWithKey(key)).toEqual([]);
    const row = await gw.db.prisma.provider.findUniqueOrThrow({ where: { id: stored.data!.addProvider.id } });
    expect(row.validated).toBe(false);
  });

  it('refuses an unknown id shape with NOT_FOUND, not an internal error', async () => {
    const { token } = await owner();
    const result = await gw.execute(TestProvider, { id: 'not-a-uuid' }, { token });
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('pages the audit log with a cursor and refuses a forged one', async () => {
    const { token } = await owner();
    for (let i = 0; i < 3; i++) await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai, skipValidation: true } }, { token });
    const first = await gw.execute(AuditLog, { first: 2 }, { token });
    expect(first.data?.auditLog.edges).toHaveLength(2);
    expect(first.data?.auditLog.pageInfo.hasNextPage).toBe(true);
    const second = await gw.execute(AuditLog, { first: 2, after: first.data!.auditLog.pageInfo.endCursor }, { token });
    expect(second.data?.auditLog.edges).toHaveLength(1);
    expect(second.data?.auditLog.pageInfo.hasNextPage).toBe(false);
    const ids = [...first.data!.auditLog.edges, ...second.data!.auditLog.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(3);
    expect((await gw.execute(AuditLog, { first: 2, after: 'bm9wZQ' }, { token })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect((await gw.execute(AuditLog, { first: 500 }, { token })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
