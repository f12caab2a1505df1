// What the API asks of usage: reports and raw events, with the viewer's
// visibility applied (members see their own calls, admins the workspace's)
// and days counted in the workspace's time zone.
import { roleAtLeast, type Viewer } from '../../auth/viewer.js';
import { AppError, BadUserInputError } from '../../errors.js';
import type { ProviderKind, UsageSource, UsageStatus } from '../../generated/prisma/enums.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import type { PreferencesService } from '../preferences/preferences.service.js';
import type { ProviderRepository } from '../providers/provider.repository.js';
import { type Bucket, boundExceeded, checkRange, type Dimension, type GroupKey, MAX_GROUPS, type UsageFilter, validateFilter } from './report.js';
import type { UsageRepository } from './usage.repository.js';

export interface UsageEventRow {
  id: string;
  createdAt: Date;
  providerId: string | null;
  kind: ProviderKind;
  model: string;
  agent: string | null;
  operation: string | null;
  userId: string | null;
  apiKeyId: string | null;
  status: UsageStatus;
  streamed: boolean;
  promptTokens: number;
  cachedPromptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  usageSource: UsageSource;
  costMicros: bigint;
  /** What the provider said the call cost; null when it said nothing. */
  providerCostMicros: bigint | null;
  priceVersion: string | null;
  priceFallback: boolean;
  durationMs: number | null;
  ttftMs: number | null;
  errorCode: string | null;
  fallbackFromId: string | null;
}

/**
 * The longest range the cost discrepancy report reads: it reads ledger rows (the rollup keeps no provider cost), so
 * the range bounds its work; a quarter of any calendar.
 */
export const MAX_DISCREPANCY_DAYS = 93;
const DAY_MS = 86_400_000;

export interface EventsQuery {
  from: Date;
  to: Date;
  filter?: UsageFilter | null;
  first: number;
  after?: string | null;
}

export function createUsageService(repository: UsageRepository, preferences: PreferencesService, providers: Pick<ProviderRepository, 'unknownForUsage' | 'labels'>) {
  /** Members only ever see their own calls. */
  const ownerFilter = (viewer: Viewer) => (roleAtLeast(viewer.role, 'ADMIN') ? undefined : viewer.userId);

  /** A filter within its bounds; a provider id the viewer may not name is NOT_FOUND, as it is everywhere else (not an empty result). */
  async function checkFilter(viewer: Viewer, filter: UsageFilter | null | undefined): Promise<void> {
    validateFilter(filter);
    if (!filter?.providerIds?.length) return;
    const unknown = await providers.unknownForUsage(viewer, filter.providerIds);
    if (unknown.length > 0) throw new AppError('NOT_FOUND', `Provider ${unknown[0]} not found`, { field: 'filter.providerIds' });
  }

  return {
    async report(viewer: Viewer, args: { from: Date; to: Date; groupBy: readonly Dimension[]; bucket: Bucket; filter?: UsageFilter | null }) {
      await checkFilter(viewer, args.filter);
      const { timezone } = await preferences.read(viewer.workspaceId);
      const report = await repository.report({ ...args, workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), timezone });
      const providerIds = [...new Set(report.groups.map((g) => g.key.PROVIDER).filter((id): id is string => Boolean(id)))];
      const labels = providerIds.length ? await providers.labels(viewer.workspaceId, providerIds) : new Map<string, string>();
      /** "OpenAI prod · gpt-4o · (no agent)": what a legend shows for a group. */
      const labelOf = (key: GroupKey) =>
        Object.entries(key)
          .map(([dimension, value]) => (dimension === 'PROVIDER' && value ? (labels.get(value) ?? value) : (value ?? `(no ${dimension.toLowerCase()})`)))
          .join(' · ') || 'all';
      return { ...report, labelOf };
    },

    /** For CSV export: the report's zero-filled series, page by page; refused (bounds) before it resolves. */
    async seriesPages(viewer: Viewer, args: { from: Date; to: Date; groupBy: readonly Dimension[]; bucket: Bucket; filter?: UsageFilter | null }) {
      await checkFilter(viewer, args.filter);
      const { timezone } = await preferences.read(viewer.workspaceId);
      return repository.seriesPages({ ...args, workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), timezone });
    },

    /** Raw events, newest first, keyset-paginated on (created_at, id). */
    async events(viewer: Viewer, query: EventsQuery) {
      checkRange(query);
      const take = pageSize(query.first);
      const cursor = decodeCursor(query.after);
      await checkFilter(viewer, query.filter);
      const page = await repository.eventsPage({ workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), ...query, cursor, order: 'newest-first', first: take });
      return toPage(page, take, (row) => ({ at: row.createdAt, id: row.id }));
    },

    /**
     * Our cost beside the providers' own, by kind and model, over [from, to): the workspace's calls whose provider
     * reported a cost, and how many differ by more than `tolerance` (a share of the larger of the two, 0 to 1).
     * At most MAX_GROUPS rows, the most differing first. The caller checks the role (ADMIN+).
     */
    async costDiscrepancies(viewer: Viewer, query: { from: Date; to: Date; tolerance: number }) {
      checkRange(query);
      if (query.to.getTime() - query.from.getTime() > MAX_DISCREPANCY_DAYS * DAY_MS)
        throw boundExceeded('rangeDays', `At most ${MAX_DISCREPANCY_DAYS} days per discrepancy report: choose a shorter range`, 'range');
      if (!(Number.isFinite(query.tolerance) && query.tolerance >= 0 && query.tolerance <= 1))
        throw new BadUserInputError('tolerance must be between 0 and 1 (a share of the larger cost)', 'tolerance');
      return repository.costDiscrepancies({ workspaceId: viewer.workspaceId, ...query, limit: MAX_GROUPS });
    },

    /** For CSV export: pages of `size` events, oldest first, until the range is read; refused (filter) before it resolves. */
    async eventPages(viewer: Viewer, query: Omit<EventsQuery, 'first' | 'after'>, size = 1_000): Promise<AsyncGenerator<UsageEventRow[]>> {
      checkRange(query);
      await checkFilter(viewer, query.filter);
      async function* pages(): AsyncGenerator<UsageEventRow[]> {
        let cursor: { at: Date; id: string } | undefined;
        for (;;) {
          const rows = await repository.eventsPage({ workspaceId: viewer.workspaceId, userId: ownerFilter(viewer), ...query, cursor, order: 'oldest-first', first: size });
          if (rows.length > 0) yield rows.slice(0, size);
          if (rows.length <= size) return;
          cursor = { at: rows[size - 1].createdAt, id: rows[size - 1].id };
        }
      }
      return pages();
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
