import Anthropic from '@anthropic-ai/sdk';
import { print } from 'graphql';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.js';
import type { CreateApiKeyInput } from '../generated/graphql.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AddProvider, AuditLog, Chat, CreateApiKey, RevokeApiKey, UsageTicks, WhoAmI } from '../testkit/documents.js';
import { MessageType, openAcknowledgedSocket } from '../testkit/raw-ws.js';
import { disposeAll, eventually, expectNoSecret, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { first } from '../testkit/streams.js';

const ApiKeys = graphql(`
  query ApiKeys($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) { edges { node { id name createdBy } } pageInfo { hasNextPage endCursor } }
  }
`);

let gw: TestServer;
let now = new Date('2026-06-01T12:00:00Z');
beforeAll(async () => {
  gw = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }, { clock: () => now });
});
afterAll(disposeAll);

describe('gateway API keys', () => {
  it('shows the secret once and stores only its hash, with an audit entry', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'kim'));
    const input = { name: 'ci bot', agent: 'ci', allowedModels: ['gpt-4o-mini'], dailyTokenLimit: 1000, monthlyBudgetUsd: 5, expiresAt: '2100-01-01T00:00:00.000Z' };
    const result = await gw.execute(CreateApiKey, { input }, { token });
    expect(result.errors).toBeUndefined();
    const { secret, apiKey } = result.data!.createApiKey;
    expect(secret).toMatch(/^gk_[0-9A-Za-z]{43}$/);
    expect(apiKey).toMatchObject({
      name: 'ci bot',
      principal: 'MEMBER',
      createdBy: 'kim',
      agent: 'ci',
      allowedModels: ['gpt-4o-mini'],
      dailyTokenLimit: 1000,
      monthlyBudgetUsd: 5,
    });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.prefix.length).toBeLessThan(16);

    const row = await gw.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    const stored = JSON.stringify(row, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
    );
    expectNoSecret(stored.replace(apiKey.prefix, ''), secret.slice(apiKey.prefix.length));
    expect(row.secretHash.length).toBe(32);

    // The secret is never shown again: no field of ApiKey holds it.
    const listed = await gw.execute(ApiKeys, {}, { token });
    expectNoSecret(JSON.stringify(listed).replace(apiKey.prefix, ''), secret.slice(apiKey.prefix.length));

    const owner = await gw.token(workspace.claims('owner'));
    const audit = await gw.execute(AuditLog, { first: 10 }, { token: owner });
    const entry = audit.data!.auditLog.edges.map((e) => e.node).find((n) => n.action === 'API_KEY_CREATED');
    expect(entry).toMatchObject({ actorId: 'kim', targetId: apiKey.id });
    expectNoSecret(JSON.stringify(audit), secret.slice(apiKey.prefix.length));
    expectNoSecret(gw.logs.join('\n'), secret.slice(apiKey.prefix.length));
  });

  it('lets only admins create SERVICE keys, and bounds the input', async () => {
    const workspace = newWorkspace();
    const member = await gw.token(workspace.claims('member'));
    const refused = await gw.execute(CreateApiKey, { input: { name: 'svc', principal: 'SERVICE' } }, { token: member });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const admin = await gw.token(workspace.claims('admin'));
    expect((await gw.execute(CreateApiKey, { input: { name: 'svc', principal: 'SERVICE' } }, { token: admin })).data?.createApiKey.apiKey.principal).toBe('SERVICE');

    const cases: Array<[CreateApiKeyInput, string]> = [
      [{ name: '' }, 'name'],
      [{ name: 'x', allowedModels: ['has space'] }, 'allowedModels'],
      [{ name: 'x', expiresAt: '2000-01-01T00:00:00Z' }, 'expiresAt'],
      [{ name: 'x', monthlyBudgetUsd: -1 }, 'monthlyBudgetUsd'],
      [{ name: 'x', agent: 'bad\nagent' }, 'agent'],
      [{ name: 'x', allowedModels: Array.from({ length: 101 }, (_, i) => `model-${i}`) }, 'allowedModels'],
      [{ name: 'x', requestsPerMinute: 0 }, 'requestsPerMinute'],
      [{ name: 'x', requestsPerMinute: 1_000_001 }, 'requestsPerMinute'],
    ];
    for (const [input, field] of cases) {
      const result = await gw.execute(CreateApiKey, { input }, { token: member });
      expect(result.errors?.[0].extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('lists all keys to admins and their own to members; revokes for the creator or an admin', async () => {
    const workspace = newWorkspace();
    const kim = await gw.token(workspace.claims('member', 'kim'));
    const lee = await gw.token(workspace.claims('member', 'lee'));
    const admin = await gw.token(workspace.claims('admin'));
    const kimKey = (await gw.execute(CreateApiKey, { input: { name: 'kim key' } }, { token: kim })).data!.createApiKey.apiKey.id;
    const leeKey = (await gw.execute(CreateApiKey, { input: { name: 'lee key' } }, { token: lee })).data!.createApiKey.apiKey.id;

    const names = async (token: string) => (await gw.execute(ApiKeys, {}, { token })).data!.apiKeys.edges.map((e) => e.node.name).sort();
    expect(await names(kim)).toEqual(['kim key']);
    expect(await names(admin)).toEqual(['kim key', 'lee key']);
    // Paging follows the cursor.
    const firstPage = (await gw.execute(ApiKeys, { first: 1 }, { token: admin })).data!.apiKeys;
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const secondPage = (await gw.execute(ApiKeys, { first: 1, after: firstPage.pageInfo.endCursor }, { token: admin })).data!.apiKeys;
    expect(secondPage.edges.map((e) => e.node.id)).not.toEqual(firstPage.edges.map((e) => e.node.id));

    expect((await gw.execute(RevokeApiKey, { id: leeKey }, { token: kim })).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND' });
    const own = await gw.execute(RevokeApiKey, { id: kimKey }, { token: kim });
    expect(own.data?.revokeApiKey.revokedAt).toBeTruthy();
    const byAdmin = await gw.execute(RevokeApiKey, { id: leeKey }, { token: admin });
    expect(byAdmin.data?.revokeApiKey.revokedAt).toBeTruthy();
    // Revoking twice keeps the first time and writes one audit entry.
    expect((await gw.execute(RevokeApiKey, { id: leeKey }, { token: admin })).data?.revokeApiKey.revokedAt).toBe(byAdmin.data?.revokeApiKey.revokedAt);
    const entries = await gw.db.prisma.auditEntry.findMany({ where: { workspaceId: workspace.id, action: 'API_KEY_REVOKED' } });
    expect(entries.map((e) => e.targetId).sort()).toEqual([kimKey, leeKey].sort());
  });
});

describe('calling with a gateway API key', () => {
  const createKey = async (token: string, input: CreateApiKeyInput) => {
    const result = await gw.execute(CreateApiKey, { input }, { token });
    expect(result.errors).toBeUndefined();
    return result.data!.createApiKey;
  };

  it('acts as its creator over HTTP, graphql-ws, SSE and the CSV export, and a SERVICE key as a member of its own', async () => {
    const workspace = newWorkspace();
    const admin = await gw.token(workspace.claims('admin', 'ada'));
    const { secret } = await createKey(admin, { name: 'mine' });
    expect((await gw.execute(WhoAmI, {}, { token: secret })).data?.viewer).toEqual({ userId: 'ada', workspaceId: workspace.id, role: 'ADMIN' });
    const overWs = (await first(gw.ws(secret).iterate({ query: '{ viewer { userId role } }' }))) as { data?: unknown };
    expect(overWs.data).toEqual({ viewer: { userId: 'ada', role: 'ADMIN' } });
    const overSse = (await first(gw.sse(secret).iterate({ query: '{ viewer { userId role } }' }))) as { data?: unknown };
    expect(overSse.data).toEqual({ viewer: { userId: 'ada', role: 'ADMIN' } });
    const csv = await fetch(`${gw.url}/export/usage.csv?from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z`, { headers: { authorization: `Bearer ${secret}` } });
    expect([csv.status, (await csv.text()).split('\r\n')[0]]).toEqual([200, expect.stringMatching(/^id,created_at,/)]);

    const service = await createKey(admin, { name: 'svc', principal: 'SERVICE' });
    const asService = (await gw.execute(WhoAmI, {}, { token: service.secret })).data?.viewer;
    expect(asService).toEqual({ userId: `apikey:${service.apiKey.id}`, workspaceId: workspace.id, role: 'MEMBER' });
    // No token may pass for it, and it owns no personal provider (no one could manage one once it is revoked).
    const posing = await gw.execute(WhoAmI, {}, { token: await gw.token(workspace.claims('admin', `apikey:${service.apiKey.id}`)) });
    expect(posing.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const personal = await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: 'sk-never-stored-0123456789', scope: 'PERSONAL' } }, { token: service.secret });
    expect(personal.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });

    const lastUsedAt = (await gw.db.prisma.apiKey.findUniqueOrThrow({ where: { id: service.apiKey.id } })).lastUsedAt;
    expect(lastUsedAt?.toISOString()).toBe(now.toISOString());
  });

  it("is managed with a token: a key creates and revokes no key, and never writes its creator's role back", async () => {
    const workspace = newWorkspace();
    const admin = await gw.token(workspace.claims('admin', 'ada'));
    const { secret, apiKey } = await createKey(admin, { name: 'limited', dailyTokenLimit: 1 });
    const minted = await gw.execute(CreateApiKey, { input: { name: 'unlimited' } }, { token: secret });
    expect(minted.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.execute(RevokeApiKey, { id: apiKey.id }, { token: secret })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await gw.db.prisma.apiKey.count({ where: { workspaceId: workspace.id } })).toBe(1);

    // Ada is demoted (her next token says member) while her key is kept on this instance as an admin's.
    expect((await gw.execute(WhoAmI, {}, { token: secret })).data?.viewer?.role).toBe('ADMIN');
    expect((await gw.execute(WhoAmI, {}, { token: await gw.token(workspace.claims('member', 'ada')) })).data?.viewer?.role).toBe('MEMBER');
    await gw.execute(WhoAmI, {}, { token: secret });
    const membership = await gw.db.prisma.member.findUniqueOrThrow({ where: { workspaceId_userId: { workspaceId: workspace.id, userId: 'ada' } } });
    expect(membership.role).toBe('MEMBER');
    now = new Date(now.getTime() + 5_000);
    expect((await gw.execute(WhoAmI, {}, { token: secret })).data?.viewer?.role).toBe('MEMBER');
  });

  it('refuses a wrong secret with a known prefix, a revoked key at once, and an expired key', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'kim'));
    const { secret, apiKey } = await createKey(token, { name: 'short-lived', expiresAt: new Date(now.getTime() + 3_600_000).toISOString() });
    const forged = apiKey.prefix + 'A'.repeat(secret.length - apiKey.prefix.length);
    const wrong = await gw.execute(WhoAmI, {}, { token: forged });
    expect(wrong.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expectNoSecret(JSON.stringify(wrong), secret.slice(apiKey.prefix.length));

    expect((await gw.execute(WhoAmI, {}, { token: secret })).data?.viewer?.userId).toBe('kim');
    now = new Date(now.getTime() + 3_600_000);
    expect((await gw.execute(WhoAmI, {}, { token: secret })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    const other = await createKey(token, { name: 'revoked' });
    expect((await gw.execute(WhoAmI, {}, { token: other.secret })).data?.viewer?.userId).toBe('kim');
    expect((await gw.execute(RevokeApiKey, { id: other.apiKey.id }, { token })).errors).toBeUndefined();
    expect((await gw.execute(WhoAmI, {}, { token: other.secret })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const overWs = await first(gw.ws(other.secret).iterate({ query: '{ viewer { userId } }' })).catch((error: unknown) => error);
    expect(JSON.stringify(overWs)).not.toContain('kim');
    expectNoSecret(gw.logs.join('\n'), other.secret.slice(other.apiKey.prefix.length));
  });

  it('is refused on a second instance sharing the database once revoked', async () => {
    const b = await startTestServer({}, { db: gw.db, clock: () => now });
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'kim'));
    const seen = await createKey(token, { name: 'seen by b' });
    const unseen = await createKey(token, { name: 'unseen by b' });
    expect((await b.execute(WhoAmI, {}, { token: seen.secret })).data?.viewer?.userId).toBe('kim');
    for (const key of [seen, unseen]) expect((await gw.execute(RevokeApiKey, { id: key.apiKey.id }, { token })).errors).toBeUndefined();
    // B never kept the unseen key: refused at once. The seen one B kept for at most a few seconds; with a shared
    // bus (Redis) the revocation reaches it at once, with separate in-memory buses its short cache runs out.
    expect((await b.execute(WhoAmI, {}, { token: unseen.secret })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    now = new Date(now.getTime() + 5_000);
    expect((await b.execute(WhoAmI, {}, { token: seen.secret })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('revoking a key ends what is open with it, at once', () => {
  const keyOf = async (token: string) => (await gw.execute(CreateApiKey, { input: { name: 'to revoke' } }, { token })).data!.createApiKey;
  const revoke = async (id: string, token: string) => expect((await gw.execute(RevokeApiKey, { id }, { token })).errors).toBeUndefined();

  it('closes a graphql-ws connection made with it with 4403, and ends an SSE subscription with an UNAUTHENTICATED event', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('member', 'kim'));
    const { secret, apiKey } = await keyOf(token);
    const socket = await openAcknowledgedSocket(gw.wsUrl, secret);
    const overWs = gw.nextSubscriber('usage:tick', workspace.id);
    socket.send({ id: '1', type: MessageType.Subscribe, payload: { query: print(UsageTicks) } });
    await overWs;
    const sseSubscribed = gw.nextSubscriber('usage:tick', workspace.id);
    const overSse = (async () => {
      const results: unknown[] = [];
      for await (const result of gw.sse(secret).iterate({ query: print(UsageTicks) })) results.push(result);
      return results;
    })();
    await sseSubscribed;
    await revoke(apiKey.id, token);
    expect(await socket.closed).toEqual({ code: 4403, reason: 'API key revoked' });
    expect(await overSse).toEqual([{ errors: [expect.objectContaining({ message: 'API key revoked', extensions: { code: 'UNAUTHENTICATED' } })] }]);
  });

  const cancelledRow = (workspaceId: string) =>
    eventually(async () => (await gw.db.prisma.usageEvent.findFirst({ where: { workspaceId, status: { not: 'RESERVED' } } })) ?? undefined);

  it('answers a GraphQL chat waiting over HTTP with UNAUTHENTICATED: the row is CANCELLED', async () => {
    const sim = await startSimulator();
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: 'hang=1' });
    const { secret, apiKey } = await keyOf(token);
    const answer = gw.execute(Chat, { input: { messages: userMessage() } }, { token: secret });
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST'));
    await revoke(apiKey.id, token);
    expect((await answer).errors).toEqual([expect.objectContaining({ message: 'API key revoked', extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    expect(await cancelledRow(workspace.id)).toMatchObject({ status: 'CANCELLED', streamed: false, apiKeyId: apiKey.id });
  });

  it('ends a chat streaming over the OpenAI door with an error event: the upstream call is aborted and the row is CANCELLED', async () => {
    const sim = await startSimulator();
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: 'slow=100&chunks=200&chunk-size=8' });
    const { secret, apiKey } = await keyOf(token);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Hello' }], stream: true });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    await revoke(apiKey.id, token);
    let more = 0;
    const drained = (async () => {
      while (!(await chunks.next()).done) more++;
    })();
    await expect(drained).rejects.toMatchObject({ message: expect.stringContaining('API key revoked') });
    expect(more).toBeLessThan(100);
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
    expect(await cancelledRow(workspace.id)).toMatchObject({ status: 'CANCELLED', streamed: true, apiKeyId: apiKey.id });
  });

  it('answers a call waiting on the Anthropic door with 401: the upstream call is aborted and the row is CANCELLED', async () => {
    const sim = await startSimulator();
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: 'hang=1' });
    const { secret, apiKey } = await keyOf(token);
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    const answer = anthropic.messages.create({ model: 'auto', max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] }).catch((error: unknown) => error);
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST'));
    await revoke(apiKey.id, token);
    expect(await answer).toMatchObject({ status: 401, error: { type: 'error', error: { type: 'authentication_error', message: 'API key revoked' } } });
    await eventually(() => sim.requests.find((r) => r.key === provider.key && r.method === 'POST' && r.closedByClient));
    expect(await cancelledRow(workspace.id)).toMatchObject({ status: 'CANCELLED', streamed: false, apiKeyId: apiKey.id });
  });
});
