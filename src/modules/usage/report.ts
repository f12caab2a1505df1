// The usage report, computed in SQL: the ledger (or, when it can answer, the
// daily rollup) is grouped by bucket and dimensions once; totals, groups, top
// models and the zero-filled series are sums over that small result in the
// same statement. Buckets are truncated in the workspace's time zone, so days
// and months follow its DST changes.
import type { Sql } from '../../db/sql.js';
import { BadUserInputError } from '../../errors.js';
import { dayKey } from '../limits/periods.js';

export type Dimension = 'PROVIDER' | 'MODEL' | 'AGENT' | 'OPERATION' | 'USER';
export type Bucket = 'HOUR' | 'DAY' | 'WEEK' | 'MONTH';
export const DIMENSIONS: readonly Dimension[] = ['PROVIDER', 'MODEL', 'AGENT', 'OPERATION', 'USER'];

export interface UsageFilter {
  providerIds?: readonly string[] | null;
  models?: readonly string[] | null;
  agents?: readonly string[] | null;
  operations?: readonly string[] | null;
  success?: boolean | null;
}

export interface ReportQuery {
  workspaceId: string;
  /** Set for members: only their own calls count. */
  userId?: string;
  from: Date;
  to: Date;
  groupBy: readonly Dimension[];
  bucket: Bucket;
  filter?: UsageFilter | null;
  timezone: string;
}

export interface Totals {
  requests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costMicros: bigint;
  avgDurationMs: number | null;
}

/** Dimension → its value; null where the call had none (no agent, say). */
export type GroupKey = Partial<Record<Dimension, string | null>>;

export interface UsageReport {
  range: { from: Date; to: Date };
  totals: Totals;
  groups: Array<{ key: GroupKey; totals: Totals }>;
  series: Array<{ bucketStart: Date; key: GroupKey | null; totals: Totals }>;
  /** Models by total tokens, most first (callers take as many as they show). */
  models: Array<{ key: GroupKey; totals: Totals }>;
  /** Where the numbers came from: the daily rollup or the ledger itself. */
  source: 'rollup' | 'ledger';
}

