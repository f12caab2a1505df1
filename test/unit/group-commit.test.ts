// The group-commit mechanism on its own: when calls go alone, when they go together, and how a batch's failure
// reaches them. The ledger's use of it, on a real database, is test/integration/ledger-group-commit.test.ts.
import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/db/group-commit.js';

/**
 * A writer that records each batch (and the most written at once) and answers as `release()` lets it; an item `bad`
 * fails its batch, and an item `away` fails its batch as if the database had gone away.
 */
function recordingWriter(failure = new Error('refused')) {
  const batches: string[][] = [];
  const waiting: Array<() => void> = [];
  const seen = { mostAtOnce: 0 };
  const write = (items: string[]) => {
    batches.push(items);
    seen.mostAtOnce = Math.max(seen.mostAtOnce, waiting.length + 1);
    return new Promise<string[]>((resolve, reject) => {
      waiting.push(() => (items.includes('bad') ? reject(failure) : items.includes('away') ? reject(new Error('database away')) : resolve(items.map((item) => `${item}!`))));
    });
  };
  const release = async () => {
    while (waiting.length > 0) {
      waiting.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { batches, write, release, seen };
}

const options = { inFlight: 2, maxBatch: 3, mayBeOneItems: (error: unknown) => (error as Error).message !== 'database away' };

describe('groupCommit', () => {
  it('sends a call at once while a statement is free, and the rest together, at most maxBatch a statement', async () => {
    const writer = recordingWriter();
    const send = groupCommit(writer.write, options);
    const results = Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(send));
    await writer.release();
    expect(await results).toEqual(['a!', 'b!', 'c!', 'd!', 'e!', 'f!']);
    expect(writer.batches).toEqual([['a'], ['b'], ['c', 'd', 'e'], ['f']]);
  });

  it("writes a failed batch's items again one after another: only the one refused fails", async () => {
    const writer = recordingWriter();
    const send = groupCommit(writer.write, options);
    const results = Promise.allSettled(['a', 'b', 'c', 'bad', 'd'].map(send));
    await writer.release();
    expect((await results).map((result) => (result.status === 'fulfilled' ? result.value : 'rejected'))).toEqual(['a!', 'b!', 'c!', 'rejected', 'd!']);
    expect(writer.batches).toEqual([['a'], ['b'], ['c', 'bad', 'd'], ['c'], ['bad'], ['d']]);
    // The retries take the failed batch's turn: never more statements at once than inFlight.
    expect(writer.seen.mostAtOnce).toBe(2);
  });

  it('fails a whole batch, without writing it again, when the failure cannot be one item’s', async () => {
    const writer = recordingWriter(new Error('database away'));
    const send = groupCommit(writer.write, options);
    const results = Promise.allSettled(['a', 'b', 'c', 'bad'].map(send));
    await writer.release();
    expect((await results).map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect(writer.batches).toEqual([['a'], ['b'], ['c', 'bad']]);
  });

  it("stops writing a failed batch's items again once the database goes away: the ones after it fail with it, unwritten", async () => {
    const writer = recordingWriter();
    const send = groupCommit(writer.write, options);
    const results = Promise.allSettled(['a', 'b', 'bad', 'away', 'c'].map(send));
    await writer.release();
    expect((await results).map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message))).toEqual([
      'a!',
      'b!',
      'refused',
      'database away',
      'database away',
    ]);
    expect(writer.batches).toEqual([['a'], ['b'], ['bad', 'away', 'c'], ['bad'], ['away']]);
  });
});
