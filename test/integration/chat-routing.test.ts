import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import { createRouteService, ROUTING_TTL_MS } from '../../src/modules/chat/route.service.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, streamOverWs, text, types, userMessage } from '../testkit/chat.js';
import { AuditLog, Chat, PreferencesQuery, RemoveAgentModelPreference, ResolveRoute, SetAgentModelPreference, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', CHAT_RETRY_BASE_MS: '5', CHAT_RETRY_MAX_DELAY_MS: '2000' }), startSimulator()]);
});
afterAll(disposeAll);

async function workspaceWith(scripts: Array<string | undefined>) {
  const workspace = newWorkspace();
  const token = await gw.token(workspace.claims('owner'));
  const providers = [];
  for (const [i, script] of scripts.entries()) providers.push(await addSimProvider(gw, sim, token, { script, priority: (i + 1) * 10, label: `P${i}` }));
  return { workspace, token, providers };
}

/** Chat calls the simulator received with this key (validation GETs left out). */
const chatCalls = (key: string) => sim.requests.filter((r) => r.key === key && r.method === 'POST');

const route = async (token: string, variables: { agent?: string; providerId?: string; model?: string } = {}) =>
  (await gw.execute(ResolveRoute, variables, { token })).data!.resolveRoute.candidates.map((c) => [c.providerId, c.reason, c.usable, c.skippedBecause]);

