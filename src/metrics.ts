// Prometheus metrics of one app, on a registry of its own (several apps can
// share a process in tests). Labels are bounded and never carry a key, user
// text or a workspace's secret: provider kind, model name, status, error code,
// limit and alert kind. A model name is what the caller asked for: only names
// the catalog lists become label values, every other one is "other", so no
// caller can grow the scrape without bound.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderKind } from './generated/prisma/enums.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/** The label of every model the catalog does not list. */
const UNLISTED_MODEL = 'other';

export function createMetrics(catalog: { has(kind: ProviderKind, model: string): boolean }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const upstreamDuration = new Histogram({
    name: 'gateway_upstream_duration_seconds',
    help: 'Upstream call duration by provider kind, model and outcome',
    labelNames: ['kind', 'model', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const timeToFirstToken = new Histogram({
    name: 'gateway_time_to_first_token_seconds',
    help: 'Time from the upstream request to its first text',
    labelNames: ['kind', 'model'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'gateway_tokens_total',
    help: 'Tokens by provider kind, model and direction',
    labelNames: ['kind', 'model', 'direction'],
    registers: [registry],
  });
  const errors = new Counter({ name: 'gateway_errors_total', help: 'Errors returned to clients by code', labelNames: ['code'], registers: [registry] });
  const refused = new Counter({
    name: 'gateway_reservations_refused_total',
    help: 'Calls refused by a limit or budget before any upstream request',
    labelNames: ['limit'],
    registers: [registry],
  });
  const alerts = new Counter({ name: 'gateway_alerts_raised_total', help: 'Alerts raised (after deduplication)', labelNames: ['kind'], registers: [registry] });
  let openSubscriptions = () => 0;
  new Gauge({
    name: 'gateway_open_subscriptions',
    help: 'Open GraphQL subscriptions on this instance (graphql-ws)',
    registers: [registry],
    collect() {
      this.set(openSubscriptions());
    },
  });

  let busConnected = () => true;
  new Gauge({
    name: 'gateway_pubsub_connected',
    help: '1 while the event bus between instances works; 0 while a connection to Redis is lost (alerts are filled from the database when it is back)',
    registers: [registry],
    collect() {
      this.set(busConnected() ? 1 : 0);
    },
  });

  return {
    registry,
    callFinished(call: { kind: ProviderKind; model: string; status: string; durationMs: number; ttftMs: number | null; promptTokens: number; completionTokens: number }) {
      const model = catalog.has(call.kind, call.model) ? call.model : UNLISTED_MODEL;
      upstreamDuration.observe({ kind: call.kind, model, status: call.status }, call.durationMs / 1000);
      if (call.ttftMs !== null) timeToFirstToken.observe({ kind: call.kind, model }, call.ttftMs / 1000);
      tokens.inc({ kind: call.kind, model, direction: 'prompt' }, call.promptTokens);
      tokens.inc({ kind: call.kind, model, direction: 'completion' }, call.completionTokens);
    },
    errorReturned: (code: string) => errors.inc({ code }),
    reservationRefused: (limit: string) => refused.inc({ limit }),
    alertRaised: (kind: string) => alerts.inc({ kind }),
    /** The gauge asks this when scraped. */
    countSubscriptions(count: () => number) {
      openSubscriptions = count;
    },
    /** The gauge asks this when scraped. */
    watchBus(connected: () => boolean) {
      busConnected = connected;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
