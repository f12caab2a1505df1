// The domain services of one app, built once with explicit dependencies.
import { createViewerRepository } from './auth/viewer.repository.js';
import { createViewerService } from './auth/viewer.service.js';
import type { Config } from './config.js';
import { parseKeyring } from './crypto/keyring.js';
import type { Database } from './db/client.js';
import type { Logger } from './logging/logger.js';
import { createMetrics } from './metrics.js';
import { createAlertChannelRepository } from './modules/alerts/alert-channel.repository.js';
import { createAlertChannelService } from './modules/alerts/alert-channel.service.js';
import { createAlertDelivery } from './modules/alerts/alert-delivery.js';
import { createAlertRepository } from './modules/alerts/alerts.repository.js';
import { createAlertService } from './modules/alerts/alerts.service.js';
import { createApiKeyRepository } from './modules/apikeys/api-key.repository.js';
import { createApiKeyService } from './modules/apikeys/api-key.service.js';
import { createApiKeyAuthenticator } from './modules/apikeys/api-key-authenticator.js';
import { createApiKeyRate } from './modules/apikeys/api-key-rate.js';
import { createSecretHasher } from './modules/apikeys/api-key-secret.js';
import { createApiKeyUses } from './modules/apikeys/api-key-uses.js';
import { createAuditRepository } from './modules/audit/audit.repository.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createCatalog } from './modules/catalog/catalog.js';
import { createOpenRouterSync } from './modules/catalog/openrouter-sync.js';
import { type ChatServiceDeps, createChatService } from './modules/chat/chat.service.js';
import { createCostEstimator } from './modules/chat/cost-estimate.js';
import { createEmbedService } from './modules/chat/embed.js';
import { createLiveStreams } from './modules/chat/live-streams.js';
import { createRouteService } from './modules/chat/route.service.js';
import { createSessionRepository } from './modules/chat/session.repository.js';
import { createSessionService } from './modules/chat/session.service.js';
import { createHealthRepository } from './modules/health/health.repository.js';
import { createHealthService } from './modules/health/health.service.js';
import { createBudgetForecast } from './modules/limits/budget-forecast.js';
import { createPlatformQuotaService } from './modules/limits/platform-quota.service.js';
import { createPreferencesRepository } from './modules/preferences/preferences.repository.js';
import { createPreferencesService } from './modules/preferences/preferences.service.js';
import { createAdapters } from './modules/providers/adapters/adapters.js';
import { createCredentialChangeRepository } from './modules/providers/credential-change.repository.js';
import { createCredentialRateLimit } from './modules/providers/credential-rate-limit.js';
import { createPlatformProviders } from './modules/providers/platform-providers.js';
import { createProviderRepository } from './modules/providers/provider.repository.js';
import { createProviderService } from './modules/providers/provider.service.js';
import { createLedger } from './modules/usage/ledger.js';
import { rebuildRollup } from './modules/usage/rollup.js';
import { createUsageRepository } from './modules/usage/usage.repository.js';
import { createUsageService } from './modules/usage/usage.service.js';
import { createUsageTickService } from './modules/usage/usage-tick.service.js';
import { createGuardedHttp } from './net/egress.js';
import type { PubSubBus } from './pubsub/pubsub.js';

export interface ServiceDeps {
  config: Config;
  db: Database;
  bus: PubSubBus;
  logger: Logger;
  /** Injected so tests can move time (day rollover, rate-limit windows). */
  clock?: () => Date;
}

