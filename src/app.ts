// buildApp(): the HTTP server, Yoga (HTTP and SSE) and graphql-ws on one port,
// sharing one plugin pipeline and one context. It does not listen until start().
import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenVerifier } from './auth/jwt.js';
import { listenToBus } from './bus-listeners.js';
import type { Config } from './config.js';
import { createContextFactory } from './context.js';
import type { Database } from './db/client.js';
import { createOperationQuota } from './graphql/operation-quota.js';
import { attachWebSocketGraphQL } from './graphql/websocket.js';
import { buildYoga } from './graphql/yoga.js';
import { createRouter } from './http/router.js';
import { createJobs } from './jobs/jobs.js';
import type { Job, Scheduler } from './jobs/scheduler.js';
import type { Logger } from './logging/logger.js';
import type { PubSubBus } from './pubsub/pubsub.js';
import { createServices, type Services } from './services.js';

export interface AppDeps {
  config: Config;
  db: Database;
  bus: PubSubBus;
  logger: Logger;
  clock?: () => Date;
}

export interface App {
  services: Services;
  /** Listens on config.port (0: any free port) and resolves with the base URL. */
  start(): Promise<{ url: string; port: number }>;
  /** The periodic jobs (one instance runs each run), and a way to run one now. */
  jobs: { scheduler: Scheduler; list: Job[] };
  /** Graceful: stop accepting, complete subscriptions, close sockets with 1001, drain. The caller closes what it opened (database, bus). */
  stop(): Promise<void>;
}

export function buildApp({ config, db, bus, logger, clock }: AppDeps): App {
  const services = createServices({ config, db, bus, logger, clock });
  const shutdown = new AbortController();
  // Every open request and stream follows it: one listener per call in flight, not a leak (Node warns past 10).
  setMaxListeners(0, shutdown.signal);
  const authenticate = createAuthenticate({ verifyToken: createTokenVerifier(config.jwt), viewers: services.viewers, apiKeys: services.apiKeyAuthenticator });
  // One user's SSE subscriptions and graphql-ws operations count against the same bound.
  const operationQuota = createOperationQuota(config.maxOperationsPerUser);
  listenToBus(bus, services, shutdown.signal);

  const context = createContextFactory({ authenticate, services, shutdownSignal: shutdown.signal });
  const yoga = buildYoga({ config, services, logger, context, operationQuota });
  const server = createServer(createRouter({ config, db, bus, services, logger, authenticate, yoga, operationQuota, shutdownSignal: shutdown.signal }));
  const webSockets = attachWebSocketGraphQL(server, { config, yoga, authenticate, operationQuota, metrics: services.metrics, apiKeyUses: services.apiKeyUses });
  const jobs = createJobs({ config, db, services, logger, clock, shutdownSignal: shutdown.signal });

  let stopping: Promise<void> | undefined;

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Subscriptions end on their own (graphql-ws sends `complete`, SSE its complete event)...
      shutdown.abort();
      webSockets.endOperations();
      await jobs.scheduler.stop();
      await webSockets.subscriptionsEnded(1_000);
      // ...then sockets close with 1001 Going Away, and in-flight requests get a bounded time to finish.
      await webSockets.dispose();
      const timedOut = await Promise.race([drained.then(() => false), sleep(config.shutdownTimeoutMs, true, { ref: false })]);
      if (timedOut) {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
        server.closeAllConnections();
      }
    })();
    return stopping;
  }

  return {
    services,
    jobs: { scheduler: jobs.scheduler, list: jobs.list },
    start: async () => {
      await jobs.start();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          resolve({ url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`, port });
        });
      });
    },
    stop,
  };
}
