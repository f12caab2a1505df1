// The domain services of one app, built once with explicit dependencies.
import { createViewerService } from './auth/viewer.service.js';
import type { Config } from './config.js';
import { parseKeyring } from './crypto/keyring.js';
import type { Database } from './db/client.js';
import { createGuardedFetch } from './net/egress.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAdapters } from './modules/providers/adapters/adapters.js';
import { createCredentialRateLimit } from './modules/providers/credential-rate-limit.js';
import { createProviderRepository } from './modules/providers/provider.repository.js';
import { createProviderService } from './modules/providers/provider.service.js';
import { createUsageTickService } from './modules/usage/usage-tick.service.js';
import type { PubSubBus } from './pubsub/pubsub.js';

export interface ServiceDeps {
  config: Config;
  db: Database;
  bus: PubSubBus;
  /** Injected so tests can move time (day rollover, rate-limit windows). */
  clock?: () => Date;
}

export function createServices({ config, db, bus, clock = () => new Date() }: ServiceDeps) {
  const prisma = db.prisma;
  const keyring = parseKeyring(config.encryptionKeys);
  const adapters = createAdapters({ fetch: createGuardedFetch(config.egress), timeoutMs: config.providerTimeoutMs });
  return {
    /** For the Pothos Prisma plugin's reads; services get it through their factories. */
    prisma,
    viewers: createViewerService(prisma),
    usageTicks: createUsageTickService(bus.pubsub),
    audit: createAuditService(prisma),
    providers: createProviderService({
      prisma,
      repository: createProviderRepository(prisma),
      keyring,
      adapters,
      egress: config.egress,
      rateLimit: createCredentialRateLimit(prisma, config.credentialChangesPerHour, clock),
      clock,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