export function createServices({ config, db, bus, logger, clock = () => new Date() }: ServiceDeps) {
  const prisma = db.prisma;
  const keyring = parseKeyring(config.encryptionKeys);
  const providerHttp = createGuardedHttp(config.egress, { maxLineBytes: config.upstreamMaxLineBytes });
  const guardedFetch = providerHttp.fetch;
  // Images a message points at are the client's URLs: none of the operator's exceptions for providers apply to them.
  const imageFetch = createGuardedHttp({ allowLoopback: false, allowedHosts: new Set(), allowedCidrs: [] }, { maxLineBytes: config.upstreamMaxLineBytes }).fetch;
  const adapters = createAdapters({ http: providerHttp, fetchImage: imageFetch, timeoutMs: config.providerTimeoutMs, idleTimeoutMs: config.streamIdleTimeoutMs });
  const liveStreams = createLiveStreams();
  const catalog = createCatalog();
  const openRouterSync = createOpenRouterSync({ sql: db.sql, catalog, fetch: guardedFetch, url: config.openRouterCatalogUrl, timeoutMs: config.providerTimeoutMs, clock, logger });
  const metrics = createMetrics(catalog);
  const alerts = createAlertService(createAlertRepository(db), bus.pubsub, clock, metrics, (error) => logger.error({ err: error }, 'filling alerts after a bus outage failed'));
  metrics.watchBus(bus.connected);
  const alertChannelRepository = createAlertChannelRepository(db);
  // Channel URLs go through the providers' egress policy: the operator's exceptions (a private relay) apply to both.
  const alertDelivery = createAlertDelivery({ repository: alertChannelRepository, keyring, fetch: guardedFetch, clock, policy: config.alertDelivery });
  const providerRepository = createProviderRepository(prisma, db.sql, createPlatformProviders(config.platformProviders, keyring));
  const routes = createRouteService({ sql: db.sql, providers: providerRepository, catalog, healthWindowMs: config.health.windowMs, clock });
  // This instance forgets at once (what a caller changed, its next chat sees); the others when the message comes.
  const routingChanged = (workspaceId: string) => {
    routes.forget(workspaceId);
    bus.pubsub.publish('routing:changed', { workspaceId, fromInstance: bus.instanceId });
  };
  const credentialRateLimit = createCredentialRateLimit(createCredentialChangeRepository(prisma), config.credentialChangesPerHour, clock);
  const health = createHealthService({ repository: createHealthRepository(db.sql), alerts, clock, policy: config.health, routingChanged });
  const providers = createProviderService({
    repository: providerRepository,
    keyring,
    adapters,
    egress: config.egress,
    rateLimit: credentialRateLimit,
    clock,
    announceRemoval: (providerId) => bus.pubsub.publish('provider:removed', { providerId }),
    routingChanged,
    onOpenRouterKey: () => openRouterSync.refreshSoon(),
    health,
  });
  const preferences = createPreferencesService(createPreferencesRepository(db), providers, routingChanged, (workspaceId) => rebuildRollup(db.sql, workspaceId));
  const apiKeyRepository = createApiKeyRepository(db);
  const apiKeyHasher = createSecretHasher(keyring);
  const apiKeyAuthenticator = createApiKeyAuthenticator({
    repository: apiKeyRepository,
    hasher: apiKeyHasher,
    clock,
    onUnexpected: (error) => logger.error({ err: error }, 'recording when an API key was last used failed'),
  });
  const apiKeyUses = createApiKeyUses();
  /** A key was revoked, here or on another instance: refused from the next request, and what is open with it ends. */
  const apiKeyRevoked = (apiKeyId: string) => {
    apiKeyAuthenticator.forget(apiKeyId);
    apiKeyUses.endAll(apiKeyId);
  };
  const apiKeys = createApiKeyService({
    repository: apiKeyRepository,
    hasher: apiKeyHasher,
    rateLimit: credentialRateLimit,
    clock,
    timezone: async (workspaceId) => (await routes.config(workspaceId)).preferences.timezone,
    // This instance at once; the others when the message comes.
    announceRevoked: (apiKeyId) => {
      apiKeyRevoked(apiKeyId);
      bus.pubsub.publish('apikey:revoked', { apiKeyId });
    },
  });
  const sessions = createSessionService(createSessionRepository(db), clock);
  const usageTicks = createUsageTickService(bus.pubsub);
  const callDeps: ChatServiceDeps = {
    routes,
    providers,
    sessions,
    ledger: createLedger(db.sql, catalog.price, clock, config.platformMonthlyRequests),
    contextWindow: catalog.contextWindow,
    usageTicks,
    alerts,
    health,
    metrics,
    adapters,
    liveStreams,
    retry: config.chatRetry,
    admitCall: createApiKeyRate(apiKeyRepository, clock).admit,
    onUnexpected: (error) => logger.error({ err: error }, 'a call failed unexpectedly'),
    clock,
  };
  return {
    /** For the Pothos Prisma plugin's reads; services get it through their factories. */
    prisma,
    liveStreams,
    catalog,
    openRouterSync,
    viewers: createViewerService(createViewerRepository(prisma)),
    usageTicks,
    alerts,
    alertDelivery,
    budgetForecast: createBudgetForecast({ sql: db.sql, alerts, clock }),
    alertChannels: createAlertChannelService({ repository: alertChannelRepository, delivery: alertDelivery, keyring, egress: config.egress, clock }),
    health,
    metrics,
    usage: createUsageService(createUsageRepository(db.sql), preferences, providerRepository),
    audit: createAuditService(createAuditRepository(prisma)),
    providers,
    apiKeys,
    apiKeyAuthenticator,
    apiKeyUses,
    apiKeyRevoked,
    preferences,
    platformQuota: createPlatformQuotaService({
      sql: db.sql,
      offered: config.platformProviders.length > 0,
      monthlyRequests: config.platformMonthlyRequests,
      timezone: async (workspaceId) => (await preferences.read(workspaceId)).timezone,
      clock,
    }),
    routes,
    sessions,
    chat: createChatService(callDeps),
    estimateCost: createCostEstimator({ routes, sessions, catalog, clock }),
    embed: createEmbedService(callDeps),
  };
}

export type Services = ReturnType<typeof createServices>;
