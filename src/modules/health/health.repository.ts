// What health reads from the ledger and the conditional status update that
// lets exactly one caller make each transition.
import type { Sql } from '../../db/sql.js';
import type { ProviderStatus } from '../../generated/prisma/enums.js';

/** A provider as one workspace sees it. */
export interface ProviderRef {
  id: string;
  workspaceId: string;
}

export interface CallCounts {
  requests: number;
  failed: number;
  rateLimited: number;
  latencyP50Ms: number | null;
  lastCallAt: Date | null;
}

/** A provider's median time to first token over a window, and how many calls measured it. */
export interface FirstTokenTime {
  medianMs: number;
  calls: number;
}

/**
 * The median time to first token of each provider over the workspace's successful streamed calls since `since`
 * (the health window): what the FASTEST routing strategy ranks by. A workspace's own calls only, as for health; a
 * call answered whole has its whole time as its first token's, so only streams say how soon a provider answers.
 */
export async function readFirstTokenTimes(sql: Sql, workspaceId: string, since: Date): Promise<Map<string, FirstTokenTime>> {
  const rows = await sql.query<{ providerId: string; medianMs: number; calls: bigint }>(
    `SELECT provider_id::text AS "providerId", percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS "medianMs", count(*) AS calls
    FROM usage_events WHERE workspace_id = $1 AND created_at >= $2 AND status = 'SUCCEEDED' AND streamed AND ttft_ms IS NOT NULL
    GROUP BY provider_id`,
    [workspaceId, since],
  );
  return new Map(rows.map((row) => [row.providerId, { medianMs: Number(row.medianMs), calls: Number(row.calls) }]));
}

export function createHealthRepository(sql: Sql) {
  return {
    /** The finished calls since `since` to `provider.id` made by `provider.workspaceId`; upstream rate limits are counted apart from failures. */
    async countCalls(provider: ProviderRef, since: Date): Promise<CallCounts> {
      const [row] = await sql.query<{ requests: bigint; failed: bigint; rate_limited: bigint; p50: number | null; last_at: Date | null }>(
        `SELECT count(*) AS requests,
          count(*) FILTER (WHERE status = 'FAILED' AND error_code IS DISTINCT FROM 'UPSTREAM_RATE_LIMITED') AS failed,
          count(*) FILTER (WHERE error_code = 'UPSTREAM_RATE_LIMITED') AS rate_limited,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, max(created_at) AS last_at
        FROM usage_events WHERE workspace_id = $1 AND provider_id = $2::uuid AND created_at >= $3 AND status IN ('SUCCEEDED', 'FAILED')`,
        [provider.workspaceId, provider.id, since],
      );
      return { requests: Number(row.requests), failed: Number(row.failed), rateLimited: Number(row.rate_limited), latencyP50Ms: row.p50, lastCallAt: row.last_at };
    },

    /**
     * Sets the status when the provider is still in one of `from` (keeping its last error when `lastError` is null);
     * returns its workspace and label when this call moved it, null when it was not in `from`.
     */
    /** Moves the provider if it is in a `from` state; returns it (with its owner when it is a member's personal one), or null. */
    async moveStatus(
      providerId: string,
      to: ProviderStatus,
      from: ProviderStatus[],
      lastError: string | null,
      at: Date,
    ): Promise<{ workspaceId: string; label: string; personalOwnerId: string | null } | null> {
      const [moved] = await sql.query<{ workspaceId: string; label: string; personalOwnerId: string | null }>(
        `UPDATE providers SET status = $2::"ProviderStatus", last_error = COALESCE($3, last_error), updated_at = $4
        WHERE id = $1::uuid AND status = ANY($5::"ProviderStatus"[]) AND deleted_at IS NULL
        RETURNING workspace_id AS "workspaceId", label, CASE WHEN scope = 'PERSONAL' THEN owner_id END AS "personalOwnerId"`,
        [providerId, to, lastError, at, from],
      );
      return moved ?? null;
    },

    listDegraded: () => sql.query<ProviderRef>(`SELECT id::text, workspace_id AS "workspaceId" FROM providers WHERE status = 'DEGRADED' AND deleted_at IS NULL`),
  };
}

export type HealthRepository = ReturnType<typeof createHealthRepository>;
