// The periodic jobs' scheduler on the embedded database (where an advisory lock
// cannot tell two runs of one process apart): a tick that comes while the job's
// own run is still going is skipped, so a slow run never overlaps the next.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
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
    /** A run of the job that holds its lock until `finish` is called; resolves once it runs. */
    const heldRun = async () => {
      let finish!: () => void;
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const result = scheduler.runOnce(job(() => (started(), new Promise<void>((resolve) => (finish = resolve)))));
      await running;
      return { result, finish };
    };

    const first = await heldRun();
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

    // This process takes it again (a new session) while the run that lost it goes on; that run's end gives back nothing of it.
    const again = await heldRun();
    first.finish();
    expect(await first.result).toEqual({ done: true });
    expect(await scheduler.runOnce(job(async () => undefined))).toBeUndefined();
    expect(await other.sql.exclusively(`job:${name}`, async () => 'ran')).toBeUndefined();
    again.finish();
    expect(await again.result).toEqual({ done: true });
    expect(await scheduler.runOnce(job(async () => undefined))).toEqual({ done: true });
    await Promise.all([one.close(), other.close()]);
  });

  it('closing the database while its lock session is still connecting ends the runs waiting on it at once', async () => {
    const db = await openTestDatabase(testConfig());
    const started = performance.now();
    const runs = Array.from({ length: 5 }, (_, i) => db.sql.exclusively(`lock-test-${randomUUID()}-${i}`, async () => 'ran').catch((error: unknown) => error));
    await db.close();
    const settled = await Promise.all(runs);
    expect(performance.now() - started).toBeLessThan(2_000);
    for (const result of settled) expect(isDatabaseUnavailable(result), String(result)).toBe(true);
  });

  it('is not held up by a session that stops answering: the run fails as the database being unreachable, and the next one opens another session', async () => {
    // A proxy in front of Postgres that, when told, drops what its open connections carry (no FIN, no RST): a vanished host.
    const server = new URL(process.env.DATABASE_URL!);
    const pairs: Array<{ dead: boolean }> = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(server.port || 5432), server.hostname);
      const pair = { dead: false };
      pairs.push(pair);
      client.on('data', (data) => pair.dead || upstream.write(data));
      upstream.on('data', (data) => pair.dead || client.write(data));
      for (const socket of [client, upstream]) socket.on('error', () => undefined);
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const through = new URL(server.href);
    through.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const db = await openTestDatabase(testConfig({ DATABASE_URL: through.href }));
    const scheduler = createScheduler({ sql: db.sql, logger: createLogger('silent') });
    const job = { name: `lock-test-${randomUUID()}`, everyMs: 60_000, run: async () => ({ done: true }) };
    expect(await scheduler.runOnce(job)).toEqual({ done: true });

    for (const pair of pairs) pair.dead = true;
    const started = performance.now();
    const failure = await scheduler.runOnce(job).catch((error: unknown) => error);
    expect(isDatabaseUnavailable(failure), String(failure)).toBe(true);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await scheduler.runOnce(job)).toEqual({ done: true });

    await db.close();
    await new Promise((resolve) => proxy.close(resolve));
  }, 30_000);
});
