// Production starts, with the real entry point as a child process: a DATA_DIR that
// does not exist yet, one that cannot exist, and instances started together on one
// empty Postgres database with MIGRATE_ON_START (what a rolling deploy does).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/schema-engine.js';
import { type GatewayProcess, listening, spawnEntry, spawnGateway } from '../testkit/process.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(32).toString('base64'),
  ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};

const leftovers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const dispose of leftovers.reverse()) await dispose();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-start-'));
  leftovers.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The gateway as `npm start` runs it, killed after the file's tests if one is left. */
function start(env: Record<string, string>): GatewayProcess {
  const gateway = spawnGateway(env);
  leftovers.push(async () => gateway.child.exitCode === null && gateway.child.kill('SIGKILL'));
  return gateway;
}

/** The gateway as `npm start` runs it in production on the Postgres database at `url`, migrating it. */
async function startOn(url: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  return start({ ...PRODUCTION, DATA_DIR: await tempDir(), DATABASE_URL: url, MIGRATE_ON_START: 'true', ...env });
}

async function stop(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
}

/** What a refused start printed: one problem naming DATA_DIR (under the configuration header), no stack. */
function expectOneLineRefusal(gateway: GatewayProcess): void {
  const lines = gateway.output;
  expect(
    lines.filter((line) => line.includes('DATA_DIR')),
    gateway.transcript,
  ).toHaveLength(1);
  expect(lines.length, gateway.transcript).toBeLessThanOrEqual(2);
  expect(gateway.transcript).not.toMatch(/^\s+at /m);
}

describe('a DATA_DIR that does not exist yet', () => {
  it.each([
    ['development', {}],
    ['production', PRODUCTION],
  ])(
    'is created with its parents, and the gateway serves (%s)',
    async (_mode, env) => {
      const dataDir = path.join(await tempDir(), 'x', 'y', 'z');
      const gateway = start({ ...env, DATA_DIR: dataDir });
      const { url } = await listening(gateway);
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
      await stop(gateway);
    },
    120_000,
  );
});

describe('a DATA_DIR that cannot be created', () => {
  it.each([
    ['under a file', (file: string) => path.join(file, 'data')],
    ['nested under a file', (file: string) => path.join(file, 'a', 'b')],
    ['that is a file', (file: string) => file],
    ['with a name too long', (file: string) => path.join(path.dirname(file), 'x'.repeat(300), 'data')],
  ])('stops the start with one line naming DATA_DIR (%s)', async (_case, dataDirFor) => {
    const file = path.join(await tempDir(), 'a-file');
    await writeFile(file, '');
    for (const env of [{}, PRODUCTION]) {
      const gateway = start({ ...env, DATA_DIR: dataDirFor(file) });
      expect(await gateway.exited, gateway.transcript).toBe(1);
      expectOneLineRefusal(gateway);
    }
  });
});

describe('npm run simulator on a port in use', () => {
  it('says so in one line and exits 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    leftovers.push(() => new Promise((resolve) => holder.close(resolve)));
    const { port } = holder.address() as AddressInfo;
    const simulator = spawnEntry('src/cli/simulator.ts', {}, [String(port)]);
    expect(await simulator.exited, simulator.transcript).toBe(1);
    expect(simulator.output).toEqual([`port ${port} is in use: run npm run simulator -- <another port>`]);
  });
});