describe('routing changes are audited', () => {
  it('updatePreferences, setAgentModelPreference and removeAgentModelPreference each leave an entry with who, what and the values set', async () => {
    const token = await gw.token(newWorkspace().claims('owner', 'olga'));
    const { id: a } = await addSimProvider(gw, sim, token);
    expect(
      (await gw.execute(UpdatePreferences, { input: { defaultProviderId: a, workspaceDailyTokenLimit: 9_000, timezone: 'Europe/Berlin' } }, { token })).errors,
    ).toBeUndefined();
    expect((await gw.execute(SetAgentModelPreference, { input: { agentType: 'support', providerId: a, model: 'gpt-4o-mini' } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(RemoveAgentModelPreference, { agentType: 'support' }, { token })).data?.removeAgentModelPreference).toBe(true);
    // Removing what is not there changes nothing and records nothing.
    expect((await gw.execute(RemoveAgentModelPreference, { agentType: 'support' }, { token })).data?.removeAgentModelPreference).toBe(false);

    const log = await gw.execute(AuditLog, { first: 10 }, { token });
    const owner = 'olga';
    expect(
      log
        .data!.auditLog.edges.map((edge) => edge.node)
        .filter((entry) => !entry.action.startsWith('PROVIDER_'))
        .reverse(),
    ).toEqual([
      expect.objectContaining({ actorId: owner, action: 'PREFERENCES_UPDATED', data: { defaultProviderId: a, workspaceDailyTokenLimit: 9_000, timezone: 'Europe/Berlin' } }),
      expect.objectContaining({
        actorId: owner,
        action: 'AGENT_PREFERENCE_SET',
        data: { agentType: 'support', providerId: a, model: 'gpt-4o-mini', fallbackProviderId: null, fallbackModel: null, routingStrategy: null },
      }),
      expect.objectContaining({ actorId: owner, action: 'AGENT_PREFERENCE_REMOVED', data: { agentType: 'support' } }),
    ]);
  });
});

describe('routing', () => {
  it('resolveRoute marks a provider whose daily limit or budget is spent, and every one when the workspace is, as a chat would meet them', async () => {
    const { token, providers } = await workspaceWith([undefined, undefined, undefined]);
    const [a, b, c] = providers.map((p) => p.id);
    expect((await gw.execute(Chat, { input: { messages: userMessage(), providerId: c, maxTokens: 100 } }, { token })).errors).toBeUndefined();
    // A's day leaves less than a useful answer; C has spent more than its new budget.
    expect((await gw.execute(UpdateProvider, { id: a, input: { dailyTokenLimit: 50 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(UpdateProvider, { id: c, input: { monthlyBudgetUsd: 0.000001 } }, { token })).errors).toBeUndefined();
    expect(await route(token)).toEqual([
      [a, 'highest priority (no default set)', false, 'its daily token limit is reached'],
      [b, 'auto-failover by priority', true, null],
      [c, 'auto-failover by priority', false, 'its monthly budget is reached'],
    ]);
    const answered = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(answered.data?.chat.providerId).toBe(b);

    expect((await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 1 } }, { token })).errors).toBeUndefined();
    const workspaceSpent = [false, "the workspace's daily token limit is reached"];
    expect((await route(token)).map(([, , usable, skipped]) => [usable, skipped])).toEqual([workspaceSpent, workspaceSpent, workspaceSpent]);
  });

  it('follows explicit → agent → default → priority, then the fallback chain, and chats agree with resolveRoute', async () => {
    const { token, providers } = await workspaceWith([undefined, undefined, undefined, undefined]);
    const [a, b, c, d] = providers.map((p) => p.id);

    expect(await route(token)).toEqual([
      [a, 'highest priority (no default set)', true, null],
      [b, 'auto-failover by priority', true, null],
      [c, 'auto-failover by priority', true, null],
      [d, 'auto-failover by priority', true, null],
    ]);
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).data?.chat.providerId).toBe(a);

    const prefs = await gw.execute(UpdatePreferences, { input: { defaultProviderId: c, defaultModel: 'gpt-4o', fallbackProviderId: d } }, { token });
    expect(prefs.errors).toBeUndefined();
    expect((await route(token)).slice(0, 3)).toEqual([
      [c, 'workspace default', true, null],
      [d, 'workspace fallback', true, null],
      [a, 'auto-failover by priority', true, null],
    ]);
    const viaDefault = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(viaDefault.data?.chat).toMatchObject({ providerId: c, model: 'gpt-4o', fellBack: false });

    await gw.execute(SetAgentModelPreference, { input: { agentType: 'coder', providerId: b, model: 'o3-mini', fallbackProviderId: a, fallbackModel: 'gpt-4o-mini' } }, { token });
    expect((await route(token, { agent: 'coder' })).slice(0, 3)).toEqual([
      [b, 'agent preference', true, null],
      [a, 'agent fallback', true, null],
      [d, 'workspace fallback', true, null],
    ]);
    expect((await gw.execute(Chat, { input: { messages: userMessage(), agent: 'coder' } }, { token })).data?.chat).toMatchObject({ providerId: b, model: 'o3-mini' });

    expect((await route(token, { agent: 'coder', providerId: d }))[0]).toEqual([d, 'explicit provider', true, null]);
    expect((await gw.execute(Chat, { input: { messages: userMessage(), agent: 'coder', providerId: d } }, { token })).data?.chat.providerId).toBe(d);

    expect((await gw.execute(RemoveAgentModelPreference, { agentType: 'coder' }, { token })).data?.removeAgentModelPreference).toBe(true);
    expect((await route(token, { agent: 'coder' }))[0]).toEqual([c, 'workspace default', true, null]);
  });

  it('skips INVALID and DISABLED providers with a reason, and a fallback answers', async () => {
    const { token, providers } = await workspaceWith([undefined, undefined, undefined]);
    const [a, b, c] = providers.map((p) => p.id);
    await gw.execute(UpdateProvider, { id: a, input: { disabled: true } }, { token });
    await gw.db.prisma.provider.update({ where: { id: b }, data: { status: 'INVALID' } });
    expect((await gw.execute(UpdatePreferences, { input: { defaultProviderId: c } }, { token })).errors).toBeUndefined();
    const candidates = await route(token, { providerId: a });
    expect(candidates).toEqual([
      [a, 'explicit provider', false, 'disabled'],
      [b, 'auto-failover by priority', false, 'INVALID key'],
      [c, 'auto-failover by priority', true, null],
    ]);
    const answered = await gw.execute(Chat, { input: { messages: userMessage(), providerId: a } }, { token });
    expect(answered.data?.chat).toMatchObject({ providerId: c, fellBack: true });
  });

  it('refuses preferences that name an unusable provider or a model it does not offer', async () => {
    const { workspace, token, providers } = await workspaceWith([undefined]);
    const member = await gw.token(workspace.claims('member'));
    const personal = await addSimProvider(gw, sim, member, { scope: 'PERSONAL' });
    const cases = [
      [{ defaultProviderId: providers[0].id, defaultModel: 'no-such-model' }, 'defaultModel'],
      [{ defaultModel: 'gpt-4o' }, 'defaultModel'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ quotaWarningThreshold: 1.5 }, 'quotaWarningThreshold'],
    ] as const;
    for (const [input, field] of cases) {
      expect((await gw.execute(UpdatePreferences, { input }, { token })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await gw.execute(UpdatePreferences, { input: { defaultProviderId: personal.id } }, { token })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.execute(UpdatePreferences, { input: { timezone: 'Europe/Berlin' } }, { token: member })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const stored = await gw.execute(PreferencesQuery, {}, { token: member });
    expect(stored.data?.preferences).toMatchObject({ defaultProviderId: null, timezone: 'UTC', autoFailover: true, agentPreferences: [] });
  });
});

describe('retries and fallback', () => {
  it('honours retry-after on a 429, then succeeds on the same provider; each attempt has its row', async () => {
    const { workspace, token, providers } = await workspaceWith(['fail=429x1&retry-after=1']);
    const started = Date.now();
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage() });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(types(chunks)).toEqual(['START', 'TEXT', 'USAGE', 'DONE']);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.providerId, r.status, r.errorCode])).toEqual([
      [providers[0].id, 'FAILED', 'UPSTREAM_RATE_LIMITED'],
      [providers[0].id, 'SUCCEEDED', null],
    ]);
    expect(rows[1].fallbackFromId).toBe(rows[0].id);
  });

  it('retries a 503 three times, then the fallback answers; its row points at the failed one', async () => {
    const { workspace, token, providers } = await workspaceWith(['status=503', undefined]);
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage() });
    expect(types(chunks)).toEqual(['START', 'START', 'TEXT', 'USAGE', 'DONE']);
    expect(chunks[1].providerId).toBe(providers[1].id);
    expect(chatCalls(providers[0].key)).toHaveLength(4);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => r.status)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED', 'SUCCEEDED']);
    expect(rows.slice(0, 4).every((r) => r.errorCode === 'PROVIDER_UNAVAILABLE')).toBe(true);
    expect(rows[4]).toMatchObject({ providerId: providers[1].id, fallbackFromId: rows[3].id });
  });

  it('ends with ERROR after a mid-stream failure that followed tokens, without retry or fallback', async () => {
    const { workspace, token, providers } = await workspaceWith(['midstream=error&chunks=6', undefined]);
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage() });
    expect(types(chunks)).toEqual(['START', 'TEXT', 'ERROR']);
    expect(chunks.at(-1)).toMatchObject({ errorCode: 'PROVIDER_UNAVAILABLE' });
    expect(text(chunks)).toHaveLength(24);
    expect(chatCalls(providers[0].key)).toHaveLength(1);
    expect(chatCalls(providers[1].key)).toHaveLength(0);
    const [row] = await gw.db.prisma.usageEvent.findMany({ where: { workspaceId: workspace.id } });
    expect(row).toMatchObject({ status: 'FAILED', errorCode: 'PROVIDER_UNAVAILABLE', usageSource: 'ESTIMATED', completionTokens: 6 });
  });

  it('does not retry a 400, and without fallback ends with its code', async () => {
    const { token, providers } = await workspaceWith(['status=400', undefined]);
    const { chunks } = await streamOverWs(gw, token, { messages: userMessage(), allowFallback: false });
    expect(types(chunks)).toEqual(['START', 'ERROR']);
    expect(chunks.at(-1)?.errorCode).toBe('BAD_USER_INPUT');
    expect(chatCalls(providers[0].key)).toHaveLength(1);
    expect(chatCalls(providers[1].key)).toHaveLength(0);
  });

  it('marks a provider INVALID on 401 and fails over at once', async () => {
    const { token, providers } = await workspaceWith(['status=401', undefined]);
    const result = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(result.data?.chat).toMatchObject({ providerId: providers[1].id, fellBack: true });
    expect(chatCalls(providers[0].key)).toHaveLength(1);
    const row = await eventually(async () => {
      const provider = await gw.db.prisma.provider.findUniqueOrThrow({ where: { id: providers[0].id } });
      return provider.status === 'INVALID' ? provider : undefined;
    });
    expect(row.lastError).toContain('rejected');
    expect((await route(token))[0]).toEqual([providers[1].id, 'highest priority (no default set)', true, null]);
  });

  it('turns exhausted retries into a GraphQL error for the non-streamed chat', async () => {
    const { token } = await workspaceWith(['status=429&retry-after=0']);
    const result = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(result.errors?.[0].extensions?.code).toBe('UPSTREAM_RATE_LIMITED');
  });
});

