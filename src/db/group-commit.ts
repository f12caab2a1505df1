// Group commit: calls that arrive while earlier ones are being written go to
// the database together, as one statement and one commit. At most `inFlight`
// statements run at once; a call that finds one free is sent at once (a lone
// call waits for nothing), the others queue and leave together, up to
// `maxBatch`, as soon as a statement returns. Under load a hot counter row is
// then locked, and the WAL flushed, once per batch instead of once per call.

export interface GroupCommitOptions {
  /** Statements of this kind running at once. */
  inFlight: number;
  /** Calls in one statement at most. */
  maxBatch: number;
  /** Whether a batch's failure may be one item's doing; when not (the database is away), every item fails with it. */
  mayBeOneItems(error: unknown): boolean;
}

/**
 * `write` takes a batch and returns one result per item, in order. When a batch fails for what may be one item's
 * doing (rare: a refused limit is a result, not a failure), its items are written again one after another in the
 * batch's turn, so that an item the database refuses fails alone and the retries take no more connections; should
 * the database go away meanwhile, the items not yet written fail with that error instead of each waiting for its own.
 */
export function groupCommit<Item, Result>(write: (items: Item[]) => Promise<Result[]>, { inFlight, maxBatch, mayBeOneItems }: GroupCommitOptions): (item: Item) => Promise<Result> {
  interface Waiting {
    item: Item;
    resolve(result: Result): void;
    reject(error: unknown): void;
  }
  const queue: Waiting[] = [];
  let running = 0;

  /** A failed batch's items again, one after another; once one fails in a way that cannot be its own, the rest fail with it, unwritten. */
  const writeOneByOne = async (batch: Waiting[]) => {
    for (const [i, waiting] of batch.entries()) {
      try {
        const [result] = await write([waiting.item]);
        waiting.resolve(result);
      } catch (error) {
        waiting.reject(error);
        if (!mayBeOneItems(error)) {
          for (const rest of batch.slice(i + 1)) rest.reject(error);
          return;
        }
      }
    }
  };

  const send = async (batch: Waiting[]) => {
    running++;
    try {
      const results = await write(batch.map((waiting) => waiting.item));
      for (const [i, waiting] of batch.entries()) waiting.resolve(results[i]);
    } catch (error) {
      if (batch.length === 1 || !mayBeOneItems(error)) for (const waiting of batch) waiting.reject(error);
      else await writeOneByOne(batch);
    } finally {
      running--;
      if (queue.length > 0) void send(queue.splice(0, maxBatch));
    }
  };

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      const waiting = { item, resolve, reject };
      if (running < inFlight) void send([waiting]);
      else queue.push(waiting);
    });
}