/** A new, empty database on the run's Postgres server, dropped after the file's tests. */
async function freshDatabase(): Promise<string> {
  const server = new URL(process.env.DATABASE_URL!);
  const name = `${server.pathname.slice(1) || 'gateway'}_start_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: server.href });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  leftovers.push(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  return url.href;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  leftovers.push(() => client.end());
  return client;
}

describe.skipIf(!process.env.DATABASE_URL)('instances started together on an empty Postgres database', () => {
  it('all serve: one applies the migrations, once, while the others wait for it', async () => {
    const url = await freshDatabase();
    const gateways = await Promise.all([1, 2, 3].map(() => startOn(url)));
    const started = await Promise.allSettled(gateways.map((gateway) => listening(gateway, 180_000)));
    for (const [i, result] of started.entries()) expect(result.status, gateways[i]!.transcript).toBe('fulfilled');
    for (const result of started) {
      expect((await fetch(`${(result as PromiseFulfilledResult<{ url: string }>).value.url}/ready`)).status).toBe(200);
    }

    const folder = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    const { rows } = await (await connect(url)).query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(folder.sort());
    expect(gateways.filter((gateway) => gateway.transcript.includes('migration(s)'))).toHaveLength(1);

    await Promise.all(gateways.map(stop));
  }, 240_000);

  it('with a pool of one connection, an instance migrates, serves and runs its periodic jobs (their locks are held outside the pool)', async () => {
    const url = await freshDatabase();
    const gateway = await startOn(url, { DATABASE_POOL_SIZE: '1', DATABASE_POOL_TIMEOUT_MS: '2000', SWEEP_INTERVAL_MS: '1000' });
    const { url: base } = await listening(gateway, 120_000);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    await expect.poll(() => gateway.transcript, { timeout: 10_000 }).toMatch(/"job":"sweep-reservations".*"msg":"job ran"/);
    expect(gateway.transcript).not.toContain('database unavailable');
    await stop(gateway);
  }, 180_000);

  it('periodic jobs take their locks on one kept Postgres session, not a new one a run; when it ends, the next run opens another', async () => {
    const url = await freshDatabase();
    // Three jobs whose runs often meet: their lock statements take turns on the one session (pg warns when they do not).
    const gateway = await startOn(url, { ALERT_DELIVERY_INTERVAL_MS: '50', SWEEP_INTERVAL_MS: '1000', BUDGET_FORECAST_INTERVAL_MS: '1000' });
    await listening(gateway, 120_000);
    const runs = () => gateway.transcript.match(/"job":"deliver-alerts".*"msg":"job ran"/g)?.length ?? 0;
    await expect.poll(runs, { timeout: 10_000 }).toBeGreaterThan(0);
    const admin = await connect(url);
    // Sessions Postgres has started for this database (a session's count reaches it within a second, or as it ends).
    const sessions = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const { rows } = await admin.query<{ sessions: string }>('SELECT sessions FROM pg_stat_database WHERE datname = current_database()');
      return Number(rows[0].sessions);
    };
    const [sessionsBefore, runsBefore] = [await sessions(), runs()];
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [sessionsAfter, runsAfter] = [await sessions(), runs()];
    expect(runsAfter - runsBefore).toBeGreaterThanOrEqual(20);
    expect(sessionsAfter - sessionsBefore, gateway.transcript).toBeLessThanOrEqual(1);

    // The lock session ended by the server (a restart of it, idle_session_timeout): the jobs go on, on a new one.
    const { rows: ended } = await admin.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%advisory%'`,
    );
    expect(ended).toEqual([{ ended: true }]);
    const runsAtEnd = runs();
    await expect.poll(runs, { timeout: 10_000 }).toBeGreaterThan(runsAtEnd + 5);
    expect(gateway.transcript).not.toContain('job failed');
    expect(gateway.transcript).not.toContain('DeprecationWarning');
    await stop(gateway);
  }, 180_000);

  it('an instance that waits longer than MIGRATE_LOCK_TIMEOUT_MS for another one stops with one line saying so', async () => {
    const url = await freshDatabase();
    // Another instance in the middle of applying migrations holds the runner's lock.
    const other = await connect(url);
    await other.query("SELECT pg_advisory_lock(hashtext('gateway:migrations'))");
    const gateway = await startOn(url, { MIGRATE_LOCK_TIMEOUT_MS: '2000', LOG_LEVEL: 'warn' });
    expect(await gateway.exited, gateway.transcript).toBe(1);
    expect(gateway.output, gateway.transcript).toEqual([expect.stringContaining('MIGRATE_LOCK_TIMEOUT_MS')]);
  }, 120_000);
});

describe('what the start needs and cannot have', () => {
  /** A port something listens on, and one nothing listens on (just freed). */
  async function ports(): Promise<{ busy: number; closed: number }> {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    leftovers.push(() => new Promise((resolve) => holder.close(resolve)));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    return { busy: (holder.address() as AddressInfo).port, closed };
  }

  it.each([
    ['a port in use', 'PORT', (p: { busy: number }) => ({ PORT: String(p.busy) })],
    [
      'a database that does not answer',
      'DATABASE_URL',
      (p: { closed: number }) => ({ DATABASE_URL: `postgresql://gateway@127.0.0.1:${p.closed}/gateway`, MIGRATE_ON_START: 'true' }),
    ],
  ])(
    '%s stops it with one line naming %s, no stack',
    async (_case, variable, envFor) => {
      const gateway = start({ ...PRODUCTION, DATA_DIR: await tempDir(), ...envFor(await ports()) });
      expect(await gateway.exited, gateway.transcript).toBe(1);
      const refusals = gateway.output.filter((line) => line.includes(variable));
      expect(refusals, gateway.transcript).toHaveLength(1);
      expect(gateway.transcript).not.toMatch(/^\s+at /m);
    },
    60_000,
  );
});
