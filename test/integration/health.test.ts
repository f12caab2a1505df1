// Provider health from the ledger: a refused key makes a provider INVALID at
// once, a high error share DEGRADED, and both come back; each transition
// raises one alert, and routing avoids unhealthy providers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { subscribeAlerts } from '../testkit/alerts.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AlertList, Chat, ProviderHealth, TestProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { insertLedgerRows, type LedgerRow } from '../testkit/usage.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  // No retries: every failed attempt is one failed call in the window.
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', CHAT_MAX_RETRIES: '0', HEALTH_MIN_CALLS: '10' }), startSimulator()]);
});
afterAll(disposeAll);

const chat = (token: string) => gw.execute(Chat, { input: { messages: userMessage() } }, { token });
const alertKinds = async (token: string) => (await gw.execute(AlertList, { first: 50 }, { token })).data!.alerts.edges.map((e) => [e.node.kind, e.node.providerId]);
const health = async (id: string, token: string) => (await gw.execute(ProviderHealth, { id }, { token })).data!.provider!.health;
const recentRows = (providerId: string, count: number, overrides: Partial<LedgerRow> = {}): LedgerRow[] =>
  Array.from({ length: count }, () => ({
    createdAt: new Date(),
    providerId,
    model: 'gpt-4o-mini',
    agent: null,
    operation: null,
    userId: 'u',
    status: 'SUCCEEDED',
    promptTokens: 5,
    completionTokens: 5,
    costMicros: 1n,
    durationMs: 200,
    ...overrides,
  }));

