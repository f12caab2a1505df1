// Periodic jobs that must run on one instance at a time: each run happens in a
// transaction that first takes a Postgres advisory lock named after the job;
// an instance that does not get it skips that run. Stopping waits for a run in
// progress and starts no other.
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logging/logger.js';

export interface Job {
  name: string;
  everyMs: number;
  /** Runs inside the job's transaction; returns a short summary for the log. */
  run(sql: Sql): Promise<Record<string, unknown>>;
}

export function createScheduler(deps: { sql: Sql; logger: Logger }) {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  /** One run of `job`, if this instance gets its lock: the summary, or undefined when another instance has it. */
  async function runOnce(job: Job): Promise<Record<string, unknown> | undefined> {
    return deps.sql.transaction(async (tx) => {
      const [{ locked }] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [`job:${job.name}`]);
      if (!locked) return undefined;
      return job.run(tx);
    });
  }

  return {
    runOnce,

    start(jobs: Job[]): void {
      for (const job of jobs) {
        const timer = setInterval(() => {
          if (stopped) return;
          const run = runOnce(job)
            .then((summary) => summary && deps.logger.info({ job: job.name, ...summary }, 'job ran'))
            .catch((error: unknown) => deps.logger.error({ job: job.name, err: error }, 'job failed'))
            .finally(() => running.delete(run));
          running.add(run);
        }, job.everyMs);
        timer.unref();
        timers.add(timer);
      }
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      await Promise.all(running);
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
