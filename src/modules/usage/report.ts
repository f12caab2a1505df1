// The usage report, computed in SQL: the smallest source that can answer it
// (the per-user daily rollup, the daily rollup, or the ledger itself) is read
// once, its rows grouped into the series' non-empty cells, the groups and the
// totals summed from the cells, and the series is zero-filled from them (every
// bucket × every group); the top models, when asked, are a statement of their
// own. Buckets are truncated in the workspace's time zone, so days and months
// follow its DST changes. The bounds are checked before cells are read.
import type { Sql } from '../../db/sql.js';
import { AppError, BadUserInputError } from '../../errors.js';
import { dayKey } from '../limits/periods.js';

export type Dimension = 'PROVIDER' | 'MODEL' | 'AGENT' | 'OPERATION' | 'USER';
export type Bucket = 'HOUR' | 'DAY' | 'WEEK' | 'MONTH';
export const DIMENSIONS: readonly Dimension[] = ['PROVIDER', 'MODEL', 'AGENT', 'OPERATION', 'USER'];

export interface UsageFilter {
  providerIds?: readonly string[] | null;
  models?: readonly string[] | null;
  agents?: readonly string[] | null;
  operations?: readonly string[] | null;
  /** Admins narrowing to some people; a member's calls are their own whatever this says. */
  userIds?: readonly string[] | null;
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
  /**
   * The MAX_TOP_MODELS models with the most tokens, most first, equal ones by name (callers take as many as they
   * show): read when first asked, by a statement of their own (a grouping set for them in every report's pass cost
   * a year by provider 54 ms instead of 35, by user 157 instead of 137, and the console's reports never ask). It
   * reads the rows as they are then: a call finished in between counts there and not in the report.
   */
  topModels(): Promise<Array<{ key: GroupKey; totals: Totals }>>;
  /** Where the numbers came from: a daily rollup or the ledger itself. */
  source: Source;
}

