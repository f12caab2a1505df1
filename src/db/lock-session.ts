// The Postgres session this process holds its advisory locks on (each periodic
// job's run, the migration runner's turn). It is a connection of its own, outside
// the pool: held on a pooled connection, a lock would starve the work under it
// with a small pool (a pool of one could not even migrate). It is opened at the
// first use and kept: a connection costs Postgres a process (4.5 ms of its CPU
// and 5 ms of wall time, measured), and a job runs every 2 s. When the session
// ends (a restart, a failover, idle_session_timeout), its locks end with it: the
// runs holding one are told, and the next use opens another session. A session
// that stops answering (a path that died without a word: a vanished host, a
// middlebox that forgot the flow) is dropped after STATEMENT_DEADLINE_MS, as if
// it had ended, instead of holding up every job behind it.
import pg from 'pg';
import { isDatabaseUnavailable } from './unavailable.js';

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
/** A statement on the session waits for nothing (no lock is waited for on the server): past this, the session is taken for dead. */
const STATEMENT_DEADLINE_MS = 5_000;
/**
 * The server's side of the same: with its keepalives a backend whose client vanished without a word ends within
 * about 25 s, and its locks with it (by default it would hold them for the kernel's two hours).
 */
const SERVER_KEEPALIVES = `SELECT set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
  set_config('tcp_keepalives_count', '3', false)`;

export interface LockSession {
  /** Runs `work` holding the lock `name`, or returns undefined at once when another session or another run of this process holds it. */
  exclusively<T>(name: string, work: () => Promise<T>, onLost?: () => void): Promise<T | undefined>;
  /** Runs `work` holding the lock `name`, waiting for it at most `wait.ms` (then throws LockWaitTimeout); `wait.onWait` is called once when it has to wait. */
  inTurn<T>(name: string, wait: { ms: number; onWait?: () => void }, work: () => Promise<T>): Promise<T>;
  /** Ends the session; the locks go with it. Later uses are refused. */
  close(): Promise<void>;
}

/** One connection, and the locks this process holds (or is asking for) on it, each with what to tell if it ends first. */
class Session {
  readonly held = new Map<string, () => void>();
  ended = false;
  private readonly client: pg.Client;
  private connected = false;
  private readonly opened: Promise<unknown>;
  /** Rejects when the session ends, with why: a statement waiting on it fails then, not at its deadline. */
  private readonly gone: Promise<never>;
  private endWith!: (reason: Error) => void;
  /** Why it ended, once it has. */
  private endReason: Error | undefined;
  /** The statements go one at a time (pg would queue them, but warns that it will stop). */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    options: pg.ClientConfig,
    private readonly onEnd: (session: Session) => void,
  ) {
    this.client = new pg.Client({ ...options, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    this.gone = new Promise<never>((_, reject) => (this.endWith = reject));
    this.gone.catch(() => undefined);
    // A session lost between runs or during one must not end the process: the runs' own statements will say so.
    this.client.on('error', (error) => this.ending(error));
    this.client.on('end', () => this.ending());
    const connecting = this.client.connect().then(() => this.client.query(SERVER_KEEPALIVES));
    // The connect's own timeout, when one is configured and longer, rules it (a slow server is not a dead one).
    this.opened = this.within(connecting, Math.max(STATEMENT_DEADLINE_MS, options.connectionTimeoutMillis ?? 0)).then(() => (this.connected = true));
    this.opened.catch((error: unknown) => this.ending(error));
  }

  /** Its locks are gone: the runs holding one are told, and the next use opens another session. */
  private ending(reason?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.endReason = reason instanceof Error ? reason : new Error('Connection terminated: the advisory lock session ended');
    this.endWith(this.endReason);
    for (const lost of this.held.values()) lost();
    this.held.clear();
  }

  /** Runs one statement within STATEMENT_DEADLINE_MS of the session being open, or drops the session (its locks go with it) and throws. */
  ask<Row extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
    const answer = this.last.then(async () => {
      if (this.endReason) throw this.endReason;
      await Promise.race([this.gone, this.opened]);
      const query = this.client.query<Row>(text, values);
      // Past the deadline, the dropped connection fails it too: that second failure is nobody's to hear.
      query.catch(() => undefined);
      try {
        return (await this.within(query, STATEMENT_DEADLINE_MS)).rows;
      } catch (error) {
        // The server ended the session (a FATAL answer comes before the socket closes): the next use must not get it.
        if (isDatabaseUnavailable(error)) this.drop(error);
        throw error;
      }
    });
    this.last = answer.catch(() => undefined);
    return answer;
  }

  /** `work`, unless the session ends first or `ms` pass (then the session is dropped: its locks go with it). */
  private async within<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Worded as a connection timeout: the scheduler counts it as the database being unreachable.
        const timeout = new Error(`advisory lock session: connection timeout (no answer in ${ms} ms)`);
        reject(timeout);
        this.drop(timeout);
      }, ms);
    });
    try {
      return await Promise.race([this.gone, work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection, or drops it when it is not open yet or does not close in time. */
  async end(): Promise<void> {
    if (this.ended) return;
    if (!this.connected) return this.drop();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STATEMENT_DEADLINE_MS)));
    const closed = await Promise.race([
      this.client.end().then(
        () => true,
        () => true,
      ),
      late.then(() => false),
    ]);
    clearTimeout(timer);
    if (!closed) this.drop();
  }

  /** Ends the session at once, whatever the path to the server does: its socket destroyed (pg has no public way to). */
  private drop(reason?: unknown): void {
    this.ending(reason);
    (this.client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
}

export function createLockSession(options: pg.ClientConfig): LockSession {
  let current: Session | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  const session = () => {
    if (closed) throw new Error('the database is closed');
    current ??= new Session(options, (ended) => {
      if (current === ended) current = undefined;
    });
    return current;
  };

  /** Takes the lock `name` if no one holds it, this process included: held until `release`, and `onLost` told if its session ends first. */
  const take = async (name: string, onLost: () => void): Promise<Session | undefined> => {
    const on = session();
    if (on.held.has(name)) return undefined;
    // Held while it is asked for, so that another run of this process does not ask too.
    on.held.set(name, () => undefined);
    try {
      const [{ locked }] = await on.ask<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
      // Unless the session ended after it answered (then the lock went with it).
      if (locked && !on.ended) {
        on.held.set(name, onLost);
        return on;
      }
    } catch (error) {
      on.held.delete(name);
      throw error;
    }
    on.held.delete(name);
    return undefined;
  };

  /** Gives `name` back, unless its session ended meanwhile (the lock went with it). */
  const release = async (name: string, on: Session) => {
    if (on.held.delete(name) && !on.ended) await on.ask('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
  };

  const holding = async <T>(name: string, on: Session, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } finally {
      await release(name, on);
    }
  };

  return {
    async exclusively(name, work, onLost = () => undefined) {
      const on = await take(name, onLost);
      return on ? await holding(name, on, work) : undefined;
    },
    async inTurn(name, { ms, onWait }, work) {
      const deadline = performance.now() + ms;
      let on = await take(name, () => undefined);
      if (!on) onWait?.();
      while (!on) {
        if (performance.now() >= deadline) throw new LockWaitTimeout(name, ms);
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_EVERY_MS, Math.max(0, deadline - performance.now()))));
        on = await take(name, () => undefined);
      }
      return await holding(name, on, work);
    },
    close() {
      if (!closing) {
        closed = true;
        closing = current?.end() ?? Promise.resolve();
        current = undefined;
      }
      return closing;
    },
  };
}
