// One typed topic map. In-process by default; through Redis when REDIS_URL is
// set, so an event published on one instance reaches subscribers on every one.
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';

/** Live counters of one provider after a finished call (the `UsageTick` type). */
export interface UsageTickEvent {
  providerId: string;
  /** The owner of a PERSONAL provider (only they see its ticks); null for the workspace's and the platform's. */
  personalOwnerId: string | null;
  tokensUsedToday: number;
  dailyTokenLimit: number | null;
  spendThisMonthUsd: number;
  monthlyBudgetUsd: number | null;
}

/** A raised alert as subscribers get it (dates as ISO strings once they cross Redis). */
export interface AlertEvent {
  id: string;
  providerId: string | null;
  kind: string;
  severity: string;
  message: string;
  data: unknown;
  createdAt: Date | string;
  acknowledgedAt: Date | string | null;
}

/** Topic → [routing id, payload]. Payloads are JSON (they cross Redis). */
export type Topics = {
  'usage:tick': [workspaceId: string, payload: UsageTickEvent];
  'alert:raised': [workspaceId: string, payload: AlertEvent];
  /** A provider was deleted or disabled: every instance ends its live calls to it. */
  'provider:removed': [payload: { providerId: string }];
  /** A workspace's preferences or providers changed: every instance forgets its routing entry. */
  'routing:changed': [payload: { workspaceId: string }];
};

export type GatewayPubSub = PubSub<Topics>;

export interface PubSubBus {
  pubsub: GatewayPubSub;
  /** 'memory' or 'redis', for /ready and the start-up line. */
  transport: 'memory' | 'redis';
  close(): Promise<void>;
}

export async function createPubSubBus(redisUrl: string | undefined): Promise<PubSubBus> {
  if (!redisUrl) {
    // Thousands of subscribers to one workspace's topic are normal here, not a listener leak worth a warning.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { pubsub: createPubSub<Topics>({ eventTarget }), transport: 'memory', close: async () => {} };
  }
  const options = { lazyConnect: true, maxRetriesPerRequest: 3 };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  return {
    pubsub: createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) }),
    transport: 'redis',
    close: async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}
