// `npm run fault:db-outage`: the database goes away under load and comes back.
// Needs DATABASE_URL and two shell commands, DB_STOP_COMMAND and
// DB_START_COMMAND (.ci/run passes pg_ctl's). Eight clients send chat calls
// without pause (each spends OUTAGE_UPSTREAM_MS upstream, between its
// reservation and its finalize); after 5 s the database is stopped for
// OUTAGE_SECONDS (default 30), then started. Prints a per-second timeline and
// exits 1 unless: every failure during the outage is SERVICE_UNAVAILABLE, calls
// succeed again within 15 s of the restart without restarting the gateway, and
// the sweeper leaves no RESERVED row behind.
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../src/app.js';
import { signToken } from '../../src/auth/dev-token.js';
import { loadConfig } from '../../src/config.js';
import { databaseSource, openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPubSubBus } from '../../src/pubsub/pubsub.js';
import { startSimulator } from '../../src/simulator/simulator.js';

const { DATABASE_URL, DB_STOP_COMMAND, DB_START_COMMAND } = process.env;
if (!DATABASE_URL || !DB_STOP_COMMAND || !DB_START_COMMAND) {
  console.error('fault:db-outage needs DATABASE_URL, DB_STOP_COMMAND and DB_START_COMMAND');
  process.exit(2);
}
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 30);
const UPSTREAM_MS = Number(process.env.OUTAGE_UPSTREAM_MS ?? 200);
const CLIENTS = 8;
const RESERVATION_TIMEOUT_MS = 10_000;

const config = loadConfig({
  ...process.env,
  NODE_ENV: 'test',
  PORT: '0',
  JWT_SECRET: 'outage-jwt-secret-that-is-at-least-32-bytes-long',
  ENCRYPTION_KEYS: `outage:${Buffer.alloc(32, 5).toString('base64')}`,
  LOG_LEVEL: 'error',
  PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8',
  RESERVATION_TIMEOUT_MS: String(RESERVATION_TIMEOUT_MS),
  SWEEP_INTERVAL_MS: '1000',
});
const db = await openDatabase(databaseSource(config));
await migrate(db);
const logger = createLogger(config.logLevel);
const bus = await createPubSubBus(config.redisUrl, logger);
const app = buildApp({ config, db, bus, logger });
const { url } = await app.start();
const sim = await startSimulator(0);
const workspaceId = `outage-${randomUUID().slice(0, 8)}`;
const token = await signToken(config.jwt, { workspace: workspaceId, user: 'owner', role: 'owner' });

async function graphql(query: string, variables: Record<string, unknown>): Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(20_000),
  });
  return (await response.json()) as never;
}

const added = await graphql('mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', {
  input: { kind: 'OPENAI', apiKey: `sk-outage#delay=${UPSTREAM_MS}`, baseUrl: sim.baseUrls.openai, skipValidation: true },
});
if (added.errors) throw new Error(JSON.stringify(added.errors));

const started = Date.now();
const second = () => Math.floor((Date.now() - started) / 1000);
const timeline = new Map<number, Record<string, number>>();
const count = (outcome: string) => {
  const bucket = timeline.get(second()) ?? {};
  bucket[outcome] = (bucket[outcome] ?? 0) + 1;
  timeline.set(second(), bucket);
};
const events: Array<[number, string]> = [];
let stopAt = Infinity;
let restartAt = Infinity;
let firstFailure: number | undefined;
let recoveredAt: number | undefined;
let running = true;
const unclear: string[] = [];

async function client(): Promise<void> {
  while (running) {
    const sentAt = Date.now();
    let outcome: string;
    try {
      const result = await graphql('mutation($input: ChatInput!) { chat(input: $input) { content } }', { input: { messages: [{ role: 'USER', content: 'outage' }] } });
      outcome = result.errors ? (result.errors[0].extensions?.code ?? 'NO_CODE') : 'ok';
    } catch (error) {
      outcome = `transport:${(error as Error).name}`;
    }
    count(outcome);
    if (outcome !== 'ok' && sentAt >= stopAt) firstFailure ??= Date.now();
    if (outcome !== 'ok' && outcome !== 'SERVICE_UNAVAILABLE') unclear.push(`${second()}s ${outcome}`);
    if (outcome === 'ok' && sentAt >= restartAt) recoveredAt ??= Date.now();
    if (outcome !== 'ok') await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const load = Promise.all(Array.from({ length: CLIENTS }, client));
await new Promise((resolve) => setTimeout(resolve, 5_000));
stopAt = Date.now();
events.push([second(), 'database stopped']);
execSync(DB_STOP_COMMAND, { stdio: 'inherit' });
await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1000));
execSync(DB_START_COMMAND, { stdio: 'inherit' });
restartAt = Date.now();
events.push([second(), 'database started']);
const recoveryDeadline = Date.now() + 15_000;
while (recoveredAt === undefined && Date.now() < recoveryDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
await new Promise((resolve) => setTimeout(resolve, 3_000));
running = false;
await load;

// Calls cut off between reservation and finalize stay RESERVED until the sweeper abandons them.
const reservedAfterLoad = Number(
  (await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM usage_events WHERE workspace_id = $1 AND status = 'RESERVED'", [workspaceId]))[0].n,
);
const sweepDeadline = Date.now() + RESERVATION_TIMEOUT_MS + 10_000;
let reserved = reservedAfterLoad;
while (reserved > 0 && Date.now() < sweepDeadline) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  reserved = Number((await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM usage_events WHERE workspace_id = $1 AND status = 'RESERVED'", [workspaceId]))[0].n);
}
const statuses = await db.sql.query<{ status: string; n: number }>('SELECT status::text, count(*)::int AS n FROM usage_events WHERE workspace_id = $1 GROUP BY 1 ORDER BY 1', [
  workspaceId,
]);

console.log(`database outage: ${OUTAGE_SECONDS} s under ${CLIENTS} clients (each call ${UPSTREAM_MS} ms upstream)`);
console.log('second | outcomes');
for (const [at, outcomes] of [...timeline.entries()].sort(([a], [b]) => a - b)) {
  const marks = events
    .filter(([s]) => s === at)
    .map(([, what]) => `  <- ${what}`)
    .join('');
  console.log(
    `${String(at).padStart(6)} | ${Object.entries(outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${marks}`,
  );
}
const ms = (at: number | undefined, from: number) => (at === undefined ? 'never' : `${at - from} ms`);
console.log(`first failure after the stop: ${ms(firstFailure, stopAt)}; first success after the restart: ${ms(recoveredAt, restartAt)}`);
console.log(`ledger rows: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}; RESERVED right after the load ${reservedAfterLoad}, after the sweeper ${reserved}`);
console.log(`failures other than SERVICE_UNAVAILABLE: ${unclear.length}${unclear.length ? ` (${unclear.slice(0, 5).join('; ')})` : ''}`);

await app.stop();
await sim.stop();
await bus.close();
await db.close();
const ok = unclear.length === 0 && recoveredAt !== undefined && reserved === 0 && firstFailure !== undefined;
console.log(ok ? 'outage survived' : 'outage NOT survived');
process.exit(ok ? 0 : 1);
