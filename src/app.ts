// buildApp(): the HTTP server, Yoga (HTTP and SSE) and graphql-ws on one port,
// sharing one plugin pipeline and one context. It does not listen until start().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLError } from 'graphql';
import { createYoga, useErrorHandler } from 'graphql-yoga';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { createScheduler, type Job, type Scheduler } from './jobs/scheduler.js';
import { sweepReservationsJob } from './jobs/sweep-reservations.js';
import { CONSOLE_PATH, serveConsole } from './console/serve.js';
import { exportUsageCsv } from './modules/usage/csv-export.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenVerifier } from './auth/jwt.js';
import type { Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import { createContextFactory, type WebSocketInitialContext } from './context.js';
import type { Database } from './db/client.js';
import { isDatabaseUnavailable } from './db/unavailable.js';
import { AppError } from './errors.js';
import { isGraphQLError, maskError } from './graphql/errors.js';
import { operationLimitPlugins } from './graphql/operation-limits.js';
import { createOperationQuota, sseOperationQuotaPlugin, tooManyOperations } from './graphql/operation-quota.js';
import { requestErrorsPlugin } from './graphql/request-errors.js';
import { schema } from './graphql/schema.js';
import { delayUntil, tokenExpiryPlugin } from './graphql/token-expiry.js';
import type { Logger } from './logging/logger.js';
import type { PubSubBus } from './pubsub/pubsub.js';
import { untilAborted } from './pubsub/until-aborted.js';
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

type WsExtra = Extra & { viewer?: Viewer; operations?: Map<string, AbortController> };

const GRAPHQL_PATH = '/graphql';
const CATALOG_RELOAD_MS = 5 * 60_000;
/**
 * Why a graphql-ws operation's signal aborts when it completes (the client's `complete`, or its end):
 * one shared reason, because abort() without one builds a DOMException, stack and all, every time.
 */
const OPERATION_COMPLETED = new DOMException('The operation completed', 'AbortError');

export function buildApp({ config, db, bus, logger, clock }: AppDeps): App {
  const operationQuota = createOperationQuota(config.maxOperationsPerUser);
  const services = createServices({ config, db, bus, logger, clock });
  const authenticate = createAuthenticate({ verifyToken: createTokenVerifier(config.jwt), viewers: services.viewers });
  const shutdown = new AbortController();

  // Deleting or disabling a provider (on any instance) ends this instance's live calls to it.
  void (async () => {
    for await (const { providerId } of untilAborted(bus.pubsub.subscribe('provider:removed'), shutdown.signal)) {
      services.liveStreams.endAll(providerId);
    }
  })();
  void (async () => {
    for await (const { workspaceId } of untilAborted(bus.pubsub.subscribe('routing:changed'), shutdown.signal)) services.routes.forget(workspaceId);
  })();

  const yoga = createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context: createContextFactory({ authenticate, services, shutdownSignal: shutdown.signal }),
    graphiql: config.production ? false : { subscriptionsProtocol: 'WS', title: 'BYOK gateway' },
    landingPage: false,
    // route() below refuses a body without a Content-Length or over the maximum before Yoga sees it, and
    // Node's parser reads no more than the Content-Length: Yoga's own limit (a TransformStream piped
    // through on every request) would count the same bytes again.
    maxRequestBodySize: false,
    cors: corsOptions(config.corsOrigins),
    maskedErrors: { maskError },
    // Yoga logs every error it masks; our error handler below logs the unexpected ones with their request id.
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => (isGraphQLError(args[0]) ? undefined : logger.error({ err: args[0] }, 'request failed')),
    },
    plugins: [
      ...operationLimitPlugins(config),
      requestErrorsPlugin({ suggest: !config.production }),
      tokenExpiryPlugin(),
      sseOperationQuotaPlugin(operationQuota),
      // Operation counts and durations; operation names are client text, so they are not labels. The
      // plugin's other metrics are off: per-phase timings of cached documents, a summary (quantiles on
      // every observation) and a walk of every document for deprecated fields cost more CPU a call than
      // they tell (about 0.1 ms together; errors are counted by gateway_errors_total).
      usePrometheus({
        registry: services.metrics.registry,
        endpoint: false,
        labels: { operationName: false, path: false },
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_request_time_summary: false,
          graphql_envelop_deprecated_field: false,
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_context: false,
          graphql_envelop_phase_execute: false,
          graphql_envelop_phase_subscribe: false,
          graphql_envelop_error_result: false,
          graphql_envelop_schema_change: false,
          graphql_yoga_http_duration: false,
        },
      }),
      useErrorHandler(({ errors, context }) => {
        const requestId = (context as { requestId?: string }).requestId;
        for (const error of errors) {
          const original = (error as GraphQLError).originalError;
          services.metrics.errorReturned(original instanceof AppError ? original.code : String((error as GraphQLError).extensions?.code ?? 'INTERNAL'));
          // Expected failures and malformed requests (a variable a scalar refused included) are the client's business, not the operator's.
          if (!original || original instanceof AppError || isGraphQLError(original)) continue;
          if (isDatabaseUnavailable(original)) logger.warn({ requestId, code: (original as { code?: unknown }).code }, 'database unavailable');
          else logger.error({ requestId, err: original }, 'operation failed');
        }
      }),
    ],
  });

  const server = createServer((req, res) => route(req, res));

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') {
      if (shutdown.signal.aborted) return sendJson(res, 503, { status: 'shutting down' });
      try {
        await db.ping();
        return sendJson(res, 200, { status: 'ready', database: db.embedded ? 'pglite' : 'postgres', pubsub: bus.transport });
      } catch {
        return sendJson(res, 503, { status: 'database unreachable' });
      }
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
      return void res.end(await services.metrics.registry.metrics());
    }
    if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) {
      return serveConsole(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'console file not served');
        if (!res.headersSent) sendJson(res, 500, { status: 'console file not served' });
      });
    }
    if (path === '/export/usage.csv') return exportUsageCsv(req, res, { authenticate, usage: services.usage, logger });
    const bodyProblem = requestBodyProblem(req, config.maxRequestBodyBytes);
    if (bodyProblem) return sendJson(res, bodyProblem.status, { errors: [{ message: bodyProblem.message, extensions: { code: 'BAD_USER_INPUT' } }] });
    return yoga.requestListener(req, res);
  }

  // Upgrades are handed over by hand: given the server itself, ws would re-emit its errors (a port in use) as
  // its own, and graphql-ws prints those with a stack as an internal error.
  const wsServer = new WebSocketServer({ noServer: true, path: GRAPHQL_PATH, maxPayload: config.wsMaxPayloadBytes });
  server.on('upgrade', (request, socket, head) => wsServer.handleUpgrade(request, socket, head, (ws) => wsServer.emit('connection', ws, request)));
  const wsClients = new Set<WsContext<Record<string, unknown>, WsExtra>>();
  services.metrics.countSubscriptions(() => [...wsClients].reduce((open, ctx) => open + Object.keys(ctx.subscriptions).length, 0));

  const wsHandle = useServer<Record<string, unknown>, { viewer: Viewer; operations: Map<string, AbortController> }>(
    {
      connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
      onConnect: async (ctx) => {
        // Refused with the reason (graphql-ws's own refusal only says "Forbidden"); any JSON may arrive here.
        const refuse = (reason: string) => (ctx.extra.socket.close(CloseCode.Forbidden, reason), false);
        const authorization = ctx.connectionParams?.authorization;
        const authentication = await authenticate(typeof authorization === 'string' ? authorization : undefined);
        if (!authentication.viewer) return refuse(authentication.refusal ?? 'connection_init must carry authorization: "Bearer <token>"');
        ctx.extra.viewer = authentication.viewer;
        endConnectionAtExpiry(ctx);
        wsClients.add(ctx);
        // Every operation of this socket ends with it (shutdown closes the sockets too).
        const operations = (ctx.extra.operations = new Map<string, AbortController>());
        ctx.extra.socket.once('close', () => {
          wsClients.delete(ctx);
          for (const operation of operations.values()) operation.abort();
          operations.clear();
        });
        return true;
      },
      onComplete: (ctx, id) => {
        ctx.extra.operations?.get(id)?.abort(OPERATION_COMPLETED);
        ctx.extra.operations?.delete(id);
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has already listed this operation: the bound counts it.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxOperationsPerConnection) {
          return [tooManyOperations('operationsPerConnection', config.wsMaxOperationsPerConnection)];
        }
        const operation = new AbortController();
        const initial: WebSocketInitialContext = { wsViewer: ctx.extra.viewer!, wsSignal: operation.signal };
        const { schema: enveloped, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...initial,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        // Whatever parse or validation throws fails this operation with an error message, never the socket (4500).
        let document;
        try {
          document = parse(payload.query);
          const errors = validate(enveloped, document);
          if (errors.length > 0) return errors.map((error: unknown) => maskError(error) as never);
        } catch (error) {
          return [maskError(error) as never];
        }
        const giveBack = operationQuota.take(ctx.extra.viewer!);
        if (!giveBack) return [tooManyOperations('operationsPerUser', operationQuota.max)];
        // Aborted when the operation completes, its socket closes or the server stops.
        operation.signal.addEventListener('abort', giveBack, { once: true });
        ctx.extra.operations?.set(id, operation);
        return {
          schema: enveloped,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
    },
    wsServer,
  );

  /** A token that expires while its socket is open ends the connection. */
  function endConnectionAtExpiry(ctx: WsContext<Record<string, unknown>, WsExtra>): void {
    const timer = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'Token expired'), delayUntil(ctx.extra.viewer!.expiresAt));
    ctx.extra.socket.once('close', () => clearTimeout(timer));
  }

  let stopping: Promise<void> | undefined;

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Subscriptions end on their own (graphql-ws sends `complete`, SSE its complete event)...
      shutdown.abort();
      for (const ctx of wsClients) for (const operation of ctx.extra.operations?.values() ?? []) operation.abort();
      await scheduler.stop();
      await waitUntil(() => [...wsClients].every((ctx) => Object.keys(ctx.subscriptions).length === 0), 1_000);
      // ...then sockets close with 1001 Going Away, and in-flight requests get a bounded time to finish.
      await wsHandle.dispose();
      const timedOut = await Promise.race([drained.then(() => false), delay(config.shutdownTimeoutMs).then(() => true)]);
      if (timedOut) {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing remaining connections');
        server.closeAllConnections();
      }
    })();
    return stopping;
  }

  const scheduler = createScheduler({ sql: db.sql, logger });
  const jobs: Job[] = [
    sweepReservationsJob(db.sql, { olderThanMs: config.reservationTimeoutMs, everyMs: config.sweepIntervalMs, clock: clock ?? (() => new Date()) }),
    { name: 'recheck-degraded-providers', everyMs: config.sweepIntervalMs, run: (itemFailed) => services.health.recheckDegraded(itemFailed) },
    { name: 'revalidate-keys', everyMs: config.keyRevalidationIntervalMs, run: (itemFailed) => services.providers.revalidateAll(shutdown.signal, itemFailed) },
  ];

  // OpenRouter prices stored by any instance: read at start and every few minutes.
  const loadCatalog = () => services.openRouterSync.load().catch((error: unknown) => logger.warn({ err: error }, 'stored OpenRouter prices not loaded'));
  const catalogReload = setInterval(loadCatalog, CATALOG_RELOAD_MS);
  catalogReload.unref();
  shutdown.signal.addEventListener('abort', () => clearInterval(catalogReload));

  return {
    services,
    jobs: { scheduler, list: jobs },
    start: async () => {
      await loadCatalog();
      scheduler.start(jobs);
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

function corsOptions(origins: string[]) {
  if (origins.length === 0) return false;
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'x-request-id'],
    credentials: false,
    maxAge: 600,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Bodies are bounded before anything reads them: a declared length over the bound, or no length at all. */
function requestBodyProblem(req: IncomingMessage, max: number): { status: number; message: string } | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'A Content-Length header is required' } : undefined;
  }
  if (Number(length) > max) return { status: 413, message: `Request body exceeds ${max} bytes` };
  return undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await delay(5);
}
