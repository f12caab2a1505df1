// What the API asks of usage: reports and raw events, with the viewer's
// visibility applied (members see their own calls, admins the workspace's)
// and days counted in the workspace's time zone.
import { roleAtLeast, type Viewer } from '../../auth/viewer.js';
import type { Sql } from '../../db/sql.js';
import type { ProviderKind, UsageSource, UsageStatus } from '../../generated/prisma/enums.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import { AppError } from '../../errors.js';
import type { PreferencesService } from '../preferences/preferences.service.js';
import type { ProviderRepository } from '../providers/provider.repository.js';
import { checkRange, filterConditions, usageReport, usageSeriesPages, type Bucket, type Dimension, type GroupKey, type UsageFilter } from './report.js';

export interface UsageEventRow {
  id: string;
  createdAt: Date;
  providerId: string | null;
  kind: ProviderKind;
  model: string;
  agent: string | null;
  operation: string | null;
  userId: string | null;
  status: UsageStatus;
  streamed: boolean;
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  usageSource: UsageSource;
  costMicros: bigint;
  priceVersion: string | null;
  priceFallback: boolean;
  durationMs: number | null;
  ttftMs: number | null;
  errorCode: string | null;
  fallbackFromId: string | null;
}

const EVENT_COLUMNS = `id::text, created_at AS "createdAt", provider_id::text AS "providerId", kind::text, model, agent, operation, user_id AS "userId",
  status::text, streamed, prompt_tokens AS "promptTokens", cached_prompt_tokens AS "cachedPromptTokens", completion_tokens AS "completionTokens",
  reasoning_tokens AS "reasoningTokens", total_tokens AS "totalTokens", usage_source::text AS "usageSource", cost_micros AS "costMicros",
  price_version AS "priceVersion", price_fallback AS "priceFallback", duration_ms AS "durationMs", ttft_ms AS "ttftMs", error_code AS "errorCode",
  fallback_from_id::text AS "fallbackFromId"`;

export interface EventsQuery {
  from: Date;
  to: Date;
  filter?: UsageFilter | null;
  first: number;
  after?: string | null;
}

export function createUsageService(sql: Sql, preferences: PreferencesService, providers: Pick<ProviderRepository, 'unknownForUsage'>) {
  /** Members only ever see their own calls. */
  const ownerFilter = (viewer: Viewer) => (roleAtLeast(viewer.role, 'ADMIN') ? undefined : viewer.userId);

  /** A provider id the viewer may not name is NOT_FOUND, as it is everywhere else (not an empty result). */
  async function checkFilter(viewer: Viewer, filter: UsageFilter | null | undefined): Promise<void> {
    if (!filter?.providerIds?.length) return;
    const unknown = await providers.unknownForUsage(viewer, filter.providerIds);
    if (unknown.length > 0) throw new AppError('NOT_FOUND', `Provider ${unknown[0]} not found`, { field: 'filter.providerIds' });
  }

  return {
    async report(viewer: Viewer, args: { from: Date; to: Date; groupBy: readonly Dimension[]; bucket: Bucket; filter?: UsageFilter | null }) {
      await checkFilter(viewer, args.filter);
      const { timezone } = await preferences.read(viewer.workspaceId);
      const report = await usageReport(sql, { ...args, workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), timezone });
      const providerIds = [...new Set(report.groups.map((g) => g.key.PROVIDER).filter((id): id is string => Boolean(id)))];
      const labels = new Map<string, string>();
      if (providerIds.length) {
        const rows = await sql.query<{ id: string; label: string }>('SELECT id::text, label FROM providers WHERE workspace_id = $1 AND id::text = ANY($2::text[])', [viewer.workspaceId, providerIds]);
        for (const row of rows) labels.set(row.id, row.label);
      }
      /** "OpenAI prod · gpt-4o · (no agent)": what a legend shows for a group. */
      const labelOf = (key: GroupKey) =>
        Object.entries(key)
          .map(([dimension, value]) => (dimension === 'PROVIDER' && value ? (labels.get(value) ?? value) : (value ?? `(no ${dimension.toLowerCase()})`)))
          .join(' · ') || 'all';
      return { ...report, labelOf };
    },

    /** For CSV export: the report's zero-filled series, page by page; refused (bounds) before it resolves. */
    async seriesPages(viewer: Viewer, args: { from: Date; to: Date; groupBy: readonly Dimension[]; bucket: Bucket }) {
      const { timezone } = await preferences.read(viewer.workspaceId);
      return usageSeriesPages(sql, { ...args, workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), timezone });
    },

    /** Raw events, newest first, keyset-paginated on (created_at, id). */
    async events(viewer: Viewer, query: EventsQuery) {
      checkRange(query);
      const take = pageSize(query.first);
      const cursor = decodeCursor(query.after);
      await checkFilter(viewer, query.filter);
      const page = await eventsPage(sql, { workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), ...query, cursor, order: 'newest-first', first: take });
      return toPage(page, take, (row) => ({ at: row.createdAt, id: row.id }));
    },

    /** For CSV export: pages of `size` events, oldest first, until the range is read. */
    async *allEvents(viewer: Viewer, query: Omit<EventsQuery, 'first' | 'after'>, size = 1_000): AsyncGenerator<UsageEventRow[]> {
      let cursor: { at: Date; id: string } | undefined;
      for (;;) {
        const rows = await eventsPage(sql, { workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), ...query, cursor, order: 'oldest-first', first: size });
        if (rows.length > 0) yield rows.slice(0, size);
        if (rows.length <= size) return;
        cursor = { at: rows[size - 1].createdAt, id: rows[size - 1].id };
      }
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;

interface PageQuery {
  workspaceId: string;
  userId?: string;
  from: Date;
  to: Date;
  filter?: UsageFilter | null;
  /** Rows after this one in the page's order. */
  cursor?: { at: Date; id: string };
  order: 'newest-first' | 'oldest-first';
  /** One more row than this is read: it only says there is more. */
  first: number;
}

async function eventsPage(sql: Sql, query: PageQuery): Promise<UsageEventRow[]> {
  const values: unknown[] = [query.workspaceId, query.from, query.to];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [`workspace_id = $1`, `created_at >= $2::timestamptz`, `created_at < $3::timestamptz`];
  if (query.userId) where.push(`user_id = ${param(query.userId)}`);
  where.push(...filterConditions(query.filter, 'ledger', param));
  const newestFirst = query.order === 'newest-first';
  if (query.cursor) where.push(`(created_at, id) ${newestFirst ? '<' : '>'} (${param(query.cursor.at)}::timestamptz, ${param(query.cursor.id)}::uuid)`);
  const order = newestFirst ? 'created_at DESC, id DESC' : 'created_at, id';
  return sql.query<UsageEventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${param(query.first + 1)}`, values);
}
