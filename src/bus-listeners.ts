// What this instance does when any instance (itself included) announces a change on the bus.
import type { PubSubBus } from './pubsub/pubsub.js';
import { untilAborted } from './pubsub/until-aborted.js';
import type { Services } from './services.js';

/** Listens until `signal` aborts. */
export function listenToBus(bus: PubSubBus, services: Services, signal: AbortSignal): void {
  // Deleting or disabling a provider (on any instance) ends this instance's live calls to it.
  void (async () => {
    for await (const { providerId } of untilAborted(bus.pubsub.subscribe('provider:removed'), signal)) {
      services.liveStreams.endAll(providerId);
    }
  })();
  // Another instance changed a workspace's routing: what this one kept of it is stale. (This instance forgot its
  // own change when it made it; hearing it again later would drop an entry read since.)
  void (async () => {
    for await (const { workspaceId, fromInstance } of untilAborted(bus.pubsub.subscribe('routing:changed'), signal)) {
      if (fromInstance !== bus.instanceId) services.routes.forget(workspaceId);
    }
  })();
  // Redis was away: alerts published meanwhile reached no other instance, and none published elsewhere reached
  // this one. This instance fills its subscribers from the alerts table and tells the others to do the same.
  bus.onResume((since) => {
    void services.alerts.fillSince(since);
    bus.pubsub.publish('bus:resumed', { since: since.toISOString(), fromInstance: bus.instanceId });
  });
  void (async () => {
    for await (const { since, fromInstance } of untilAborted(bus.pubsub.subscribe('bus:resumed'), signal)) {
      if (fromInstance !== bus.instanceId) void services.alerts.fillSince(new Date(since));
    }
  })();
  // A key revoked on any instance is refused here from now on, not when this instance's short cache runs out, and
  // what is open here with it ends.
  void (async () => {
    for await (const { apiKeyId } of untilAborted(bus.pubsub.subscribe('apikey:revoked'), signal)) services.apiKeyRevoked(apiKeyId);
  })();
}
