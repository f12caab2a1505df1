// The periodic jobs' scheduler on the embedded database (where an advisory lock
// cannot tell two runs of one process apart): a tick that comes while the job's
// own run is still going is skipped, so a slow run never overlaps the next.
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
