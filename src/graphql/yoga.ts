// Yoga for HTTP and SSE, and the plugin pipeline graphql-ws shares through getEnveloped: operation limits,
// request errors, token expiry, the SSE operation quota, metrics, error masking and logging; CORS.

import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLError } from 'graphql';
import { createYoga, useErrorHandler } from 'graphql-yoga';
import type { Config } from '../config.js';
import type { ContextFactory } from '../context.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Services } from '../services.js';
import { isGraphQLError, maskError } from './errors.js';
import { operationLimitPlugins } from './operation-limits.js';
import { type OperationQuota, sseOperationQuotaPlugin } from './operation-quota.js';
import { requestErrorsPlugin } from './request-errors.js';
import { schema } from './schema.js';
import { tokenExpiryPlugin } from './token-expiry.js';

export const GRAPHQL_PATH = '/graphql';

export interface YogaDeps {
  config: Config;
  services: Services;
  logger: Logger;
  context: ContextFactory;
  /** Shared with the WebSocket server: one user's SSE subscriptions and graphql-ws operations count together. */
  operationQuota: OperationQuota;
}

export type Yoga = ReturnType<typeof buildYoga>;

export function buildYoga({ config, services, logger, context, operationQuota }: YogaDeps) {
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context,
    graphiql: config.production ? false : { subscriptionsProtocol: 'WS', title: 'BYOK gateway' },
    // GraphiQL's script, styles and editor workers come inlined in the page from our own dependency, not from a
    // CDN: a gateway without internet still shows it (yoga's default loads them from unpkg).
    renderGraphiQL,
    landingPage: false,
    // The HTTP router refuses a body without a Content-Length or over the maximum before Yoga sees it, and
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
