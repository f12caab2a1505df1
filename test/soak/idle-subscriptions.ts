// `npm run soak`: holds SOAK_SUBSCRIPTIONS (default 2,000) idle graphql-ws
// subscriptions on the gateway, closes them, SOAK_CYCLES (default 5) times,
// and reports the gateway's memory per idle subscription (RSS and heap, after
// a full GC) and the heap left after each cycle. Exits 1 when the heap left
// after the last cycle exceeds the first cycle's by more than SOAK_MAX_GROWTH_MB
// (default 8). The gateway runs in this process (with --expose-gc); the
// sockets' other ends live in a child process. DATABASE_URL/REDIS_URL as for
// the gateway; without DATABASE_URL an embedded database in a temporary directory.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { signToken } from '../../src/auth/dev-token.js';
import { mb, settledMemory, startSoakGateway } from './gateway.js';

const SUBSCRIPTIONS = Number(process.env.SOAK_SUBSCRIPTIONS ?? 2_000);
const CYCLES = Number(process.env.SOAK_CYCLES ?? 5);
const MAX_GROWTH_MB = Number(process.env.SOAK_MAX_GROWTH_MB ?? 8);
// Every socket is the same user's: the per-user bound on open operations must let them all in.
const gateway = await startSoakGateway({ MAX_OPERATIONS_PER_USER: String(SUBSCRIPTIONS) });
const { app, db, bus, url, config } = gateway;
const token = await signToken(config.jwt, { workspace: `soak-${Date.now()}`, user: 'soak', role: 'member' });

const clients = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'subscribers.ts')], {
  env: { ...process.env, SOAK_WS_URL: `${url.replace(/^http/, 'ws')}/graphql`, SOAK_TOKEN: token },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies = createInterface({ input: clients.stdout! })[Symbol.asyncIterator]();
async function command(text: string): Promise<string> {
  clients.stdin!.write(`${text}\n`);
  const { value } = await replies.next();
  return String(value);
}

async function openSubscriptions(): Promise<number> {
  const metric = await app.services.metrics.registry.getSingleMetric('gateway_open_subscriptions')!.get();
  return Number(metric.values[0]?.value ?? 0);
}
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the gateway');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

await new Promise((resolve) => setTimeout(resolve, 500));
const start = settledMemory();
console.log(
  `soak: ${SUBSCRIPTIONS} idle subscriptions × ${CYCLES} cycles on ${db.embedded ? 'PGlite' : 'Postgres'}, pub/sub ${bus.transport}; at start RSS ${mb(start.rss)} MB, heap ${mb(start.heapUsed)} MB`,
);
console.log('cycle | RSS per sub (KB) | heap per sub (KB) | RSS held (MB) | heap held (MB) | heap after close (MB)');
const heapAfter: number[] = [];
for (let cycle = 1; cycle <= CYCLES; cycle++) {
  const before = settledMemory();
  const reply = await command(`open ${SUBSCRIPTIONS}`);
  if (reply !== `opened ${SUBSCRIPTIONS}`) throw new Error(`subscribers answered "${reply}"`);
  await until(async () => (await openSubscriptions()) === SUBSCRIPTIONS);
  const held = settledMemory();
  await command('close');
  await until(async () => (await openSubscriptions()) === 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = settledMemory();
  heapAfter.push(after.heapUsed);
  console.log(
    `${cycle} | ${kb((held.rss - before.rss) / SUBSCRIPTIONS)} | ${kb((held.heapUsed - before.heapUsed) / SUBSCRIPTIONS)} | ${mb(held.rss)} | ${mb(held.heapUsed)} | ${mb(after.heapUsed)}`,
  );
}
const growth = heapAfter.at(-1)! - heapAfter[0];
console.log(`heap left after cycle ${CYCLES} vs cycle 1: ${growth >= 0 ? '+' : ''}${mb(growth)} MB (allowed ${MAX_GROWTH_MB} MB)`);

clients.kill();
await gateway.stop();
process.exit(growth > MAX_GROWTH_MB * 2 ** 20 ? 1 : 0);
