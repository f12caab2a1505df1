// Provider rows and what the API reads about them. Tenancy is in every query,
// and the scope rules (visibility.ts) in every read for a viewer: a row outside
// the viewer's sight does not exist for them.
import type { Viewer } from '../../auth/jwt.js';
import type { PrismaClient, Provider, ProviderScope } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { providerScope } from '../limits/counter-scopes.js';
import { dayKey, monthKey } from '../limits/periods.js';
import type { PlatformProviders } from './platform-providers.js';
import { isUuid } from '../../ids.js';
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
