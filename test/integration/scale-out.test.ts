// Several instances on one Postgres and one Redis (CI's second phase): alerts
// reach admins on every instance once, and a job runs on one instance at a time.
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AlertsFeed, Chat, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
let a: TestServer;
let b: TestServer;
let sim: Simulator;
beforeAll(async () => {
  if (!shared) return;
  sim = await startSimulator();
  a = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' });
  b = await startTestServer(); // its own pool and its own Redis clients
});
afterAll(disposeAll);

describe.runIf(shared)('two instances', () => {
  it('an alert caused through instance A reaches an admin subscribed on instance B, once', async () => {
    const { workspace, token } = await newOwner(a);
    const provider = await addSimProvider(a, sim, token);
    expect((await a.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 110 } }, { token })).errors).toBeUndefined();
    const received: Array<{ kind: string }> = [];
    void (async () => {
      for await (const result of b.ws(await b.token(workspace.claims('admin'))).iterate({ query: print(AlertsFeed) })) received.push((result.data as { alerts: { kind: string } }).alerts);
    })();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the subscription reaches Redis
    // 10 prompt + 100 cap = 110 reserved: the first call reaches the limit; the next three are refused (the same alert).
    for (let i = 0; i < 4; i++) await a.execute(Chat, { input: { messages: userMessage(), maxTokens: 100 } }, { token });
    await eventually(() => (received.length ? received : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.map((alert) => alert.kind)).toEqual(['LIMIT_REACHED']);
  });

  it('a job runs on one instance at a time: the other skips that run', async () => {
    let running = 0;
    let overlapped = false;
    const job = {
      name: `test-job-${Date.now()}`,
      everyMs: 60_000,
      run: async () => {
        running++;
        overlapped ||= running > 1;
        await new Promise((resolve) => setTimeout(resolve, 300));
        running--;
        return { ran: true };
      },
    };
    const results = await Promise.all([a.app.jobs.scheduler.runOnce(job), b.app.jobs.scheduler.runOnce(job)]);
    expect(results.filter(Boolean)).toEqual([{ ran: true }]);
    expect(overlapped).toBe(false);
    expect(await b.app.jobs.scheduler.runOnce(job)).toEqual({ ran: true }); // the lock is released after the run
  });
});
