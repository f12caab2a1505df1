// `npm run bench:limits`: reserve + finalize throughput and latency at 1, 16
// and 64 concurrent callers, all on one provider's counters (the contended
// case) and each on counters of its own, with limits set (every guard checked)
// against the same run with no limits (ratio in the same run). Uses
// DATABASE_URL when set, else an embedded database in a temporary directory.
// BENCH_CALLS sets the calls per level (default 2,000).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import { createLedger, type Limits, type Reservation } from '../../src/modules/usage/ledger.js';
import { SUCCEEDED_CALL } from './call-record.js';
import { percentile } from './measure.js';

const postgres = process.env.DATABASE_URL;
const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const dataDir = postgres ? undefined : mkdtempSync(path.join(tmpdir(), 'bench-limits-'));
const db = await openDatabase(postgres ? { kind: 'postgres', url: postgres } : { kind: 'pglite', dataDir: dataDir! });
await migrate(db);
const ledger = createLedger(db.sql, createCatalog().price, () => new Date(), 50);
const OFF: Limits = { providerDailyTokens: null, providerMonthlyMicros: null, workspaceDailyTokens: null, workspaceMonthlyMicros: null };
// Limits far above what the run uses: every guard is evaluated and holds.
const ON: Limits = { providerDailyTokens: 10n ** 15n, providerMonthlyMicros: 10n ** 15n, workspaceDailyTokens: 10n ** 15n, workspaceMonthlyMicros: 10n ** 15n };

function reservationFor(caller: number, shared: boolean): Reservation {
  const workspaceId = shared ? 'bench-limits-shared' : `bench-limits-${caller}`;
  const providerId = shared ? SHARED_PROVIDER : CALLER_PROVIDERS[caller];
  return {
    workspaceId,
    providerId,
    providerScope: `provider:${providerId}`,
    kind: 'OPENAI',
    model: 'gpt-4o-mini',
    userId: 'bench',
    streamed: false,
    promptEstimate: 300,
    output: { max: 700, min: 700 },
    reservedAt: new Date(),
  };
}
const SHARED_PROVIDER = randomUUID();
const CALLER_PROVIDERS = Array.from({ length: 64 }, () => randomUUID());
await db.sql.query('INSERT INTO workspaces (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [
  ['bench-limits-shared', ...CALLER_PROVIDERS.map((_, i) => `bench-limits-${i}`)],
]);

async function run(concurrency: number, shared: boolean, limits: Limits) {
  const micros: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      for (let i = caller; i < CALLS; i += concurrency) {
        const reservation = { ...reservationFor(caller, shared), reservedAt: new Date() };
        const t0 = performance.now();
        const { id } = await ledger.reserve(reservation, { platform: false, timezone: 'UTC', limits });
        await ledger.finalize(id, reservation, SUCCEEDED_CALL, 'UTC');
        micros.push((performance.now() - t0) * 1000);
      }
    }),
  );
  return { perSecond: CALLS / ((performance.now() - started) / 1000), p50: percentile(micros, 50) / 1000, p99: percentile(micros, 99) / 1000 };
}

console.log(`bench:limits on ${postgres ? 'Postgres' : 'PGlite (embedded)'}: ${CALLS} reserve+finalize pairs per level`);
console.log('  counters        clients   limits off: calls/s  p50 ms  p99 ms    limits on: calls/s  p50 ms  p99 ms    ×calls/s  added p99 ms');
for (const shared of [true, false]) {
  for (const concurrency of [1, 16, 64]) {
    await run(concurrency, shared, OFF); // warm-up
    const off = await run(concurrency, shared, OFF);
    const on = await run(concurrency, shared, ON);
    console.log(
      `  ${(shared ? 'one provider' : 'one per caller').padEnd(15)} ${String(concurrency).padStart(7)}   ${off.perSecond.toFixed(0).padStart(18)} ${off.p50.toFixed(2).padStart(7)} ${off.p99.toFixed(2).padStart(7)}   ${on.perSecond.toFixed(0).padStart(18)} ${on.p50.toFixed(2).padStart(7)} ${on.p99.toFixed(2).padStart(7)}   ${(on.perSecond / off.perSecond).toFixed(2).padStart(9)} ${(on.p99 - off.p99).toFixed(2).padStart(13)}`,
    );
  }
}
await db.close();
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