describe('provider health', () => {
  it('a refused key (401 during a chat) makes the provider INVALID with one alert, routing skips it, and a successful test restores it', async () => {
    const { token } = await newOwner(gw);
    // The simulator refuses this key on the first request of each path (the first chat, the first key test).
    const flaky = await addSimProvider(gw, sim, token, { script: 'fail=401x1', priority: 1 });
    const spare = await addSimProvider(gw, sim, token, { priority: 2 });
    const first = await chat(token);
    expect(first.data!.chat).toMatchObject({ providerId: spare.id, fellBack: true });
    expect((await health(flaky.id, token)).status).toBe('INVALID');
    expect(await alertKinds(token)).toEqual([['PROVIDER_INVALID', flaky.id]]);

    const sent = () => sim.requests.filter((r) => r.key === flaky.key && r.method === 'POST').length;
    const before = sent();
    expect((await chat(token)).data!.chat.providerId).toBe(spare.id);
    expect(sent()).toBe(before); // skipped, not tried

    // The simulator refuses the first request on each path, so the first test is refused too: still INVALID, no second alert.
    expect((await gw.execute(TestProvider, { id: flaky.id }, { token })).data!.testProvider).toMatchObject({ ok: false, errorCode: 'INVALID_CREDENTIALS' });
    expect(await alertKinds(token)).toEqual([['PROVIDER_INVALID', flaky.id]]);
    expect((await gw.execute(TestProvider, { id: flaky.id }, { token })).data!.testProvider.ok).toBe(true);
    expect((await health(flaky.id, token)).status).toBe('ACTIVE');
    expect(await alertKinds(token)).toEqual([
      ['PROVIDER_RECOVERED', flaky.id],
      ['PROVIDER_INVALID', flaky.id],
    ]);
    expect((await chat(token)).data!.chat.providerId).toBe(flaky.id);
  });

  it("a member's personal provider turning INVALID reaches that member on the alerts subscription, and no other member", async () => {
    const workspace = newWorkspace();
    const kim = workspace.claims('member', 'kim');
    const kimToken = await gw.token(kim);
    const kims = await addSimProvider(gw, sim, kimToken, { kind: 'ANTHROPIC', scope: 'PERSONAL' });
    // One after another: each waits until its own subscription listens.
    const kimFeed = await subscribeAlerts(gw, kim);
    const leeFeed = await subscribeAlerts(gw, workspace.claims('member', 'lee'));
    const adminFeed = await subscribeAlerts(gw, workspace.claims('admin'));
    // The key is refused from now on (the simulator's Anthropic protocol answers 401), as when its owner revokes it upstream.
    sim.setOutage('anthropic', 401);
    try {
      expect((await chat(kimToken)).errors?.[0].extensions?.code).toBe('INVALID_CREDENTIALS');
    } finally {
      sim.setOutage('anthropic');
    }
    await eventually(async () => (kimFeed.length > 0 && adminFeed.length > 0) || undefined);
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for a wrong delivery to arrive
    expect(kimFeed).toEqual([expect.objectContaining({ kind: 'PROVIDER_INVALID', providerId: kims.id })]);
    expect(adminFeed).toEqual(kimFeed);
    expect(leeFeed).toEqual([]);
  });

  it('5 failures in 10 calls make it DEGRADED with one alert; when the share falls under the threshold it RECOVERS', async () => {
    const { token, workspace } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { script: 'fail=500x5' });
    await insertLedgerRows(gw.db, workspace.id, recentRows(provider.id, 5)); // five good calls already in the window
    for (let i = 0; i < 5; i++) expect((await chat(token)).errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    const degraded = await health(provider.id, token);
    expect(degraded).toMatchObject({ status: 'DEGRADED', errorRate: 0.5, requestsInWindow: 10 });
    expect(degraded.latencyP50Ms).toEqual(expect.any(Number));
    expect(degraded.lastError).toContain('500');
    expect(await alertKinds(token)).toEqual([['PROVIDER_DEGRADED', provider.id]]);

    // The only provider: still used while DEGRADED. One more good call: 5 of 11 failed, under 50%.
    expect((await chat(token)).errors).toBeUndefined();
    expect((await health(provider.id, token)).status).toBe('ACTIVE');
    expect(await alertKinds(token)).toEqual([
      ['PROVIDER_RECOVERED', provider.id],
      ['PROVIDER_DEGRADED', provider.id],
    ]);
  });

  it('a DEGRADED provider is passed over while a healthy one can answer', async () => {
    const { token, workspace } = await newOwner(gw);
    const sick = await addSimProvider(gw, sim, token, { priority: 1, script: 'fail=500x5' });
    const healthy = await addSimProvider(gw, sim, token, { priority: 2 });
    await insertLedgerRows(gw.db, workspace.id, [...recentRows(sick.id, 5), ...recentRows(sick.id, 4, { status: 'FAILED', errorCode: 'PROVIDER_UNAVAILABLE' })]);
    expect((await chat(token)).data!.chat).toMatchObject({ providerId: healthy.id, fellBack: true }); // the 10th call fails over, and degrades `sick`
    expect((await health(sick.id, token)).status).toBe('DEGRADED');
    const tried = sim.requests.filter((r) => r.key === sick.key && r.method === 'POST').length;
    expect((await chat(token)).data!.chat.providerId).toBe(healthy.id);
    expect(sim.requests.filter((r) => r.key === sick.key && r.method === 'POST').length).toBe(tried);
  });

  it('upstream rate limits (429) are counted apart: they do not make a provider DEGRADED', async () => {
    const { token, workspace } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    await insertLedgerRows(gw.db, workspace.id, [...recentRows(provider.id, 2), ...recentRows(provider.id, 10, { status: 'FAILED', errorCode: 'UPSTREAM_RATE_LIMITED' })]);
    expect(await health(provider.id, token)).toMatchObject({ status: 'ACTIVE', errorRate: 0, requestsInWindow: 12 });
  });

  // The job validates every key in the database: on CI's shared Postgres that would include other test files' keys
  // (other master keys, scripted failures), so it runs on the embedded database, which is this server's own.
  it.skipIf(Boolean(process.env.DATABASE_URL))('the daily re-validation makes a refused key INVALID and restores it once it works, with one alert each', async () => {
    const { token } = await newOwner(gw);
    // Stored without validation; the simulator refuses its first model listing only.
    const provider = await addSimProvider(gw, sim, token, { script: 'fail=401x1' });
    const revalidate = gw.app.jobs.list.find((job) => job.name === 'revalidate-keys')!;
    expect(await gw.app.jobs.scheduler.runOnce(revalidate)).toMatchObject({ refused: expect.any(Number) });
    expect((await health(provider.id, token)).status).toBe('INVALID');
    await gw.app.jobs.scheduler.runOnce(revalidate);
    expect((await health(provider.id, token)).status).toBe('ACTIVE');
    expect(await alertKinds(token)).toEqual([
      ['PROVIDER_RECOVERED', provider.id],
      ['PROVIDER_INVALID', provider.id],
    ]);
  });
});
