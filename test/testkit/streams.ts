// Reading subscriptions (graphql-ws or SSE): their first results, or all of them as they arrive.

/** The first `count` results of a subscription (then it is ended). */
export async function take<T>(iterable: AsyncIterable<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  if (count === 0) return items;
  for await (const item of iterable) {
    items.push(item);
    if (items.length === count) break;
  }
  return items;
}

/** A subscription's first result (then it is ended); fails when it completes without one. */
export async function first<T>(iterable: AsyncIterable<T>): Promise<T> {
  const [item] = await take(iterable, 1);
  if (item === undefined) throw new Error('the subscription completed without a result');
  return item;
}

/**
 * A subscription's results, each through `map`, in an array that fills in the background while the test goes on.
 * A subscription that fails adds `onFailure(error)`; without it, the failure is the test's.
 */
export function collect<T, U>(iterable: AsyncIterable<T>, map: (result: T) => U, onFailure?: (error: unknown) => U): U[] {
  const received: U[] = [];
  void (async () => {
    try {
      for await (const result of iterable) received.push(map(result));
    } catch (error) {
      if (!onFailure) throw error;
      received.push(onFailure(error));
    }
  })();
  return received;
}