export const MAX_BUCKETS = 5_000;
const MAX_FILTER_VALUES = 200;
const BUCKET_HOURS: Record<Bucket, number> = { HOUR: 1, DAY: 24, WEEK: 24 * 7, MONTH: 24 * 28 };
const UNIT: Record<Bucket, string> = { HOUR: 'hour', DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** Where each dimension and filter reads from, in the ledger and in the rollup (which stores '' for none). */
const SOURCES = {
  ledger: {
    table: 'usage_events',
    bucket: (unit: string, tz: string) => `date_trunc('${unit}', created_at, ${tz})`,
    range: (from: string, to: string) => `created_at >= ${from} AND created_at < ${to} AND status <> 'RESERVED'`,
    column: { PROVIDER: `COALESCE(provider_id::text, '')`, MODEL: 'model', AGENT: `COALESCE(agent, '')`, OPERATION: `COALESCE(operation, '')`, USER: `COALESCE(user_id, '')` },
    sums: `count(*) AS requests, count(*) FILTER (WHERE status = 'FAILED') AS failed, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion,
      sum(total_tokens) AS total, sum(cost_micros)::int8 AS cost, sum(duration_ms) AS dsum, count(duration_ms) AS dcount`,
  },
  rollup: {
    table: 'usage_daily',
    bucket: (unit: string, tz: string) => `(date_trunc('${unit}', day::timestamp) AT TIME ZONE ${tz})`,
    range: (from: string, to: string) => `day >= ${from} AND day < ${to}`,
    // The rollup keeps provider and model only (see rollupCanAnswer).
    column: { PROVIDER: 'provider_id', MODEL: 'model', AGENT: 'NULL', OPERATION: 'NULL', USER: 'NULL' },
    sums: `sum(requests)::int8 AS requests, COALESCE(sum(requests) FILTER (WHERE status = 'FAILED'), 0)::int8 AS failed, sum(prompt_tokens)::int8 AS prompt,
      sum(completion_tokens)::int8 AS completion, sum(total_tokens)::int8 AS total, sum(cost_micros)::int8 AS cost, sum(duration_ms_sum)::int8 AS dsum,
      sum(duration_count)::int8 AS dcount`,
  },
} as const;

const SUMMED = ['requests', 'failed', 'prompt', 'completion', 'total', 'cost', 'dsum', 'dcount'] as const;

interface Row {
  part: 'series' | 'group' | 'total' | 'model';
  bucket: Date | null;
  d0: string | null;
  d1: string | null;
  d2: string | null;
  d3: string | null;
  d4: string | null;
  requests: bigint | null;
  failed: bigint | null;
  prompt: bigint | null;
  completion: bigint | null;
  total: bigint | null;
  cost: bigint | null;
  dsum: bigint | null;
  dcount: bigint | null;
}

/** The WHERE conditions of a usage filter, on the ledger or the rollup; `param` adds a value and names its placeholder. */
export function filterConditions(filter: UsageFilter | null | undefined, on: keyof typeof SOURCES, param: (value: unknown) => string): string[] {
  const column = SOURCES[on].column;
  const conditions: string[] = [];
  const lists: Array<[Dimension, readonly string[] | null | undefined]> = [
    ['PROVIDER', filter?.providerIds],
    ['MODEL', filter?.models],
    ['AGENT', filter?.agents],
    ['OPERATION', filter?.operations],
  ];
  for (const [dimension, list] of lists) if (list?.length) conditions.push(`${column[dimension]} = ANY(${param(list)}::text[])`);
  if (filter?.success != null) conditions.push(filter.success ? `status = 'SUCCEEDED'` : `status <> 'SUCCEEDED'`);
  return conditions;
}

export function validateReport(query: ReportQuery): void {
  if (!(query.from < query.to)) throw new BadUserInputError('range.from must be before range.to', 'range');
  const buckets = (query.to.getTime() - query.from.getTime()) / 3_600_000 / BUCKET_HOURS[query.bucket];
  if (buckets > MAX_BUCKETS) throw new BadUserInputError(`At most ${MAX_BUCKETS} buckets per report: choose a larger bucket or a shorter range`, 'bucket');
  for (const [field, values] of Object.entries(query.filter ?? {})) {
    if (Array.isArray(values) && values.length > MAX_FILTER_VALUES) throw new BadUserInputError(`At most ${MAX_FILTER_VALUES} values per filter`, `filter.${field}`);
  }
}

/** True when `at` is the first instant of a day in `timeZone`. */
function isLocalMidnight(at: Date, timeZone: string): boolean {
  return dayKey(new Date(at.getTime() - 1), timeZone) !== dayKey(at, timeZone);
}

const ROLLUP_DIMENSIONS: readonly Dimension[] = ['PROVIDER', 'MODEL'];

/**
 * The rollup answers reports of whole local days in day, week or month buckets
 * that group and filter by provider, model and success only, for the whole
 * workspace (a member's report is restricted to their own calls: the ledger).
 */
export function rollupCanAnswer(query: ReportQuery): boolean {
  const filter = query.filter ?? {};
  return (
    query.bucket !== 'HOUR' &&
    query.userId === undefined &&
    query.groupBy.every((d) => ROLLUP_DIMENSIONS.includes(d)) &&
    !filter.agents?.length &&
    !filter.operations?.length &&
    isLocalMidnight(query.from, query.timezone) &&
    isLocalMidnight(query.to, query.timezone)
  );
}

export async function usageReport(sql: Sql, query: ReportQuery, options: { source?: 'rollup' | 'ledger' } = {}): Promise<UsageReport> {
  validateReport(query);
  if (options.source === 'rollup' && !rollupCanAnswer(query)) throw new Error('The rollup cannot answer this report');
  const sourceName = options.source ?? (rollupCanAnswer(query) ? 'rollup' : 'ledger');
  const source = SOURCES[sourceName];
  const dims = DIMENSIONS.filter((d) => query.groupBy.includes(d));
  const values: unknown[] = [query.workspaceId, query.timezone];
  const param = (value: unknown) => `$${values.push(value)}`;

  const where = [`workspace_id = $1`];
  if (sourceName === 'rollup') where.push(source.range(`${param(dayKey(query.from, query.timezone))}::date`, `${param(dayKey(query.to, query.timezone))}::date`));
  else where.push(source.range(`${param(query.from)}::timestamptz`, `${param(query.to)}::timestamptz`));
  if (query.userId) where.push(`${source.column.USER} = ${param(query.userId)}`);
  where.push(...filterConditions(query.filter, sourceName, param));

  const unit = UNIT[query.bucket];
  const dimCols = dims.map((d, i) => `${source.column[d]} AS d${i}`);
  const dimRefs = dims.map((_, i) => `d${i}`);
  const outDims = (prefix: string) => [0, 1, 2, 3, 4].map((i) => (i < dims.length ? `${prefix}d${i}` : `NULL::text`) + ` AS d${i}`).join(', ');
  // sum() of int8 is numeric in Postgres: every sum is cast back so both drivers return bigint.
  const sums = (p: string) => SUMMED.map((c) => `sum(${p}${c})::int8 AS ${c}`).join(', ');
  const from = param(query.from);
  const to = param(query.to);
  // Bucket starts: hours step in absolute time; days, weeks and months step in local time.
  const buckets =
    query.bucket === 'HOUR'
      ? `SELECT b FROM generate_series(date_trunc('hour', ${from}::timestamptz, $2), ${to}::timestamptz, interval '1 hour') AS s(b)`
      : `SELECT local AT TIME ZONE $2 AS b FROM generate_series(date_trunc('${unit}', ${from}::timestamptz, $2) AT TIME ZONE $2, ${to}::timestamptz AT TIME ZONE $2, interval '1 ${unit}') AS s(local)`;

  const text = `
    WITH agg AS (
      SELECT ${source.bucket(unit, '$2')} AS bucket, ${[...dimCols, `model AS m`].join(', ')}, ${source.sums}
      FROM ${source.table} WHERE ${where.join(' AND ')}
      GROUP BY ${['1', ...dimRefs, 'm'].join(', ')}
    ), buckets AS (
      ${buckets}
    ), groups AS (
      SELECT ${dimRefs.length ? dimRefs.join(', ') + ', ' : ''}${sums('')} FROM agg ${dimRefs.length ? `GROUP BY ${dimRefs.join(', ')}` : ''}
    ), cells AS (
      SELECT bucket, ${dimRefs.length ? dimRefs.join(', ') + ', ' : ''}${sums('')} FROM agg GROUP BY bucket${dimRefs.map((d) => `, ${d}`).join('')}
    )
    SELECT 'series' AS part, b.b AS bucket, ${outDims('g.')}, ${SUMMED.map((c) => `c.${c}`).join(', ')}
      FROM buckets b CROSS JOIN ${dims.length ? 'groups' : '(SELECT 1) AS'} g
      LEFT JOIN cells c ON c.bucket = b.b${dimRefs.map((d) => ` AND c.${d} = g.${d}`).join('')}
      WHERE b.b < ${to}::timestamptz
    UNION ALL
    SELECT 'group', NULL, ${outDims('')}, requests, failed, prompt, completion, total, cost, dsum, dcount FROM groups
    UNION ALL
    SELECT 'total', NULL, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, ${sums('')} FROM agg
    UNION ALL
    SELECT 'model', NULL, m, NULL, NULL, NULL, NULL, ${sums('')} FROM agg GROUP BY m`;
  const rows = await sql.query<Row>(text, values);

  const keyOf = (row: Row, names: readonly Dimension[]): GroupKey => Object.fromEntries(names.map((d, i) => [d, row[`d${i}` as 'd0'] || null]));
  const byTokens = (a: { totals: Totals }, b: { totals: Totals }) => b.totals.totalTokens - a.totals.totalTokens;
  const report: UsageReport = { range: { from: query.from, to: query.to }, totals: totalsOf(undefined), groups: [], series: [], models: [], source: sourceName };
  for (const row of rows) {
    if (row.part === 'series') report.series.push({ bucketStart: row.bucket!, key: dims.length ? keyOf(row, dims) : null, totals: totalsOf(row) });
    else if (row.part === 'group' && dims.length) report.groups.push({ key: keyOf(row, dims), totals: totalsOf(row) });
    else if (row.part === 'total') report.totals = totalsOf(row);
    else if (row.part === 'model') report.models.push({ key: { MODEL: row.d0 }, totals: totalsOf(row) });
  }
  report.groups.sort(byTokens);
  report.models.sort(byTokens);
  report.series.sort((a, b) => a.bucketStart.getTime() - b.bucketStart.getTime() || JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
  return report;
}

function totalsOf(row: Row | undefined): Totals {
  const n = (value: bigint | null | undefined) => Number(value ?? 0n);
  return {
    requests: n(row?.requests),
    failedRequests: n(row?.failed),
    promptTokens: n(row?.prompt),
    completionTokens: n(row?.completion),
    totalTokens: n(row?.total),
    costMicros: row?.cost ?? 0n,
    avgDurationMs: row?.dcount ? Number(row.dsum ?? 0n) / Number(row.dcount) : null,
  };
}
