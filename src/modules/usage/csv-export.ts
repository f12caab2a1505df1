// GET /export/usage.csv?from=&to=[&groupBy=PROVIDER,MODEL&bucket=DAY][&agents=a&agents=b…&success=true]
// The filter is the GraphQL UsageFilter's, one parameter per value (providerIds,
// models, agents, operations, userIds; success=true|false).
// Without groupBy: one line per ledger row, read in pages and written as the
// client takes them (constant memory at any size). With groupBy: the report's
// zero-filled series, one line per bucket and group, read a page of buckets at
// a time as the client takes them (within the report's bounds). Same token and the same
// visibility as the GraphQL API. RFC 4180: CRLF line ends, fields with a comma,
// quote or line break quoted, quotes doubled; text that a spreadsheet would run
// as a formula starts with a quote.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Authenticate, Authentication } from '../../auth/authenticate.js';
import { AppError, BadUserInputError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { microsToUsd } from '../../money.js';
import { type Bucket, DIMENSIONS, type Dimension, type UsageFilter } from './report.js';
import type { UsageService } from './usage.service.js';

export interface CsvExportDeps {
  authenticate: Authenticate;
  usage: UsageService;
  logger: Logger;
}

const EVENT_HEADER = [
  'id',
  'created_at',
  'provider_id',
  'kind',
  'model',
  'agent',
  'operation',
  'user_id',
  'status',
  'streamed',
  'prompt_tokens',
  'cached_prompt_tokens',
  'completion_tokens',
  'reasoning_tokens',
  'total_tokens',
  'usage_source',
  'cost_usd',
  'provider_cost_usd',
  'price_version',
  'duration_ms',
  'ttft_ms',
  'error_code',
  'fallback_from_id',
];
const TOTALS_HEADER = ['requests', 'failed_requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd', 'avg_duration_ms'];
const BUCKETS: readonly Bucket[] = ['HOUR', 'DAY', 'WEEK', 'MONTH'];

/**
 * A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return before one) as a formula: text
 * cells (models, agents, operations, users are caller text) get a leading quote, as OWASP advises. Numbers and
 * dates are written as they are, so a negative number stays a number.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvLine = (fields: readonly unknown[]) => `${fields.map(csvField).join(',')}\r\n`;

export async function exportUsageCsv(req: IncomingMessage, res: ServerResponse, deps: CsvExportDeps): Promise<void> {
  if (req.method !== 'GET') return refuse(res, 405, 'BAD_USER_INPUT', 'Use GET');
  let authentication: Authentication;
  try {
    authentication = await deps.authenticate(req.headers.authorization);
  } catch (error) {
    deps.logger.error({ err: error }, 'usage export failed');
    return refuse(res, 500, 'INTERNAL', 'Unexpected error');
  }
  if (!authentication.viewer) return refuse(res, 401, 'UNAUTHENTICATED', authentication.refusal ?? 'Send a bearer token');
  const { viewer } = authentication;
  let query: ReturnType<typeof parseQuery>;
  try {
    query = parseQuery(new URL(req.url ?? '/', 'http://export').searchParams);
  } catch (error) {
    return refuse(res, 400, 'BAD_USER_INPUT', (error as Error).message, error instanceof AppError ? error.details : {});
  }

  const stop = new AbortController();
  res.once('close', () => stop.abort());
  try {
    if (query.groupBy) {
      // Refusals (bounds) happen before the first byte.
      const { dims, pages } = await deps.usage.seriesPages(viewer, { from: query.from, to: query.to, groupBy: query.groupBy, bucket: query.bucket, filter: query.filter });
      start(res, query);
      await write(res, csvLine(['bucket_start', ...dims.map((d) => d.toLowerCase()), ...TOTALS_HEADER]));
      for await (const page of pages) {
        if (stop.signal.aborted) return;
        const lines = page.map(({ bucketStart, key, totals: t }) =>
          csvLine([
            bucketStart,
            ...dims.map((d) => key?.[d] ?? ''),
            t.requests,
            t.failedRequests,
            t.promptTokens,
            t.completionTokens,
            t.totalTokens,
            microsToUsd(t.costMicros),
            t.avgDurationMs,
          ]),
        );
        await write(res, lines.join(''));
      }
    } else {
      const pages = await deps.usage.eventPages(viewer, { from: query.from, to: query.to, filter: query.filter });
      start(res, query);
      await write(res, csvLine(EVENT_HEADER));
      for await (const page of pages) {
        if (stop.signal.aborted) return;
        const lines = page.map((e) =>
          csvLine([
            e.id,
            e.createdAt,
            e.providerId,
            e.kind,
            e.model,
            e.agent,
            e.operation,
            e.userId,
            e.status,
            e.streamed,
            e.promptTokens,
            e.cachedPromptTokens,
            e.completionTokens,
            e.reasoningTokens,
            e.totalTokens,
            e.usageSource,
            microsToUsd(e.costMicros),
            microsToUsd(e.providerCostMicros),
            e.priceVersion,
            e.durationMs,
            e.ttftMs,
            e.errorCode,
            e.fallbackFromId,
          ]),
        );
        await write(res, lines.join(''));
      }
    }
    res.end();
  } catch (error) {
    if (error instanceof AppError && !res.headersSent) return refuse(res, 400, error.code, error.message, error.details);
    deps.logger.error({ err: error }, 'usage export failed');
    // Mid-stream the status is already sent: cutting the connection tells the client the file is incomplete.
    if (res.headersSent) res.destroy();
    else refuse(res, 500, 'INTERNAL', 'Unexpected error');
  }
}

function parseQuery(params: URLSearchParams) {
  const date = (name: 'from' | 'to') => {
    const value = params.get(name);
    const parsed = value ? new Date(value) : undefined;
    if (!parsed || Number.isNaN(parsed.getTime())) throw new BadUserInputError(`${name} must be an ISO 8601 date-time`, name);
    return parsed;
  };
  const from = date('from');
  const to = date('to');
  if (!(from < to)) throw new BadUserInputError('from must be before to', 'from');
  let groupBy: Dimension[] | undefined;
  if (params.has('groupBy')) {
    const names = (params.get('groupBy') ?? '')
      .split(',')
      .map((n) => n.trim().toUpperCase())
      .filter(Boolean);
    const unknown = names.find((n) => !DIMENSIONS.includes(n as Dimension));
    if (unknown) throw new BadUserInputError(`groupBy takes ${DIMENSIONS.join(', ')}; "${unknown}" is not one`, 'groupBy');
    groupBy = names as Dimension[];
  }
  const bucket = (params.get('bucket') ?? 'DAY').toUpperCase() as Bucket;
  if (!BUCKETS.includes(bucket)) throw new BadUserInputError(`bucket takes ${BUCKETS.join(', ')}`, 'bucket');
  return { from, to, groupBy, bucket, filter: parseFilter(params) };
}

const FILTER_LISTS = ['providerIds', 'models', 'agents', 'operations', 'userIds'] as const;
const MAX_FILTER_VALUE_LENGTH = 200;

/** The UsageFilter from repeated parameters; the service bounds how many values a list may have. */
function parseFilter(params: URLSearchParams): UsageFilter | undefined {
  const filter: { -readonly [K in keyof UsageFilter]: UsageFilter[K] } = {};
  for (const name of FILTER_LISTS) {
    const values = params.getAll(name);
    if (values.some((value) => value.length > MAX_FILTER_VALUE_LENGTH)) throw new BadUserInputError(`${name} values are at most ${MAX_FILTER_VALUE_LENGTH} characters`, name);
    if (values.length) filter[name] = values;
  }
  const success = params.get('success');
  if (success !== null) {
    if (success !== 'true' && success !== 'false') throw new BadUserInputError('success takes true or false', 'success');
    filter.success = success === 'true';
  }
  return Object.keys(filter).length ? filter : undefined;
}

function start(res: ServerResponse, query: { from: Date; to: Date }) {
  const name = `usage-${query.from.toISOString().slice(0, 10)}-${query.to.toISOString().slice(0, 10)}.csv`;
  res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}"`, 'cache-control': 'no-store' });
}

/** Writes and, when the client is slower than the database, waits for it. */
async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
}

function refuse(res: ServerResponse, status: number, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] }));
}
