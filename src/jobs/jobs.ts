// The periodic work of one app: the jobs one instance at a time runs (the scheduler's advisory locks), and
// the stored OpenRouter prices, which every instance reloads for itself.
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logging/logger.js';
import type { Services } from '../services.js';
import { createScheduler, type Job, type Scheduler } from './scheduler.js';
import { sweepReservationsJob } from './sweep-reservations.js';

const CATALOG_RELOAD_MS = 5 * 60_000;

export interface JobsDeps {
  config: Config;
  db: Database;
  services: Services;
  logger: Logger;
  clock?: () => Date;
  /** Ends the price reloads, and the key revalidation a run has under way. */
  shutdownSignal: AbortSignal;
}

export interface Jobs {
  scheduler: Scheduler;
  list: Job[];
  /** Loads the stored prices, then schedules the jobs. */
  start(): Promise<void>;
}

export function createJobs({ config, db, services, logger, clock, shutdownSignal }: JobsDeps): Jobs {
  const scheduler = createScheduler({ sql: db.sql, logger });
  const list: Job[] = [
    sweepReservationsJob(db.sql, { olderThanMs: config.reservationTimeoutMs, everyMs: config.sweepIntervalMs, clock: clock ?? (() => new Date()) }),
    { name: 'recheck-degraded-providers', everyMs: config.sweepIntervalMs, run: (itemFailed) => services.health.recheckDegraded(itemFailed) },
    { name: 'deliver-alerts', everyMs: config.alertDelivery.everyMs, run: (itemFailed) => services.alertDelivery.deliverDue(itemFailed) },
    { name: 'forecast-budgets', everyMs: config.budgetForecastIntervalMs, run: (itemFailed) => services.budgetForecast.raiseDue(itemFailed) },
    { name: 'revalidate-keys', everyMs: config.keyRevalidationIntervalMs, run: (itemFailed) => services.providers.revalidateAll(shutdownSignal, itemFailed) },
  ];

  // OpenRouter prices stored by any instance: read at start and every few minutes.
  const loadCatalog = () => services.openRouterSync.load().catch((error: unknown) => logger.warn({ err: error }, 'stored OpenRouter prices not loaded'));
  const catalogReload = setInterval(loadCatalog, CATALOG_RELOAD_MS);
  catalogReload.unref();
  shutdownSignal.addEventListener('abort', () => clearInterval(catalogReload));

  return {
    scheduler,
    list,
    start: async () => {
      await loadCatalog();
      scheduler.start(list);
    },
  };
}
