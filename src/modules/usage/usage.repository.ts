// The usage SQL the API asks for: reports and series (report.ts builds them),
// raw ledger rows, keyset-paginated on (created_at, id), and our costs against
// the providers' own.
import type { Sql } from '../../db/sql.js';
import { statement } from '../../db/statement.js';
import type { ProviderKind } from '../../generated/prisma/enums.js';
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

interface DiscrepancyQuery {
  workspaceId: string;
  from: Date;
  to: Date;
  /** 0 to 1: the share of the larger cost two costs may differ by (see DISCREPANCIES). */
  tolerance: number;
  /** Rows at most, the most differing first. */
  limit: number;
}

export interface DiscrepancyRow {
  kind: ProviderKind;
  model: string;
  calls: bigint;
  ourCostMicros: bigint;
  providerCostMicros: bigint;
  differingCalls: bigint;
  unpricedCalls: bigint;
}

/**
 * Finished calls whose provider said what they cost, by kind and model: our summed cost, theirs, and the calls
 * whose two costs differ by more than the tolerance (a share of the larger) plus one micro-dollar (each side rounds
 * to one). A call priced by its kind's fallback rule (a model we have no price for) is counted apart, as unpriced:
 * its difference says nothing of a stale price. The most differing calls first, then the largest gap between the sums. Read from the ledger over the
 * (workspace_id, created_at) index (a row has a provider cost only once finalized); the tolerance is numeric, so no
 * float enters the comparison.
 */
const DISCREPANCIES = statement<{ workspaceId: string; from: Date; to: Date; tolerance: string; limit: number }>(
  (p) => `SELECT kind::text, model, count(*) AS calls, sum(cost_micros)::int8 AS "ourCostMicros", sum(provider_cost_micros)::int8 AS "providerCostMicros",
    count(*) FILTER (WHERE NOT price_fallback AND abs(cost_micros - provider_cost_micros) > ${p.tolerance}::numeric * greatest(cost_micros, provider_cost_micros) + 1)
      AS "differingCalls",
    count(*) FILTER (WHERE price_fallback) AS "unpricedCalls"
  FROM usage_events
  WHERE workspace_id = ${p.workspaceId} AND created_at >= ${p.from}::timestamptz AND created_at < ${p.to}::timestamptz
    AND provider_cost_micros IS NOT NULL
  GROUP BY kind, model
  ORDER BY "differingCalls" DESC, abs(sum(cost_micros) - sum(provider_cost_micros)) DESC, kind, model
  LIMIT ${p.limit}`,
);

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

    costDiscrepancies: ({ tolerance, ...query }: DiscrepancyQuery) => sql.query<DiscrepancyRow>(DISCREPANCIES, DISCREPANCIES.values({ ...query, tolerance: String(tolerance) })),
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
