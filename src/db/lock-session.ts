// The Postgres session this process holds its advisory locks on (each periodic
// job's run, the migration runner's turn). It is a connection of its own, outside
// the pool: held on a pooled connection, a lock would starve the work under it
// with a small pool (a pool of one could not even migrate). It is opened at the
// first use and kept: a connection costs Postgres a process (4.5 ms of its CPU
// and 5 ms of wall time, measured), and a job runs every 2 s. When the session
// ends (a restart, a failover, idle_session_timeout), its locks end with it: the
// runs holding one are told, and the next use opens another session.
import pg from 'pg';

export class LockWaitTimeout extends Error {
  constructor(
    readonly lockName: string,
    readonly waitedMs: number,
  ) {
    super(`waited ${waitedMs} ms for the advisory lock "${lockName}"`);
    this.name = 'LockWaitTimeout';
  }
}

/** How often a run waiting for a lock asks for it again. */
const RETRY_EVERY_MS = 100;

export interface LockSession {
  /** Runs `work` holding the lock `name`, or returns undefined at once when another session or another run of this process holds it. */
  exclusively<T>(name: string, work: () => Promise<T>, onLost?: () => void): Promise<T | undefined>;
  /** Runs `work` holding the lock `name`, waiting for it at most `wait.ms` (then throws LockWaitTimeout); `wait.onWait` is called once when it has to wait. */
  inTurn<T>(name: string, wait: { ms: number; onWait?: () => void }, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A lock this process holds (or is asking for), with what to tell if its session ends first. */
interface Holding {
  client: pg.Client | undefined;
  lost(): void;
}

export function createLockSession(options: pg.ClientConfig): LockSession {
  let session: Promise<pg.Client> | undefined;
  const held = new Map<string, Holding>();

  const open = (): Promise<pg.Client> => {
    const client = new pg.Client(options);
    const opening = client.connect().then(() => client);
    session = opening;
    let ended = false;
    const ending = () => {
      if (ended) return;
      ended = true;
      if (session === opening) session = undefined;
      for (const holding of held.values()) holding.lost();
      held.clear();
    };
    // A session lost between runs or during one must not end the process: the runs' own statements will say so.
    client.on('error', ending);
    client.on('end', ending);
    opening.catch(ending);
    return opening;
  };

  /** Takes the lock `name` if no one holds it, this process included: held until `release`, and `onLost` told if its session ends first. */
  const take = async (name: string, onLost: () => void): Promise<Holding | undefined> => {
    if (held.has(name)) return undefined;
    // Held while it is asked for, so that another run of this process does not ask too.
    const holding: Holding = { client: undefined, lost: () => undefined };
    held.set(name, holding);
    try {
      const client = await (session ?? open());
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
      // Still ours unless the session ended after it answered (then the lock went with it).
      if (rows[0].locked && held.get(name) === holding) return Object.assign(holding, { client, lost: onLost });
    } catch (error) {
      release(name, holding);
      throw error;
    }
    release(name, holding);
    return undefined;
  };

  /** Gives `name` back, unless its session ended meanwhile (the lock went with it, and another run may hold it now). */
  const release = (name: string, holding: Holding): Promise<unknown> | undefined => {
    if (held.get(name) !== holding) return;
    held.delete(name);
    return holding.client?.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
  };

  const holdingWhile = async <T>(name: string, holding: Holding, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } finally {
      await release(name, holding);
    }
  };

  return {
    async exclusively(name, work, onLost = () => undefined) {
      const holding = await take(name, onLost);
      return holding ? await holdingWhile(name, holding, work) : undefined;
    },
    async inTurn(name, { ms, onWait }, work) {
      const deadline = performance.now() + ms;
      let holding = await take(name, () => undefined);
      if (!holding) onWait?.();
      while (!holding) {
        if (performance.now() >= deadline) throw new LockWaitTimeout(name, ms);
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_EVERY_MS, Math.max(0, deadline - performance.now()))));
        holding = await take(name, () => undefined);
      }
      return await holdingWhile(name, holding, work);
    },
    async close() {
      const closing = session;
      session = undefined;
      if (closing) await (await closing.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}
