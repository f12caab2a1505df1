// One typed topic map. In-process by default; through Redis when REDIS_URL is
// set, so an event published on one instance reaches subscribers on every one.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { createRedisEventTarget, type RedisCommand } from './redis-event-target.js';

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
  /** The member whose personal provider the alert is about: they hear it too. */
  personalOwnerId: string | null;
}

/** Topic → [routing id, payload]. Payloads are JSON (they cross Redis). */
export type Topics = {
  'usage:tick': [workspaceId: string, payload: UsageTickEvent];
  'alert:raised': [workspaceId: string, payload: AlertEvent];
  /** A provider was deleted or disabled: every instance ends its live calls to it. */
  'provider:removed': [payload: { providerId: string }];
  /** A workspace's preferences or providers changed: every other instance forgets its routing entry. */
  'routing:changed': [payload: { workspaceId: string; fromInstance: string }];
  /** A gateway API key was revoked: every instance forgets what it kept of it and ends what is open with it. */
  'apikey:revoked': [payload: { apiKeyId: string }];
  /** An instance's connection to Redis is back after an outage that began at `since`: what it published meanwhile was lost. */
  'bus:resumed': [payload: { since: string; fromInstance: string }];
};

export type GatewayPubSub = PubSub<Topics>;

export interface PubSubBus {
  pubsub: GatewayPubSub;
  /** 'memory' or 'redis', for /ready and the start-up line. */
  transport: 'memory' | 'redis';
  /** Tells this instance's own messages from the others' (with Redis, a publisher hears itself too). */
  instanceId: string;
  /**
   * Resolves when the next subscriber to `topic` (for `routingId`) is listening; with Redis, once Redis has taken
   * its SUBSCRIBE. graphql-ws acknowledges no subscribe: tests wait on this, asked before they subscribe.
   */
  nextSubscriber(topic: keyof Topics, routingId?: string): Promise<void>;
  /** False while a connection to Redis is lost (for /ready and /metrics); always true in memory. */
  connected(): boolean;
  /** Calls `listener` with when the outage began each time this instance's connections to Redis are all back. */
  onResume(listener: (since: Date) => void): void;
  close(): Promise<void>;
}

/** `logger` hears of the commands Redis could not take: while it is down, events between instances are lost. */
export async function createPubSubBus(redisUrl: string | undefined, logger: Pick<Logger, 'warn' | 'info'>): Promise<PubSubBus> {
  const instanceId = randomUUID();
  if (!redisUrl) {
    // Thousands of subscribers to one workspace's topic are normal here, not a listener leak worth a warning.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    const announced = announcingSubscribers(eventTarget, async () => {});
    return {
      pubsub: createPubSub<Topics>({ eventTarget: announced.eventTarget }),
      transport: 'memory',
      instanceId,
      nextSubscriber: announced.nextSubscriber,
      connected: () => true,
      onResume: () => {},
      close: async () => {},
    };
  }
  const options = { lazyConnect: true, maxRetriesPerRequest: 3 };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  // Watched before connecting: a Redis that cannot be reached at start is an outage like any other (the instance
  // starts and serves, /ready says the bus is down, ioredis keeps reconnecting), not a process that cannot start.
  const outages = watchOutages({ publish: publishClient, subscribe: subscribeClient }, logger);
  await Promise.all([publishClient.connect(), subscribeClient.connect()]).catch(() => {});
  // Redis answers a connection's commands in order: its answer to a PING sent after a SUBSCRIBE confirms the SUBSCRIBE.
  const redisTarget = createRedisEventTarget(publishClient, subscribeClient, outages.notTaken);
  const announced = announcingSubscribers(redisTarget, async () => void (await subscribeClient.ping()));
  return {
    pubsub: createPubSub<Topics>({ eventTarget: announced.eventTarget }),
    transport: 'redis',
    instanceId,
    nextSubscriber: announced.nextSubscriber,
    connected: outages.connected,
    onResume: outages.onResume,
    close: async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

/**
 * ioredis reports every failed reconnect as an 'error' event (printed raw, with a stack, when nobody listens):
 * one warning when a connection is lost, one line when it is back. The commands Redis could not take meanwhile
 * (a publish per finished call) are counted and told once, when it is back; one failing while connected is a
 * warning of its own. When every connection is back, the outage is over: the `onResume` listeners hear when it began.
 */
function watchOutages(
  clients: Record<'publish' | 'subscribe', Redis>,
  logger: Pick<Logger, 'warn' | 'info'>,
): Pick<PubSubBus, 'connected' | 'onResume'> & { notTaken(error: unknown, command: RedisCommand): void } {
  const down = new Set<string>();
  let since: Date | null = null;
  let lostCommands = 0;
  const listeners: Array<(since: Date) => void> = [];
  for (const [connection, client] of Object.entries(clients)) {
    client.on('error', (error: unknown) => {
      if (down.has(connection)) return;
      down.add(connection);
      since ??= new Date();
      logger.warn({ err: error, connection }, 'Redis connection lost: reconnecting; events between instances are lost until it is back');
    });
    client.on('ready', () => {
      if (!down.delete(connection)) return;
      logger.info({ connection }, 'Redis connection back');
      if (down.size > 0 || !since) return;
      const began = since;
      since = null;
      if (lostCommands > 0) logger.warn({ commands: lostCommands, since: began }, 'Redis was away: pub/sub commands it could not take were dropped');
      lostCommands = 0;
      for (const listener of listeners) listener(began);
    });
  }
  return {
    connected: () => down.size === 0,
    onResume: (listener) => void listeners.push(listener),
    notTaken(error, command) {
      if (since) lostCommands++;
      else logger.warn({ err: error, command }, 'Redis did not take a pub/sub command: events between instances are lost until it is back');
    },
  };
}

/**
 * `target`, telling those waiting for a topic when a listener is added to it, once `confirm()` (called after the
 * target has registered the listener) resolves. While nobody waits, adding a listener costs one map lookup more.
 */
function announcingSubscribers(target: EventTarget, confirm: () => Promise<void>): Pick<PubSubBus, 'nextSubscriber'> & { eventTarget: EventTarget } {
  const waiting = new Map<string, Array<(confirmed: Promise<void>) => void>>();
  return {
    eventTarget: {
      addEventListener(topic, listener, options) {
        target.addEventListener(topic, listener, options);
        const waiters = waiting.get(topic);
        if (!waiters) return;
        waiting.delete(topic);
        const confirmed = confirm();
        for (const resolve of waiters) resolve(confirmed);
      },
      removeEventListener: (topic, listener, options) => target.removeEventListener(topic, listener, options),
      dispatchEvent: (event) => target.dispatchEvent(event),
    },
    // The same topic name as createPubSub's: the routing key, then the id.
    nextSubscriber: (topic, routingId) => {
      const name = routingId === undefined ? topic : `${topic}:${routingId}`;
      return new Promise((resolve) => waiting.set(name, [...(waiting.get(name) ?? []), resolve]));
    },
  };
}
