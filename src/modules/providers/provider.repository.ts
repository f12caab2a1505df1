// Provider rows: what the API reads about them, and its changes, each written
// with its audit entries in one transaction. Tenancy is in every query, and the
// scope rules (visibility.ts) in every read for a viewer: a row outside the
// viewer's sight does not exist for them.
import type { Viewer } from '../../auth/viewer.js';
import type { Sql } from '../../db/sql.js';
import type { Prisma, PrismaClient, Provider, ProviderScope } from '../../generated/prisma/client.js';
import { isUuid } from '../../ids.js';
import { type AuditRecord, recordAudit } from '../audit/audit.repository.js';
import { providerScope } from '../limits/counter-scopes.js';
import { dayKey, monthKey } from '../limits/periods.js';
import type { PlatformProviders } from './platform-providers.js';
import { canSee, canSeeUsageOf } from './visibility.js';

/** Every provider column, named as the Prisma model names it. */
const PROVIDER_COLUMNS = `id::text, workspace_id AS "workspaceId", owner_id AS "ownerId", kind::text, scope::text,
  credential_type::text AS "credentialType", label, sealed_key AS "sealedKey", key_id AS "keyId", key_hint AS "keyHint",
  base_url AS "baseUrl", default_model AS "defaultModel", priority, daily_token_limit AS "dailyTokenLimit",
  monthly_budget_micros AS "monthlyBudgetMicros", status::text, validated, last_validated_at AS "lastValidatedAt",
  last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt", deleted_at AS "deletedAt"`;

export function createProviderRepository(prisma: PrismaClient, sql: Sql, platform: PlatformProviders) {
  /**
   * Every provider a chat in the workspace could route to, every member's personal ones included (routing
   * filters them per caller): what the routing cache keeps. A plain statement, not a model query (src/db/sql.ts).
   */
  async function listRoutable(workspaceId: string): Promise<Provider[]> {
    const own = await sql.query<Provider>(`SELECT ${PROVIDER_COLUMNS} FROM providers WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY priority, created_at`, [workspaceId]);
    return [...own.map(withBytes), ...platform.list(workspaceId)];
  }

  return {
    listRoutable,

    /** The workspace's and the platform's providers and the viewer's own personal ones, never deleted ones. */
    async listVisible(viewer: Viewer): Promise<Provider[]> {
      return (await listRoutable(viewer.workspaceId)).filter((provider) => canSee(viewer, provider));
    },

    async findVisible(viewer: Viewer, id: string): Promise<Provider | null> {
      if (!isUuid(id)) return null;
      const provider = platform.find(viewer.workspaceId, id) ?? (await prisma.provider.findFirst({ where: { id, workspaceId: viewer.workspaceId, deletedAt: null } }));
      return provider && canSee(viewer, provider) ? provider : null;
    },

    /**
     * The ids a usage filter may name: the viewer's visible providers and the
     * workspace's deleted ones (their history stays); for admins also members'
     * personal providers, whose calls they see.
     */
    async unknownForUsage(viewer: Viewer, ids: readonly string[]): Promise<string[]> {
      const known = new Set(ids.filter((id) => platform.find(viewer.workspaceId, id)));
      const candidates = ids.filter((id) => isUuid(id) && !known.has(id));
      if (candidates.length > 0) {
        const rows = await sql.query<{ id: string; scope: ProviderScope; ownerId: string | null }>(
          `SELECT id::text, scope::text, owner_id AS "ownerId" FROM providers WHERE workspace_id = $1 AND id::text = ANY($2::text[])`,
          [viewer.workspaceId, candidates],
        );
        for (const row of rows) if (canSeeUsageOf(viewer, row)) known.add(row.id);
      }
      return ids.filter((id) => !known.has(id));
    },

    /** Writes the provider and its audit entry in one transaction. */
    insert(viewer: Viewer, row: Prisma.ProviderUncheckedCreateInput, entry: AuditRecord): Promise<Provider> {
      return prisma.$transaction(async (tx) => {
        const provider = await tx.provider.create({ data: row });
        await recordAudit(tx, viewer, entry);
        return provider;
      });
    },

    /** An audit entry about no stored provider (a key checked, not kept). */
    async recordAudit(viewer: Viewer, entry: AuditRecord): Promise<void> {
      await recordAudit(prisma, viewer, entry);
    },

    /** Changes the provider and writes its audit entries, in order, in one transaction. */
    update(viewer: Viewer, id: string, changes: Prisma.ProviderUncheckedUpdateInput, entries: AuditRecord[]): Promise<Provider> {
      return prisma.$transaction(async (tx) => {
        const updated = await tx.provider.update({ where: { id }, data: changes });
        for (const entry of entries) await recordAudit(tx, viewer, entry);
        return updated;
      });
    },

    /** Every stored key still in use, the longest unchecked first. */
    listKeysToRevalidate: (): Promise<Provider[]> =>
      prisma.provider.findMany({
        where: { deletedAt: null, status: { not: 'DISABLED' }, sealedKey: { not: null } },
        orderBy: { lastValidatedAt: { sort: 'asc', nulls: 'first' } },
      }),

    /** A scheduled check's result; a provider deleted meanwhile is left as it is. */
    async recordValidation(id: string, changes: Prisma.ProviderUncheckedUpdateManyInput): Promise<void> {
      await prisma.provider.updateMany({ where: { id }, data: changes });
    },

    /** The labels of these workspace providers, by id (deleted ones too: their history is still reported). */
    async labels(workspaceId: string, ids: string[]): Promise<Map<string, string>> {
      const rows = await sql.query<{ id: string; label: string }>('SELECT id::text, label FROM providers WHERE workspace_id = $1 AND id::text = ANY($2::text[])', [
        workspaceId,
        ids,
      ]);
      return new Map(rows.map((row) => [row.id, row.label]));
    },

    async timezone(workspaceId: string): Promise<string> {
      const preferences = await prisma.preferences.findUnique({ where: { workspaceId }, select: { timezone: true } });
      return preferences?.timezone ?? 'UTC';
    },

    /** Today's tokens and this month's spend from the limit counters (zero before the first call). */
    async usage(provider: Provider, timezone: string, now: Date): Promise<{ tokensToday: bigint; spendMonthMicros: bigint }> {
      const scope = providerScope(provider);
      const [day, month] = await Promise.all([
        prisma.usageCounter.findUnique({ where: { scope_period: { scope, period: dayKey(now, timezone) } }, select: { tokens: true } }),
        prisma.usageCounter.findUnique({ where: { scope_period: { scope, period: monthKey(now, timezone) } }, select: { costMicros: true } }),
      ]);
      return { tokensToday: day?.tokens ?? 0n, spendMonthMicros: month?.costMicros ?? 0n };
    },
  };
}

export type ProviderRepository = ReturnType<typeof createProviderRepository>;

/** Raw rows carry bytea as a Buffer or a Uint8Array depending on the driver; the model's type is Uint8Array. */
function withBytes(row: Provider): Provider {
  return row.sealedKey ? { ...row, sealedKey: new Uint8Array(row.sealedKey) } : row;
}
