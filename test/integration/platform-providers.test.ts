import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, DeleteProvider, Providers, ResolveRoute, TestProvider, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, expectNoSecret, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const PLATFORM_KEY = 'sk-platform-0123456789abcdef0123456789';
let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
  gw = await startTestServer({
    PLATFORM_PROVIDERS: JSON.stringify([{ kind: 'OPENAI', apiKey: PLATFORM_KEY, baseUrl: sim.baseUrls.openai, label: 'House OpenAI' }]),
    PLATFORM_MONTHLY_REQUESTS: '2',
  });
});
afterAll(disposeAll);

const ProvidersHealth = graphql(`
  query ProvidersHealth {
    providers { id scope health { requestsInWindow errorRate latencyP50Ms lastCheckedAt } }
  }
`);

describe('platform providers', () => {
  it('serve workspaces without keys, read-only and keyless to them, up to the monthly cap per workspace', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const outputs: string[] = [];
    const listed = await gw.execute(Providers, {}, { token });
    outputs.push(JSON.stringify(listed));
    expect(listed.data?.providers).toEqual([expect.objectContaining({ kind: 'OPENAI', label: 'House OpenAI', scope: 'PLATFORM', maskedKey: '••••' })]);
    const platformId = listed.data!.providers[0].id;

    const route = await gw.execute(ResolveRoute, {}, { token });
    expect(route.data?.resolveRoute.candidates[0]).toMatchObject({ providerId: platformId, reason: 'platform default', usable: true });

    for (let i = 0; i < 2; i++) {
      const answered = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
      outputs.push(JSON.stringify(answered));
      expect(answered.data?.chat.providerId).toBe(platformId);
    }
    const capped = await gw.execute(Chat, { input: { messages: userMessage() } }, { token });
    expect(capped.errors?.[0].extensions?.code).toBe('LIMIT_EXCEEDED');
    // The operator's quota, not one of the workspace's limits: its error names none (those of the four limits do).
    expect(capped.errors?.[0].extensions).not.toHaveProperty('limit');
    expect(capped.errors?.[0].message).toContain('add a provider key of your own');
    // The refused call wrote no ledger row.
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id } })).toBe(2);

    // Another workspace has its own allowance.
    const other = await gw.token(newWorkspace().claims('member'));
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token: other })).data?.chat.providerId).toBe(platformId);

    for (const mutation of [
      gw.execute(UpdateProvider, { id: platformId, input: { label: 'mine now' } }, { token }),
      gw.execute(TestProvider, { id: platformId }, { token }),
      gw.execute(DeleteProvider, { id: platformId }, { token }),
    ]) {
      const result = await mutation;
      outputs.push(JSON.stringify(result));
      expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expectNoSecret([...outputs, ...gw.logs].join('\n'), PLATFORM_KEY);
  });

  it("come after the workspace's own providers, and a workspace may name one as its default", async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const own = await addSimProvider(gw, sim, token);
    const candidates = (await gw.execute(ResolveRoute, {}, { token })).data!.resolveRoute.candidates;
    expect(candidates.map((c) => c.reason)).toEqual(['highest priority (no default set)', 'auto-failover by priority']);
    expect(candidates[0].providerId).toBe(own.id);
    const platformId = candidates[1].providerId;
    expect((await gw.execute(UpdatePreferences, { input: { defaultProviderId: platformId } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(ResolveRoute, {}, { token })).data?.resolveRoute.candidates[0]).toMatchObject({ providerId: platformId, reason: 'workspace default' });
  });

  it("show each workspace the health of its own calls through them, never another workspace's", async () => {
    const [busy, quiet, idle] = await Promise.all([1, 2, 3].map(() => gw.token(newWorkspace().claims('owner'))));
    for (const token of [busy, busy, quiet]) expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors).toBeUndefined();
    const health = async (token: string) => {
      const result = await gw.execute(ProvidersHealth, {}, { token });
      expect(result.errors).toBeUndefined();
      return result.data!.providers.find((p) => p.scope === 'PLATFORM')!.health;
    };
    expect(await health(busy)).toMatchObject({ requestsInWindow: 2, errorRate: 0, latencyP50Ms: expect.any(Number), lastCheckedAt: expect.any(String) });
    expect(await health(quiet)).toMatchObject({ requestsInWindow: 1, errorRate: 0, latencyP50Ms: expect.any(Number), lastCheckedAt: expect.any(String) });
    expect(await health(idle)).toEqual({ requestsInWindow: 0, errorRate: 0, latencyP50Ms: null, lastCheckedAt: null });
  });
});
