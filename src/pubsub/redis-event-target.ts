// An EventTarget over Redis pub/sub: an event dispatched on one instance reaches the listeners on every instance.
// Like @graphql-yoga/redis-event-target, but a command Redis cannot take (it is down, the connection closed) is
// reported to `onError` instead of becoming an unhandled rejection, which would end the process; and a channel
// whose SUBSCRIBE failed (Redis was away) is subscribed again when the connection is back, where ioredis would
// renew only the subscriptions Redis had taken.
import type { Redis } from 'ioredis';

export type RedisCommand = 'publish' | 'subscribe' | 'unsubscribe';

export function createRedisEventTarget(publisher: Redis, subscriber: Redis, onError: (error: unknown, command: RedisCommand) => void): EventTarget {
  const listenersOf = new Map<string, Set<EventListenerOrEventListenerObject>>();
  subscriber.on('message', (channel: string, message: string) => {
    const listeners = listenersOf.get(channel);
    if (listeners === undefined) return;
    const event = new CustomEvent(channel, { detail: JSON.parse(message) });
    for (const listener of listeners) {
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  });
  subscriber.on('ready', () => {
    if (listenersOf.size === 0) return;
    subscriber.subscribe(...listenersOf.keys()).catch((error: unknown) => onError(error, 'subscribe'));
  });
  return {
    addEventListener(channel, listener) {
      if (listener === null) return;
      let listeners = listenersOf.get(channel);
      if (listeners === undefined) {
        listeners = new Set();
        listenersOf.set(channel, listeners);
        subscriber.subscribe(channel).catch((error: unknown) => onError(error, 'subscribe'));
      }
      listeners.add(listener);
    },
    removeEventListener(channel, listener) {
      const listeners = listenersOf.get(channel);
      if (listeners === undefined || listener === null) return;
      listeners.delete(listener);
      if (listeners.size > 0) return;
      listenersOf.delete(channel);
      subscriber.unsubscribe(channel).catch((error: unknown) => onError(error, 'unsubscribe'));
    },
    dispatchEvent(event) {
      const { detail } = event as CustomEvent<unknown>;
      publisher.publish(event.type, JSON.stringify(detail ?? null)).catch((error: unknown) => onError(error, 'publish'));
      return true;
    },
  };
}
