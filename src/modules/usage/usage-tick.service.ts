// Live per-provider counters pushed to a workspace's `usageTicks` subscribers.
import type { GatewayPubSub, UsageTickEvent } from '../../pubsub/pubsub.js';
import { untilAborted } from '../../pubsub/until-aborted.js';

export interface UsageTickService {
  publish(workspaceId: string, tick: UsageTickEvent): void;
  /** The workspace's ticks until `signal` aborts. */
  subscribe(workspaceId: string, signal: AbortSignal): AsyncIterableIterator<UsageTickEvent>;
}

export function createUsageTickService(pubsub: GatewayPubSub): UsageTickService {
  return {
    publish: (workspaceId, tick) => pubsub.publish('usage:tick', workspaceId, tick),
    subscribe: (workspaceId, signal) => untilAborted(pubsub.subscribe('usage:tick', workspaceId), signal),
  };
}