// What one report may ask for. The GraphQL answer is built in memory, so its series is bounded tighter than the
// CSV export's, which streams a page of PAGE_CELLS at a time.
export const MAX_BUCKETS = 5_000;
export const MAX_GROUPS = 1_000;
export const MAX_REPORT_CELLS = 50_000;
export const MAX_EXPORT_CELLS = 1_000_000;
const PAGE_CELLS = 10_000;
/** Work memory for a report's statement: it hashes at most MAX_REPORT_CELLS cells, MAX_GROUPS groups and the models. */
const REPORT_WORK_MEM = '32MB';
/** The most `topModels` gives. */
export const MAX_TOP_MODELS = 100;
const MAX_FILTER_VALUES = 200;
const BUCKET_HOURS: Record<Bucket, number> = { HOUR: 1, DAY: 24, WEEK: 24 * 7, MONTH: 24 * 28 };
const UNIT: Record<Bucket, string> = { HOUR: 'hour', DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** The start of the `unit` holding a rollup `day` (a date), as an instant in the time zone `tz`. */
const localBucket = (unit: string, day: string, tz: string) => `(date_trunc('${unit}', ${day}::timestamp) AT TIME ZONE ${tz})`;

/** An instant as milliseconds since the epoch, as bucket starts are returned. */
const epochMs = (instant: string) => `(date_part('epoch', ${instant}) * 1000)::int8`;

/** Where each dimension and filter reads from, in the ledger and in the rollups (which store '' for none). */
const LEDGER = {
  table: 'usage_events',
  // What rows are grouped by in time (the bucket itself), and the bucket start of such a group.
  grain: (unit: string, tz: string) => `date_trunc('${unit}', created_at, ${tz})`,
  bucketOf: (grain: string, _unit: string, _tz: string) => grain,
  range: (from: string, to: string) => `created_at >= ${from} AND created_at < ${to} AND status <> 'RESERVED'`,
  column: { PROVIDER: `COALESCE(provider_id::text, '')`, MODEL: 'model', AGENT: `COALESCE(agent, '')`, OPERATION: `COALESCE(operation, '')`, USER: `COALESCE(user_id, '')` },
  success: (succeeded: boolean) => (succeeded ? `status = 'SUCCEEDED'` : `status <> 'SUCCEEDED'`),
  sums: (_success?: boolean | null) => `count(*) AS requests, count(*) FILTER (WHERE status = 'FAILED') AS failed, sum(prompt_tokens) AS prompt,
      sum(completion_tokens) AS completion, sum(total_tokens) AS total, sum_int8(cost_micros) AS cost, sum(duration_ms) AS dsum, count(duration_ms) AS dcount`,
} as const;

const ROLLUP = {
  table: 'usage_daily',
  // By day, rows are grouped by their day and only the cells' days become instants: converting every row's day
  // costs more than the grouping itself (40 ms of 70 for a year's 73,000 rows). Weeks and months are grouped by
  // the bucket itself, so that no more groups are hashed than the report has cells.
  grain: (unit: string, tz: string) => (unit === 'day' ? 'day' : localBucket(unit, 'day', tz)),
  bucketOf: (grain: string, unit: string, tz: string) => (unit === 'day' ? localBucket(unit, grain, tz) : grain),
  range: (from: string, to: string) => `day >= ${from} AND day < ${to}`,
  column: { PROVIDER: 'provider_id', MODEL: 'model', AGENT: 'agent', OPERATION: 'operation', USER: 'user_id' },
  // A row holds all its calls and its SUCCEEDED calls apart: the success filter keeps the rows that have such calls
  // and sums those calls' columns (the unsuccessful ones are all minus the succeeded).
  success: (succeeded: boolean) => (succeeded ? 'succeeded_requests > 0' : 'requests > succeeded_requests'),
  sums: (success?: boolean | null) => {
    const of = (column: string) => `sum_int8(${success == null ? column : success ? `succeeded_${column}` : `${column} - succeeded_${column}`})`;
    return `${of('requests')} AS requests, ${success ? '0::int8' : 'sum_int8(failed_requests)'} AS failed, ${of('prompt_tokens')} AS prompt,
        ${of('completion_tokens')} AS completion, ${of('total_tokens')} AS total, ${of('cost_micros')} AS cost, ${of('duration_ms_sum')} AS dsum,
        ${of('duration_count')} AS dcount`;
  },
} as const;

const SOURCES = {
  ledger: LEDGER,
  rollup: ROLLUP,
  /** usage_daily summed over all but the user: it answers what the rollup does when nothing but the user is grouped or filtered by. */
  userRollup: { ...ROLLUP, table: 'usage_daily_by_user' },
} as const;
export type Source = keyof typeof SOURCES;

const SUMMED = ['requests', 'failed', 'prompt', 'completion', 'total', 'cost', 'dsum', 'dcount'] as const;

interface Row {
  part: 'bucket' | 'group' | 'series' | 'total';
  /** The bucket start in milliseconds since the epoch. */
  bucket: bigint | null;
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
  /** A series row's cells: CELLS_TEXT. */
  cells: string | null;
}

/**
 * The cells of a series row (one group's, or the ungrouped report's), as one text: per cell its bucket start in
 * milliseconds since the epoch and its SUMMED values, integers joined by ',', cells by ';'. A year by day grouped by
 * 40 people is 14,600 cells: as rows, node-postgres made a string of each of their 146,000 values, a BigInt of
 * each sum and a Date of each bucket, and collecting that garbage took longer than Postgres took to compute them
 * (the statement 85 ms, its execution 22); as 40 texts it is read in 45.
 */
const CELLS_TEXT = `string_agg(concat_ws(',', bucket, ${SUMMED.map((c) => `COALESCE(${c}, 0)`).join(', ')}), ';')`;

/** The WHERE conditions of a usage filter, on the ledger or the rollup; `param` adds a value and names its placeholder. */
export function filterConditions(filter: UsageFilter | null | undefined, on: Source, param: (value: unknown) => string): string[] {
  const column = SOURCES[on].column;
  const conditions: string[] = [];
  const lists: Array<[Dimension, readonly string[] | null | undefined]> = [
    ['PROVIDER', filter?.providerIds],
    ['MODEL', filter?.models],
    ['AGENT', filter?.agents],
    ['OPERATION', filter?.operations],
    ['USER', filter?.userIds],
  ];
  for (const [dimension, list] of lists) if (list?.length) conditions.push(`${column[dimension]} = ANY(${param(list)}::text[])`);
  if (filter?.success != null) conditions.push(SOURCES[on].success(filter.success));
  return conditions;
}

/** BAD_USER_INPUT with `extensions.limit` naming the bound, as the operation limits do. */
export function boundExceeded(limit: 'buckets' | 'groups' | 'seriesCells' | 'rangeDays', message: string, field?: string): AppError {
  return new AppError('BAD_USER_INPUT', message, { limit, ...(field ? { field } : {}) });
}

/** Ranges are [from, to): an empty or reversed one is a mistake, not a question with no answer. */
export function checkRange(range: { from: Date; to: Date }): void {
  if (!(range.from < range.to)) throw new BadUserInputError('range.from must be before range.to', 'range');
}

/** A filter's lists are bounded wherever one is read: reports, events and the CSV export. */
export function validateFilter(filter: UsageFilter | null | undefined): void {
  for (const [field, values] of Object.entries(filter ?? {})) {
    if (Array.isArray(values) && values.length > MAX_FILTER_VALUES) throw new BadUserInputError(`At most ${MAX_FILTER_VALUES} values per filter`, `filter.${field}`);
  }
}

export function validateReport(query: ReportQuery): void {
  checkRange(query);
  const buckets = (query.to.getTime() - query.from.getTime()) / 3_600_000 / BUCKET_HOURS[query.bucket];
  if (buckets > MAX_BUCKETS)
    throw boundExceeded('buckets', `At most ${MAX_BUCKETS.toLocaleString('en-US')} buckets per report: choose a larger bucket or a shorter range`, 'bucket');
  validateFilter(query.filter);
}

/** True when `at` is the first instant of a day in `timeZone`. */
function isLocalMidnight(at: Date, timeZone: string): boolean {
  return dayKey(new Date(at.getTime() - 1), timeZone) !== dayKey(at, timeZone);
}

/**
 * The rollup answers every report of whole local days in day, week or month
 * buckets, whatever it groups or filters by, a member's own included (its rows
 * are per day, provider, model, agent, operation and user). Hours, and ranges
 * that start or end inside a local day, read the ledger.
 */
export function rollupCanAnswer(query: ReportQuery): boolean {
  return query.bucket !== 'HOUR' && isLocalMidnight(query.from, query.timezone) && isLocalMidnight(query.to, query.timezone);
}

/**
 * usage_daily_by_user answers what the rollup does when the report groups by
 * the user or by nothing, and filters by nothing but users and success: a year
 * of a workspace's days by person is a row a day and person there, against
 * five (providers, models, agents, operations) in usage_daily.
 */
export function userRollupCanAnswer(query: ReportQuery): boolean {
  const { providerIds, models, agents, operations } = query.filter ?? {};
  return rollupCanAnswer(query) && query.groupBy.every((d) => d === 'USER') && [providerIds, models, agents, operations].every((values) => !values?.length);
}

const CAN_ANSWER: Record<Source, (query: ReportQuery) => boolean> = { userRollup: userRollupCanAnswer, rollup: rollupCanAnswer, ledger: () => true };
const SMALLEST_FIRST: readonly Source[] = ['userRollup', 'rollup', 'ledger'];

/** The smallest source that answers the report (the ledger answers every one). */
const sourceFor = (query: ReportQuery): Source => SMALLEST_FIRST.find((source) => CAN_ANSWER[source](query))!;

/**
 * What a report's statements share: the source read, the dimensions grouped by, the placeholders and the SQL of
 * its parts. Each placeholder is made by the first part that uses it: Postgres refuses one a statement leaves unused
 * (an ungrouped series' buckets name no workspace, the top models no time zone).
 */
function statementParts(query: ReportQuery, sourceName: Source) {
  const source = SOURCES[sourceName];
  const dims = DIMENSIONS.filter((d) => query.groupBy.includes(d));
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  let workspace: string | undefined;
  let zone: string | undefined;
  const tz = () => (zone ??= param(query.timezone));
  const unit = UNIT[query.bucket];
  const grain = () => source.grain(unit, tz());
  const dimRefs = dims.map((_, i) => `d${i}`);
  return {
    source,
    dims,
    values,
    param,
    dimRefs,
    dimCols: dims.map((d, i) => `${source.column[d]} AS d${i}`),
    /** What rows are grouped by in time. */
    grain,
    /** The bucket start of rows grouped by `grain()`. */
    bucket: () => source.bucketOf(grain(), unit, tz()),
    /** d0…d4 of a result: `grouped(i)` for the grouped ones, NULL past them. */
    outDims: (grouped: (i: number) => string) => [0, 1, 2, 3, 4].map((i) => `${i < dims.length ? grouped(i) : 'NULL::text'} AS d${i}`).join(', '),
    /** The source's rows the viewer may see in [from, to) that pass the filter. */
    where(from: Date, to: Date): string {
      const where = [`workspace_id = ${(workspace ??= param(query.workspaceId))}`];
      if (sourceName !== 'ledger') where.push(source.range(`${param(dayKey(from, query.timezone))}::date`, `${param(dayKey(to, query.timezone))}::date`));
      else where.push(source.range(`${param(from)}::timestamptz`, `${param(to)}::timestamptz`));
      if (query.userId) where.push(`${source.column.USER} = ${param(query.userId)}`);
      where.push(...filterConditions(query.filter, sourceName, param));
      return where.join(' AND ');
    },
    /** Bucket starts as rows of `b`: hours step in absolute time; days, weeks and months step in local time. */
    bucketStarts(): string {
      const from = param(query.from);
      const to = param(query.to);
      const zone = tz();
      const series =
        query.bucket === 'HOUR'
          ? `SELECT b FROM generate_series(date_trunc('hour', ${from}::timestamptz, ${zone}), ${to}::timestamptz, interval '1 hour') AS s(b)`
          : `SELECT local AT TIME ZONE ${zone} AS b FROM generate_series(date_trunc('${unit}', ${from}::timestamptz, ${zone}) AT TIME ZONE ${zone}, ${to}::timestamptz AT TIME ZONE ${zone}, interval '1 ${unit}') AS s(local)`;
      return `SELECT b FROM (${series}) AS starts WHERE b < ${to}::timestamptz`;
    },
  };
}

/** Refuses a report whose series would pass a bound, before its cells are read. */
function checkSeriesSize(buckets: number, groups: number, maxCells: number): void {
  if (groups > MAX_GROUPS)
    throw boundExceeded('groups', `At most ${MAX_GROUPS.toLocaleString('en-US')} groups per report: group by fewer dimensions, filter, or choose a shorter range`);
  if (buckets * groups > maxCells) {
    throw boundExceeded(
      'seriesCells',
      `At most ${maxCells.toLocaleString('en-US')} series cells (buckets × groups) here, this asks for ${(buckets * groups).toLocaleString('en-US')}: choose a larger bucket, a shorter range or fewer groups`,
    );
  }
}

/** Groups in series order: by key, so every bucket lists them alike. */
const byKey = (a: GroupKey, b: GroupKey) => JSON.stringify(a).localeCompare(JSON.stringify(b));
/** Groups by their tokens, most first; equal ones by their values, so that the order does not depend on how the rows came. */
function byTokens(a: { key: GroupKey; totals: Totals }, b: { key: GroupKey; totals: Totals }): number {
  const [x, y] = [a, b].map((group) => DIMENSIONS.map((d) => group.key[d] ?? '').join('\u0000'));
  return b.totals.totalTokens - a.totals.totalTokens || (x < y ? -1 : x > y ? 1 : 0);
}
const keyOf = (row: Pick<Row, 'd0' | 'd1' | 'd2' | 'd3' | 'd4'>, names: readonly Dimension[]): GroupKey =>
  Object.fromEntries(names.map((d, i) => [d, row[`d${i}` as 'd0'] || null]));

/** A row's first `count` dimension values as one string, '' for none, as a group's key is written to find its cells. */
function dimsText(row: Pick<Row, 'd0' | 'd1' | 'd2' | 'd3' | 'd4'>, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${i ? '\u0000' : ''}${row[`d${i}` as 'd0'] ?? ''}`;
  return text;
}

/**
 * Every bucket × every group, zero where no call fell; `series` holds each group's non-empty cells (its rows' d0…d4
 * name the group).
 */
function zeroFilled(buckets: readonly Date[], groups: readonly GroupKey[], dims: readonly Dimension[], series: readonly Row[]): UsageReport['series'] {
  // A year of days by forty people is 14,600 points: a cell finds its point by the indexes of its bucket and group.
  const bucketAt = new Map(buckets.map((bucketStart, i) => [bucketStart.getTime(), i]));
  const groupAt = new Map(groups.map((key, i) => [dims.map((d) => key[d] ?? '').join('\u0000'), i]));
  const points = new Array<Totals>(buckets.length * groups.length).fill(totalsOf(undefined));
  for (const row of series) {
    const group = groupAt.get(dimsText(row, dims.length))!;
    readCells(row.cells ?? '', (bucketMs, totals) => {
      points[bucketAt.get(bucketMs)! * groups.length + group] = totals;
    });
  }
  return points.map((totals, i) => ({ bucketStart: buckets[Math.floor(i / groups.length)], key: dims.length ? groups[i % groups.length] : null, totals }));
}

/** Digits a double holds exactly, whatever they are. */
const EXACT_DIGITS = 15;
/** Where a cell's cost is among its values (after its bucket). */
const COST_AT = 1 + SUMMED.indexOf('cost');
const [ZERO_DIGIT, NINE_DIGIT, MINUS, SEMICOLON] = ['0', '9', '-', ';'].map((c) => c.charCodeAt(0));

/**
 * Reads the cells of a CELLS_TEXT, calling `cell` with each one's bucket start and totals. Values are read digit by
 * digit, with no string made of each; a cost of more digits than a double holds exactly is read again as a bigint.
 */
function readCells(text: string, cell: (bucketMs: number, totals: Totals) => void): void {
  if (!text) return;
  const values: number[] = [];
  let value = 0;
  let negative = false;
  let digits = 0;
  let cost = 0n;
  for (let at = 0; at <= text.length; at++) {
    const code = at < text.length ? text.charCodeAt(at) : SEMICOLON; // the end ends the last cell
    if (code >= ZERO_DIGIT && code <= NINE_DIGIT) {
      value = value * 10 + code - ZERO_DIGIT;
      digits++;
      continue;
    }
    if (code === MINUS) {
      negative = true;
      continue;
    }
    if (values.length === COST_AT) cost = digits > EXACT_DIGITS ? BigInt(text.slice(at - digits - (negative ? 1 : 0), at)) : BigInt(negative ? -value : value);
    values.push(negative ? -value : value);
    value = 0;
    negative = false;
    digits = 0;
    if (code !== SEMICOLON) continue;
    if (values.length !== SUMMED.length + 1) throw new Error(`A report cell has ${values.length} values, not ${SUMMED.length + 1}`);
    cell(values[0], totals(values.slice(1), cost));
    values.length = 0;
  }
}

/** `options.source` reads another source than the smallest that answers (the tests and benchmarks compare them). */
export async function usageReport(sql: Sql, query: ReportQuery, options: { source?: Source } = {}): Promise<UsageReport> {
  validateReport(query);
  if (options.source && !CAN_ANSWER[options.source](query)) throw new Error(`The source ${options.source} cannot answer this report`);
  const sourceName = options.source ?? sourceFor(query);
  const { source, dims, values, param, dimRefs, dimCols, grain, bucket, outDims, where, bucketStarts } = statementParts(query, sourceName);
  const maxGroups = param(MAX_GROUPS);
  const maxCells = param(MAX_REPORT_CELLS);
  // One pass over the source's rows gives the series' cells (time and dimensions); the groups and the totals are
  // summed from the cells, which are far fewer than the rows (a grouping set more over the rows costs more than a
  // second pass over the cells).
  const summed = SUMMED.join(', ');
  const resummed = SUMMED.map((c) => `sum_int8(${c}) AS ${c}`).join(', ');
  // Ungrouped, the series has one "group": the whole report.
  const groupCount = dims.length ? '(SELECT count(*) FROM groups)' : '1';

  // Cells are returned only when the series is within its bounds, as a text a group (CELLS_TEXT); past them, the
  // buckets and groups (one more than allowed, at most) say which bound to name.
  const text = `
    WITH cells AS (
      SELECT ${epochMs(bucket())} AS bucket, ${[...dimCols, source.sums(query.filter?.success)].join(', ')}
      FROM ${source.table} WHERE ${where(query.from, query.to)}
      GROUP BY ${[grain(), ...dims.map((d) => source.column[d])].join(', ')}
    ),${dims.length ? ` groups AS (SELECT ${dimRefs.join(', ')}, ${resummed} FROM cells GROUP BY ${dimRefs.join(', ')}),` : ''} buckets AS (
      ${bucketStarts()}
    ), within_bounds AS (
      SELECT ${groupCount} <= ${maxGroups} AND ${groupCount} * (SELECT count(*) FROM buckets) <= ${maxCells} AS ok
    )
    SELECT 'bucket' AS part, ${epochMs('b')} AS bucket, ${outDims(() => 'NULL')}, ${SUMMED.map((c) => `NULL::int8 AS ${c}`).join(', ')}, NULL AS cells FROM buckets
    UNION ALL${
      dims.length
        ? `
    (SELECT 'group', NULL, ${outDims((i) => `d${i}`)}, ${summed}, NULL FROM groups LIMIT ${maxGroups} + 1)
    UNION ALL`
        : ''
    }
    SELECT 'series', NULL, ${outDims((i) => `d${i}`)}, ${SUMMED.map(() => 'NULL').join(', ')}, ${CELLS_TEXT}
    FROM cells WHERE (SELECT ok FROM within_bounds)${dims.length ? ` GROUP BY ${dimRefs.join(', ')}` : ''}
    UNION ALL
    SELECT 'total', NULL, ${outDims(() => 'NULL')}, ${resummed}, NULL FROM cells`;
  const rows = await readReport(sql, sourceName, text, values);

  const part = (name: Row['part']) => rows.filter((row) => row.part === name);
  const buckets = part('bucket')
    .map((row) => new Date(Number(row.bucket)))
    .sort((a, b) => a.getTime() - b.getTime());
  const groupRows = part('group');
  checkSeriesSize(buckets.length, dims.length ? groupRows.length : 1, MAX_REPORT_CELLS);
  const groups = dims.length ? groupRows.map((row) => ({ key: keyOf(row, dims), totals: totalsOf(row) })).sort(byTokens) : [];
  // Ungrouped, the series has one "group": the whole report.
  const seriesGroups = dims.length ? groups.map((g) => g.key).sort(byKey) : [{}];
  let models: Promise<Array<{ key: GroupKey; totals: Totals }>> | undefined;
  return {
    range: { from: query.from, to: query.to },
    totals: totalsOf(part('total')[0]),
    groups,
    series: zeroFilled(buckets, seriesGroups, dims, part('series')),
    topModels: () => (models ??= topModelsOf(sql, query, sourceName)),
    source: sourceName,
  };
}

/**
 * A report's MAX_TOP_MODELS models with the most tokens, most first: a statement of their own, over the report's rows
 * (usage_daily's when the report read usage_daily_by_user, which has no models).
 */
async function topModelsOf(sql: Sql, query: ReportQuery, reportSource: Source): Promise<Array<{ key: GroupKey; totals: Totals }>> {
  const sourceName = reportSource === 'userRollup' ? 'rollup' : reportSource;
  const { source, values, param, where } = statementParts(query, sourceName);
  const text = `SELECT model AS d0, ${source.sums(query.filter?.success)} FROM ${source.table} WHERE ${where(query.from, query.to)}
    GROUP BY model ORDER BY total DESC, model COLLATE "C" LIMIT ${param(MAX_TOP_MODELS)}`;
  const rows = await readReport(sql, sourceName, text, values);
  return rows.map((row) => ({ key: { MODEL: row.d0 }, totals: totalsOf(row) }));
}

/**
 * Runs a report's statement. With Postgres's default 4 MB, a year by day grouped by 40 people is sorted on disk
 * rather than hashed (0.6 s instead of 0.3 s at 10M calls): the statement gets enough to hash its cells, which the
 * bounds keep few. The rollup's rows of a report are read through its index by one process: parallel workers read
 * the whole table instead and take longer to start than the read takes (a year by model: 140 ms with two, 60 ms
 * without).
 */
function readReport(sql: Sql, sourceName: Source, text: string, values: unknown[]): Promise<Row[]> {
  return sql.transaction(async (tx) => {
    const serial = sourceName !== 'ledger' ? `, set_config('max_parallel_workers_per_gather', '0', true)` : '';
    await tx.query(`SELECT set_config('work_mem', '${REPORT_WORK_MEM}', true)${serial}`);
    return tx.query<Row>(text, values);
  });
}

/**
 * A report's zero-filled series in pages of about PAGE_CELLS points, for the CSV export: the buckets and groups
 * are read (and the bounds checked) before this resolves; each page then reads the cells of its own buckets.
 */
export async function usageSeriesPages(sql: Sql, query: ReportQuery): Promise<{ dims: Dimension[]; pages: AsyncGenerator<UsageReport['series']> }> {
  validateReport(query);
  const sourceName = sourceFor(query);
  const shape = statementParts(query, sourceName);
  const { source, dims, dimRefs } = shape;
  // Grouped, the distinct groups too (one more than allowed, at most).
  const distinctGroups = dims.length
    ? ` UNION ALL (SELECT DISTINCT 'group', NULL::int8, ${shape.outDims((i) => source.column[dims[i]])}
    FROM ${source.table} WHERE ${shape.where(query.from, query.to)} LIMIT ${shape.param(MAX_GROUPS)} + 1)`
    : '';
  const rows = await sql.query<Row>(
    `SELECT 'bucket' AS part, ${epochMs('b')} AS bucket, ${shape.outDims(() => 'NULL')} FROM (${shape.bucketStarts()}) AS buckets${distinctGroups}`,
    shape.values,
  );
  const buckets = rows
    .filter((row) => row.part === 'bucket')
    .map((row) => new Date(Number(row.bucket)))
    .sort((a, b) => a.getTime() - b.getTime());
  // Ungrouped, the series has one "group": the whole report.
  const groups = dims.length
    ? rows
        .filter((row) => row.part === 'group')
        .map((row) => keyOf(row, dims))
        .sort(byKey)
    : [{}];
  checkSeriesSize(buckets.length, groups.length, MAX_EXPORT_CELLS);

  async function* pages(): AsyncGenerator<UsageReport['series']> {
    const step = Math.max(1, Math.floor(PAGE_CELLS / Math.max(1, groups.length)));
    for (let first = 0; first < buckets.length; first += step) {
      const page = buckets.slice(first, first + step);
      // The page's calls: from its first bucket (or `from`) to the next page's first bucket (or `to`).
      const from = new Date(Math.max(page[0].getTime(), query.from.getTime()));
      const to = buckets[first + step] ?? query.to;
      const cellsOf = statementParts(query, sourceName);
      const series = await sql.query<Row>(
        `SELECT ${cellsOf.outDims((i) => `d${i}`)}, ${CELLS_TEXT} AS cells FROM (
          SELECT ${epochMs(cellsOf.bucket())} AS bucket, ${[...cellsOf.dimCols, source.sums(query.filter?.success)].join(', ')}
          FROM ${source.table} WHERE ${cellsOf.where(from, to)} GROUP BY ${['1', ...dimRefs].join(', ')}
        ) AS cells${dims.length ? ` GROUP BY ${dimRefs.join(', ')}` : ''}`,
        cellsOf.values,
      );
      yield zeroFilled(page, groups, dims, series);
    }
  }
  return { dims, pages: pages() };
}

/** A row's sums as totals (zero for none). */
function totalsOf(row: Row | undefined): Totals {
  return totals(
    SUMMED.map((column) => Number(row?.[column] ?? 0n)),
    row?.cost ?? 0n,
  );
}

/** Totals from the SUMMED values in their order, the cost given exactly. */
function totals(summed: readonly number[], costMicros: bigint): Totals {
  const [requests, failedRequests, promptTokens, completionTokens, totalTokens, , dsum, dcount] = summed;
  return { requests, failedRequests, promptTokens, completionTokens, totalTokens, costMicros, avgDurationMs: dcount ? dsum / dcount : null };
}
