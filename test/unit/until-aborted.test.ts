import { describe, expect, it } from 'vitest';
import { untilAborted } from '../../src/pubsub/until-aborted.js';

/** A source that never yields, and says whether it was released. */
function idleSource() {
  const state = { released: false };
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<number>>(() => undefined),
      return: async () => {
        state.released = true;
        return { done: true, value: undefined };
      },
    }),
  };
  return { iterable, state };
}

describe('untilAborted', () => {
  it('ends an idle stream on return() while a next() is pending, and releases the source', async () => {
    const { iterable, state } = idleSource();
    const stream = untilAborted(iterable, new AbortController().signal);
    const pending = stream.next();
    await expect(stream.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(state.released).toBe(true);
  });

  it('ends an idle stream when the signal aborts, and forgets the signal once ended', async () => {
    const { iterable, state } = idleSource();
    const controller = new AbortController();
    const stream = untilAborted(iterable, controller.signal);
    const pending = stream.next();
    controller.abort();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(state.released).toBe(true);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('passes events through until then', async () => {
    async function* three() {
      yield* [1, 2, 3];
    }
    const seen: number[] = [];
    for await (const value of untilAborted(three(), new AbortController().signal)) seen.push(value);
    expect(seen).toEqual([1, 2, 3]);
  });
});
