// Live per-provider counters pushed to a workspace's `usageTicks` subscribers.
import { filter, pipe } from 'graphql-yoga';
import type { Viewer } from '../../auth/viewer.js';
import type { GatewayPubSub, UsageTickEvent } from '../../pubsub/pubsub.js';
import { untilAborted } from '../../pubsub/until-aborted.js';

export interface UsageTickService {
  publish(workspaceId: string, tick: UsageTickEvent): void;
  /** The ticks of the providers the viewer may see, until `signal` aborts. */
  subscribe(viewer: Pick<Viewer, 'workspaceId' | 'userId'>, signal: AbortSignal): AsyncIterableIterator<UsageTickEvent>;
}

export function createUsageTickService(pubsub: GatewayPubSub): UsageTickService {
  return {
    publish: (workspaceId, tick) => pubsub.publish('usage:tick', workspaceId, tick),
    subscribe: (viewer, signal) =>
      untilAborted(
        // A personal provider is its owner's alone: its id and counters included (as in `providers`).
        pipe(
          pubsub.subscribe('usage:tick', viewer.workspaceId),
          filter((tick: UsageTickEvent) => tick.personalOwnerId === null || tick.personalOwnerId === viewer.userId),
        ),
        signal,
      ),
  };
}
