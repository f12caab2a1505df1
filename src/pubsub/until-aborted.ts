/**
 * Ends an event stream when `signal` aborts (the operation ended, or the server
 * is shutting down), so subscribers get a proper completion instead of a cut
 * connection. Written as a plain iterator, not an async generator: a
 * generator's return() waits behind a pending next(), so an idle subscription
 * (no event coming) could never be ended and would keep its listener, its
 * socket and its context for the life of the process. Here return() settles a
 * pending next() at once and releases the source.
 */
export function untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let ended = false;
  let settleEnded!: (result: IteratorReturnResult<undefined>) => void;
  const endedPromise = new Promise<IteratorReturnResult<undefined>>((resolve) => (settleEnded = resolve));

  async function end(): Promise<IteratorReturnResult<undefined>> {
    if (ended) return done;
    ended = true;
    signal.removeEventListener('abort', onAbort);
    settleEnded(done);
    await iterator.return?.();
    return done;
  }
  const onAbort = () => void end();
  if (signal.aborted) void end();
  else signal.addEventListener('abort', onAbort, { once: true });

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (ended) return done;
      const next = await Promise.race([iterator.next(), endedPromise]);
      if (next.done) return end();
      return next;
    },
    return: end,
  };
}