describe('the routing each instance keeps per workspace', () => {
  it('follows a change through the API at once, and one made past it (SQL by hand) once read again after ROUTING_TTL_MS', async () => {
    let now = new Date();
    const local = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }, { clock: () => now });
    const token = await local.token(newWorkspace().claims('owner'));
    const first = await addSimProvider(local, sim, token, { priority: 10 });
    const second = await addSimProvider(local, sim, token, { priority: 20 });
    const answered = async () => (await local.execute(Chat, { input: { messages: userMessage() } }, { token })).data?.chat.providerId;
    expect(await answered()).toBe(first.id);

    expect((await local.execute(UpdatePreferences, { input: { defaultProviderId: second.id } }, { token })).errors).toBeUndefined();
    expect(await answered()).toBe(second.id);

    await local.db.sql.query(`UPDATE providers SET status = 'DISABLED' WHERE id = $1::uuid`, [second.id]);
    expect(await answered()).toBe(second.id); // not seen yet: kept until it expires
    now = new Date(now.getTime() + ROUTING_TTL_MS);
    // Expired, the entry is read again while the chats of that moment go on with it: the next ones see the change.
    expect(await answered()).toBe(second.id);
    await eventually(async () => ((await answered()) === first.id ? true : undefined));
  });

  it('reads an expired entry again while its callers go on with it, and a failed re-read leaves it serving', async () => {
    let now = Date.now();
    let failNext = false;
    let reads = 0;
    const routes = createRouteService({
      sql: gw.db.sql,
      catalog: createCatalog(),
      healthWindowMs: 60_000,
      providers: {
        listRoutable: async () => {
          reads++;
          if (failNext) {
            failNext = false;
            throw new Error('the database is down');
          }
          return [];
        },
      },
      clock: () => new Date(now),
    });
    const workspace = newWorkspace().id;
    const first = routes.config(workspace);
    await first;
    now += ROUTING_TTL_MS;
    failNext = true;
    // Expired: the kept entry answers at once, and one read starts however many callers come meanwhile.
    expect(await Promise.all([routes.config(workspace), routes.config(workspace)])).toEqual([await first, await first]);
    expect(reads).toBe(2);
    await eventually(async () => (routes.config(workspace) === first && reads === 3 ? true : undefined));
    // The failed read left the entry serving; the read after it replaces it.
    await eventually(async () => (routes.config(workspace) !== first ? true : undefined));
    expect(reads).toBe(3);
  });

  it('keeps at most maxWorkspaces entries, dropping the oldest, and never keeps a failed read', async () => {
    const reads: string[] = [];
    let failNext = false;
    const routes = createRouteService({
      sql: gw.db.sql,
      catalog: createCatalog(),
      healthWindowMs: 60_000,
      // Counts the reads; the preferences and agent preferences are read from the database as usual.
      providers: {
        listRoutable: async (workspaceId) => {
          reads.push(workspaceId);
          if (failNext) {
            failNext = false;
            throw new Error('the database is down');
          }
          return [];
        },
      },
      clock: () => new Date(),
      maxWorkspaces: 2,
    });
    const [a, b, c] = [newWorkspace().id, newWorkspace().id, newWorkspace().id];
    await routes.config(a);
    await routes.config(b);
    await routes.config(a);
    expect(reads).toEqual([a, b]);
    await routes.config(c); // a was kept first: it goes
    await routes.config(b);
    expect(reads).toEqual([a, b, c]);
    await routes.config(a);
    expect(reads).toEqual([a, b, c, a]);

    routes.forget(a);
    failNext = true;
    await expect(routes.config(a)).rejects.toThrow('the database is down');
    expect((await routes.config(a)).providers).toEqual([]);
    expect(reads).toEqual([a, b, c, a, a, a]);
  });
});
