// The usage SQL the API asks for: reports and series (report.ts builds them),
// and raw ledger rows, keyset-paginated on (created_at, id).
import type { Sql } from '../../db/sql.js';
import { filterConditions, type ReportQuery, type UsageFilter, usageReport, usageSeriesPages } from './report.js';
import type { UsageEventRow } from './usage.service.js';

const EVENT_COLUMNS = `id::text, created_at AS "createdAt", provider_id::text AS "providerId", kind::text, model, agent, operation, user_id AS "userId",
  api_key_id::text AS "apiKeyId", status::text, streamed, prompt_tokens AS "promptTokens", cached_prompt_tokens AS "cachedPromptTokens", completion_tokens AS "completionTokens",
  reasoning_tokens AS "reasoningTokens", total_tokens AS "totalTokens", usage_source::text AS "usageSource", cost_micros AS "costMicros",
  provider_cost_micros AS "providerCostMicros", price_version AS "priceVersion", price_fallback AS "priceFallback", duration_ms AS "durationMs", ttft_ms AS "ttftMs", error_code AS "errorCode",
  fallback_from_id::text AS "fallbackFromId"`;

interface EventsPageQuery {
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

export function createUsageRepository(sql: Sql) {
  return {
    report: (query: ReportQuery) => usageReport(sql, query),
    seriesPages: (query: ReportQuery) => usageSeriesPages(sql, query),

    /** Raw ledger rows in the page's order; the viewer's visibility is in `userId`. */
    async eventsPage(query: EventsPageQuery): Promise<UsageEventRow[]> {
      const values: unknown[] = [query.workspaceId, query.from, query.to];
      const param = (value: unknown) => `$${values.push(value)}`;
      const where = [`workspace_id = $1`, `created_at >= $2::timestamptz`, `created_at < $3::timestamptz`];
      if (query.userId) where.push(`user_id = ${param(query.userId)}`);
      where.push(...filterConditions(query.filter, 'ledger', param));
      const newestFirst = query.order === 'newest-first';
      if (query.cursor) where.push(`(created_at, id) ${newestFirst ? '<' : '>'} (${param(query.cursor.at)}::timestamptz, ${param(query.cursor.id)}::uuid)`);
      const order = newestFirst ? 'created_at DESC, id DESC' : 'created_at, id';
      return sql.query<UsageEventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${param(query.first + 1)}`, values);
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
