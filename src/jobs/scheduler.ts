// Periodic jobs that must run on one instance at a time: each run holds a
// Postgres advisory lock named after the job; an instance that does not get it
// skips that run. A job's tick while its own run is still going is skipped too
// (PGlite has no advisory locks to tell them apart). Stopping waits for a run in
// progress and starts no other.
import type { Sql } from '../db/sql.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { Logger } from '../logging/logger.js';

export interface Job {
  name: string;
  everyMs: number;
  /** Returns a short summary for the log; an item it could not handle goes to `itemFailed`, and the run goes on. */
  run(itemFailed: ItemFailed): Promise<Record<string, unknown>>;
}

/** Reports one item (a row, a provider) a job's run could not handle. */
export type ItemFailed = (item: string, error: unknown) => void;

/**
 * `step` for every item in turn, on past any that fails: it is reported and counted, and the next run tries
 * it again, so one bad row holds up no other. An unreachable database ends the run: no later item would fare
 * better. Resolves with the number that failed.
 */
export async function forEachItem<T>(items: Iterable<T>, name: (item: T) => string, step: (item: T) => Promise<void>, itemFailed: ItemFailed): Promise<number> {
  let failed = 0;
  for (const item of items) {
    try {
      await step(item);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      failed++;
      itemFailed(name(item), error);
    }
  }
  return failed;
}

export function createScheduler(deps: { sql: Sql; logger: Logger }) {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Map<string, Promise<unknown>>();
  let stopped = false;

  /** One run of `job`, if this instance gets its lock: the summary, or undefined when another instance has it. */
  async function runOnce(job: Job): Promise<Record<string, unknown> | undefined> {
    return deps.sql.exclusively(
      `job:${job.name}`,
      () => job.run((item, error) => deps.logger.error({ job: job.name, item, err: error }, 'job item failed')),
      () => deps.logger.warn({ job: job.name }, "job's lock lost while it ran (its Postgres session ended): another instance may run it too"),
    );
  }

  return {
    runOnce,

    start(jobs: Job[]): void {
      for (const job of jobs) {
        const timer = setInterval(() => {
          if (stopped || running.has(job.name)) return;
          const run = runOnce(job)
            .then((summary) => summary && deps.logger.info({ job: job.name, ...summary }, 'job ran'))
            .catch((error: unknown) =>
              isDatabaseUnavailable(error)
                ? deps.logger.warn({ job: job.name, code: (error as { code?: unknown }).code }, 'job skipped: database unavailable')
                : deps.logger.error({ job: job.name, err: error }, 'job failed'),
            )
            .finally(() => running.delete(job.name));
          running.set(job.name, run);
        }, job.everyMs);
        timer.unref();
        timers.add(timer);
      }
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      await Promise.all(running.values());
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
