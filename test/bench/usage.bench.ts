// `npm run bench:usage`: the reports the console draws at scale (grouped by
// each dimension over 30 days and a year, a member's own, a filtered one),
// from the daily rollup and from the ledger itself (ratio in the same run),
// the seeder's rows/s and the rollup rows it makes, and what keeping the
// rollup costs each finalize. Uses DATABASE_URL when set (default 10M rows),
// else an embedded database in a temporary directory (default 1M rows).
// BENCH_EVENTS, BENCH_REPORT_RUNS (rollup) and BENCH_LEDGER_RUNS (the ledger,
// seconds a run at 10M rows) override the sizes; BENCH_WORKSPACE measures a
// workspace seeded before (no seeding).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import { createLedger, type Reservation } from '../../src/modules/usage/ledger.js';
import { DIMENSIONS, type ReportQuery, usageReport } from '../../src/modules/usage/report.js';
import { seedUsage } from '../../src/modules/usage/seed.js';
import { SUCCEEDED_CALL } from './call-record.js';
import { measure, percentile, report, type Sample } from './measure.js';

const postgres = process.env.DATABASE_URL;
const EVENTS = Number(process.env.BENCH_EVENTS ?? (postgres ? 10_000_000 : 1_000_000));
const RUNS = Number(process.env.BENCH_REPORT_RUNS ?? 20);
const LEDGER_RUNS = Number(process.env.BENCH_LEDGER_RUNS ?? 3);
const FINALIZES = Number(process.env.BENCH_FINALIZES ?? 2_000);

const dataDir = postgres ? undefined : mkdtempSync(path.join(tmpdir(), 'bench-usage-'));
const db: Database = await openDatabase(postgres ? { kind: 'postgres', url: postgres } : { kind: 'pglite', dataDir: dataDir! });
await migrate(db);
const catalog = createCatalog();
const workspaceId = process.env.BENCH_WORKSPACE ?? `bench-usage-${randomUUID().slice(0, 8)}`;
const until = new Date();

// 1. The seeder.
if (process.env.BENCH_WORKSPACE) {
  const [{ n }] = await db.sql.query<{ n: bigint }>('SELECT count(*) AS n FROM usage_events WHERE workspace_id = $1', [workspaceId]);
  console.log(`bench:usage on ${postgres ? 'Postgres' : 'PGlite (embedded)'}: ${n.toLocaleString('en-US')} ledger rows already in ${workspaceId} (not seeding)`);
} else {
  console.log(`bench:usage on ${postgres ? 'Postgres' : 'PGlite (embedded)'}: seeding ${EVENTS.toLocaleString('en-US')} ledger rows into ${workspaceId}`);
  let printed = 0;
  const seeded = await seedUsage(db.sql, catalog, {
    workspaceId,
    events: EVENTS,
    until,
    onProgress: (n) => {
      if (n < printed + EVENTS / 10 && n !== EVENTS) return;
      console.log(`  ${n.toLocaleString('en-US')}`);
      printed = n;
    },
  });
  console.log(
    `\nseeder: ${seeded.written.toLocaleString('en-US')} rows in ${seeded.seconds.toFixed(1)} s = ${Math.round(seeded.written / seeded.seconds).toLocaleString('en-US')} rows/s (rollup rebuild included)`,
  );
}
const [shape] = await db.sql.query<{ rows: bigint; days: bigint; users: bigint; agents: bigint; operations: bigint; models: bigint }>(
  `SELECT count(*) AS rows, count(DISTINCT day) AS days, count(DISTINCT user_id) AS users, count(DISTINCT agent) AS agents, count(DISTINCT operation) AS operations,
    count(DISTINCT model) AS models FROM usage_daily WHERE workspace_id = $1`,
  [workspaceId],
);
console.log(
  `rollup: ${shape.rows.toLocaleString('en-US')} rows over ${shape.days} days (${shape.users} users, ${shape.agents} agents and ${shape.operations} operations counting none, ${shape.models} models)`,
);
await db.sql.query('ANALYZE usage_events');
await db.sql.query('ANALYZE usage_daily');

