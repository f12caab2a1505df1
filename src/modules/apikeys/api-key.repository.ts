// API key rows, and their audit entries in the same transaction. Tenancy is in
// every query that takes an id from a client.
import type { Role, Viewer } from '../../auth/viewer.js';
import type { Database } from '../../db/client.js';
import type { ApiKey, Prisma } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';
import { type AuditRecord, recordAudit } from '../audit/audit.repository.js';
import { apiKeyScope } from '../limits/counter-scopes.js';
import { readCounters } from '../limits/counters.repository.js';

/** What authenticating with a key needs: the row, and the creator's role in the workspace (null once they are no member). */
export type ApiKeyCredential = Pick<
  ApiKey,
  | 'id'
  | 'workspaceId'
  | 'createdBy'
  | 'principal'
  | 'secretHash'
  | 'hashKeyId'
  | 'agent'
  | 'allowedModels'
  | 'dailyTokenLimit'
  | 'monthlyBudgetMicros'
  | 'requestsPerMinute'
  | 'expiresAt'
  | 'revokedAt'
> & { creatorRole: Role | null };

export function createApiKeyRepository({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>) {
  return {
    /** One statement: the key with this prefix and its creator's role. */
    async findCredential(prefix: string): Promise<ApiKeyCredential | null> {
      const rows = await sql.query<ApiKeyCredential>(
        `SELECT k.id::text, k.workspace_id AS "workspaceId", k.created_by AS "createdBy", k.principal::text, k.secret_hash AS "secretHash",
          k.hash_key_id AS "hashKeyId", k.agent, k.allowed_models AS "allowedModels", k.daily_token_limit AS "dailyTokenLimit",
          k.monthly_budget_micros AS "monthlyBudgetMicros", k.requests_per_minute AS "requestsPerMinute", k.expires_at AS "expiresAt", k.revoked_at AS "revokedAt", m.role::text AS "creatorRole"
        FROM api_keys k LEFT JOIN members m ON m.workspace_id = k.workspace_id AND m.user_id = k.created_by
        WHERE k.prefix = $1`,
        [prefix],
      );
      return rows[0] ?? null;
    },

    insert(viewer: Viewer, row: Prisma.ApiKeyUncheckedCreateInput, entry: (id: string) => AuditRecord): Promise<ApiKey> {
      return prisma.$transaction(async (tx) => {
        const key = await tx.apiKey.create({ data: row });
        await recordAudit(tx, viewer, entry(key.id));
        return key;
      });
    },

    /** Sets revokedAt once (a second revoke keeps the first time) and audits it. */
    revoke(viewer: Viewer, id: string, at: Date, entry: AuditRecord): Promise<ApiKey | null> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.apiKey.updateMany({ where: { id, workspaceId: viewer.workspaceId, revokedAt: null }, data: { revokedAt: at } });
        if (count > 0) await recordAudit(tx, viewer, entry);
        return tx.apiKey.findFirst({ where: { id, workspaceId: viewer.workspaceId } });
      });
    },

    find: (workspaceId: string, id: string): Promise<ApiKey | null> => prisma.apiKey.findFirst({ where: { id, workspaceId } }),

    /** Newest first, older than `cursor`; only `createdBy`'s when given. */
    page(workspaceId: string, { createdBy, cursor, take }: { createdBy: string | undefined; cursor: Cursor | undefined; take: number }): Promise<ApiKey[]> {
      return prisma.apiKey.findMany({
        where: { workspaceId, ...(createdBy ? { createdBy } : {}), ...olderThan('createdAt', cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
      });
    },

    /** Tokens of `day` and spend of `month` on the key's limit counters (zero before its first call). */
    async usage(id: string, day: string, month: string): Promise<{ tokensToday: bigint; spendMonthMicros: bigint }> {
      const scope = apiKeyScope(id);
      const counters = await readCounters(sql, [scope], [day, month]);
      return { tokensToday: counters.get(`${scope}|${day}`)?.tokens ?? 0n, spendMonthMicros: counters.get(`${scope}|${month}`)?.costMicros ?? 0n };
    },

    /**
     * Takes one call from the key's window starting at `windowStart`, if fewer than `perMinute` were taken: false
     * when none is left. A call in another window than the row's starts it afresh: the next minute, or an instance
     * whose clock differs (clocks are taken to be in step, as for the day and month counters; skewed ones admit a
     * few calls more, and never lock a key out for the skew).
     */
    async takeFromWindow(id: string, windowStart: Date, perMinute: number): Promise<boolean> {
      const taken = await sql.query(
        `INSERT INTO api_key_rate_windows AS w (api_key_id, window_start, requests) VALUES ($1::uuid, $2, 1)
        ON CONFLICT (api_key_id) DO UPDATE SET
          requests = CASE WHEN EXCLUDED.window_start <> w.window_start THEN 1 ELSE w.requests + 1 END,
          window_start = EXCLUDED.window_start
        WHERE EXCLUDED.window_start <> w.window_start OR w.requests < $3
        RETURNING requests`,
        [id, windowStart, perMinute],
      );
      return taken.length > 0;
    },

    /** Moves lastUsedAt forward only when it is older than `staleBefore`: one write a minute per key at most. */
    async touch(id: string, at: Date, staleBefore: Date): Promise<void> {
      await prisma.apiKey.updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: staleBefore } }] }, data: { lastUsedAt: at } });
    },
  };
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>;
