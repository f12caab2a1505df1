// The daily rollups (usage_daily, and usage_daily_by_user summed over all but
// the user) are kept by every finalize; this rebuilds them from the ledger, for
// one workspace or all: after a time zone change (its days move), after a bulk
// import, or to repair them.
import type { Sql } from '../../db/sql.js';
import { rollupUpserts } from './ledger.js';

/**
 * Recounts the workspace's rollup rows from its finalized ledger rows in one
 * transaction, and returns how many usage_daily rows it has. The table locks
 * make concurrent finalizes wait (they would otherwise be counted twice); they
 * are held for as long as the recount takes.
 */
export async function rebuildRollup(sql: Sql, workspaceId: string): Promise<number> {
  return sql.transaction(async (tx) => {
    await tx.query('LOCK TABLE usage_daily, usage_daily_by_user IN EXCLUSIVE MODE');
    await tx.query('DELETE FROM usage_daily WHERE workspace_id = $1', [workspaceId]);
    await tx.query('DELETE FROM usage_daily_by_user WHERE workspace_id = $1', [workspaceId]);
    const [{ timezone }] = await tx.query<{ timezone: string }>(`SELECT COALESCE((SELECT timezone FROM preferences WHERE workspace_id = $1), 'UTC') AS timezone`, [workspaceId]);
    await tx.query(`WITH finished AS (SELECT * FROM usage_events WHERE workspace_id = $1 AND status <> 'RESERVED'), ${rollupUpserts('$2')} SELECT 1`, [workspaceId, timezone]);
    const [{ count }] = await tx.query<{ count: bigint }>('SELECT count(*) AS count FROM usage_daily WHERE workspace_id = $1', [workspaceId]);
    return Number(count);
  });
}

/** Every workspace that has usage. */
export async function rebuildAllRollups(sql: Sql, onWorkspace: (workspaceId: string, rows: number) => void): Promise<void> {
  const workspaces = await sql.query<{ workspace_id: string }>('SELECT DISTINCT workspace_id FROM usage_events ORDER BY 1');
  for (const { workspace_id: workspaceId } of workspaces) onWorkspace(workspaceId, await rebuildRollup(sql, workspaceId));
}