// 2. The reports the console draws (whole local days, so the rollup answers), each from the rollup and from the ledger.
const midnight = new Date(Date.UTC(until.getUTCFullYear(), until.getUTCMonth(), until.getUTCDate()));
const daysAgo = (n: number) => new Date(midnight.getTime() - n * 86_400_000);
const base = { workspaceId, timezone: 'UTC' } as const;
// The member with the most calls (the seeder's busiest person), as their own console shows it: grouped by provider.
const [{ member }] = await db.sql.query<{ member: string }>('SELECT user_id AS member FROM usage_daily WHERE workspace_id = $1 GROUP BY 1 ORDER BY sum(requests) DESC LIMIT 1', [
  workspaceId,
]);
const reports: Array<[string, ReportQuery]> = [
  ...[30, 365].flatMap((days) =>
    DIMENSIONS.map((d): [string, ReportQuery] => [`${days} d by DAY, ${d}`, { ...base, from: daysAgo(days), to: midnight, bucket: 'DAY', groupBy: [d] }]),
  ),
  ...[30, 365].map((days): [string, ReportQuery] => [
    `${days} d by DAY, a member's own, PROVIDER`,
    { ...base, userId: member, from: daysAgo(days), to: midnight, bucket: 'DAY', groupBy: ['PROVIDER'] },
  ]),
  [
    '30 d by DAY, OPERATION, agent+success filter',
    { ...base, from: daysAgo(30), to: midnight, bucket: 'DAY', groupBy: ['OPERATION'], filter: { agents: ['support-bot'], success: true } },
  ],
  ['365 d by MONTH, ungrouped', { ...base, from: daysAgo(365), to: midnight, bucket: 'MONTH', groupBy: [] }],
];
const ms = (micros: number) => `${(micros / 1000).toFixed(1)} ms`;
const p = (sample: Sample) => `${ms(percentile(sample.micros, 50)).padStart(10)} ${ms(percentile(sample.micros, 95)).padStart(10)}`;
// The rollup column is the report as the console gets it: from the smallest rollup that answers it (named last:
// rollup is usage_daily, userRollup usage_daily_by_user).
console.log(`\nReports (p50 p95; the ledger ${LEDGER_RUNS} runs, the rollups ${RUNS}; target p50 ≤ 50 ms for 30 days, ≤ 100 ms for a year)`);
console.log(`  ${'report'.padEnd(46)} ${'ledger p50'.padStart(10)} ${'p95'.padStart(10)}   ${'rollup p50'.padStart(10)} ${'p95'.padStart(10)}   speed-up  target  read`);
for (const [name, query] of reports) {
  const ledger = await measure(name, LEDGER_RUNS, () => usageReport(db.sql, query, { source: 'ledger' }), 0);
  const { source } = await usageReport(db.sql, query);
  const rollup = await measure(name, RUNS, () => usageReport(db.sql, query), 2);
  const p50 = percentile(rollup.micros, 50);
  const target = name.startsWith('30 d') ? 50_000 : 100_000;
  console.log(
    `  ${name.padEnd(46)} ${p(ledger)}   ${p(rollup)}   ×${(percentile(ledger.micros, 50) / p50).toFixed(0).padStart(6)}  ${(p50 <= target ? 'met' : 'MISSED').padEnd(6)}  ${source}`,
  );
}
// Hour buckets are finer than the rollup's days: always the ledger, measured against a 24-hour DAY report from the rollup.
const hourQuery: ReportQuery = { ...base, from: daysAgo(1), to: midnight, bucket: 'HOUR', groupBy: ['PROVIDER'] };
report(
  '24-hour HOUR report by PROVIDER (the rollup cannot answer hours)',
  await measure('24-hour DAY report by PROVIDER, from the rollup', RUNS, () => usageReport(db.sql, { ...hourQuery, bucket: 'DAY' }, { source: 'rollup' }), 2),
  [await measure('24-hour HOUR report by PROVIDER, from the ledger', RUNS, () => usageReport(db.sql, hourQuery, { source: 'ledger' }), 2)],
);

// 3. Finalize: reserve + finalize a call, keeping the rollup and not.
const [provider] = await db.sql.query<{ id: string }>(`SELECT id::text FROM providers WHERE workspace_id = $1 LIMIT 1`, [workspaceId]);
const reservation: Reservation = {
  workspaceId,
  providerId: provider.id,
  providerScope: `provider:${provider.id}`,
  kind: 'OPENAI',
  model: 'gpt-4o-mini',
  agent: 'bench',
  operation: 'finalize',
  userId: 'bench',
  streamed: false,
  promptEstimate: 300,
  output: { max: 700, min: 700 },
  reservedAt: new Date(),
};
const noLimits = { providerDailyTokens: null, providerMonthlyMicros: null, workspaceDailyTokens: null, workspaceMonthlyMicros: null };
const finalizeWith = async (ledger: ReturnType<typeof createLedger>) => {
  const ids: string[] = [];
  for (let i = 0; i < FINALIZES + 50; i++) ids.push((await ledger.reserve(reservation, { platform: false, timezone: 'UTC', limits: noLimits })).id);
  let next = 0;
  return (name: string) => measure(name, FINALIZES, () => ledger.finalize(ids[next++], reservation, SUCCEEDED_CALL, 'UTC'), 50);
};
const withoutRollup = await (await finalizeWith(createLedger(db.sql, catalog.price, () => new Date(), 50, { maintainRollup: false })))(
  'finalize without the rollup (row + 4 counters)',
);
const withRollup = await (await finalizeWith(createLedger(db.sql, catalog.price, () => new Date(), 50)))('finalize keeping the rollups (row + 4 counters + 2 rollup rows)');
report('Ledger finalize, one call at a time', withoutRollup, [withRollup]);

await db.close();
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
