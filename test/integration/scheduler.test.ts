// The periodic jobs' scheduler on the embedded database (where an advisory lock
// cannot tell two runs of one process apart): a tick that comes while the job's
// own run is still going is skipped, so a slow run never overlaps the next.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/logging/logger.js';
import { disposeAll, openTestDatabase, testConfig } from '../testkit/server.js';

afterAll(disposeAll);

describe('the scheduler', () => {
  it("skips a job's tick while its previous run goes on", async () => {
    const db = await openTestDatabase(testConfig());
    const scheduler = createScheduler({ sql: db.sql, logger: createLogger('silent') });
    let running = 0;
    let most = 0;
    let runs = 0;
    scheduler.start([
      {
        name: 'slow',
        everyMs: 20,
        run: async () => {
          runs++;
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 150));
          running--;
          return {};
        },
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await scheduler.stop();
    await db.close();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(most).toBe(1);
  });
});

describe.skipIf(!process.env.DATABASE_URL)("a job's lock on Postgres", () => {
  it('is taken by one instance at a time; when its session ends mid-run, the run is told, another instance may take it, and the next run gets a new session', async () => {
    const [one, other] = await Promise.all([openTestDatabase(testConfig()), openTestDatabase(testConfig())]);
    const lines: Array<{ msg: string; job?: string }> = [];
    const scheduler = createScheduler({ sql: one.sql, logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }) });
    const name = `lock-test-${randomUUID()}`;
    const job = (run: () => Promise<void>) => ({ name, everyMs: 60_000, run: async () => (await run(), { done: true }) });

    let finish!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = scheduler.runOnce(job(() => (started(), new Promise<void>((resolve) => (finish = resolve)))));
    await running;
    // While it runs: this process's own second run and another instance are both refused.
    expect(await scheduler.runOnce(job(async () => undefined))).toBeUndefined();
    expect(await other.sql.exclusively(`job:${name}`, async () => 'ran')).toBeUndefined();

    const [{ pid }] = await other.sql.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::int = hashtext($1) AND pid <> pg_backend_pid()",
      [`job:${name}`],
    );
    await other.sql.query('SELECT pg_terminate_backend($1)', [pid]);
    await expect.poll(() => lines.map((line) => line.msg)).toContain("job's lock lost while it ran (its Postgres session ended): another instance may run it too");
    expect(lines.find((line) => line.msg.startsWith("job's lock lost"))?.job).toBe(name);
    expect(await other.sql.exclusively(`job:${name}`, async () => 'ran')).toBe('ran');

    finish();
    expect(await first).toEqual({ done: true });
    expect(await scheduler.runOnce(job(async () => undefined))).toEqual({ done: true });
    await Promise.all([one.close(), other.close()]);
  });
});
