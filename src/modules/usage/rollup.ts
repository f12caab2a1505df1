// The daily rollup (usage_daily) is kept by every finalize; this rebuilds it
// from the ledger, for one workspace or all: after a time zone change (its
// days move), after a bulk import, or to repair it.
import type { Sql } from '../../db/sql.js';
import { ROLLUP_UPSERT } from './ledger.js';

/**
 * Recounts the workspace's rollup rows from its finalized ledger rows in one
 * transaction. The table lock makes concurrent finalizes wait (they would
 * otherwise be counted twice); it is held for as long as the recount takes.
 */
export async function rebuildRollup(sql: Sql, workspaceId: string): Promise<number> {
  return sql.transaction(async (tx) => {
    await tx.query('LOCK TABLE usage_daily IN EXCLUSIVE MODE');
    await tx.query('DELETE FROM usage_daily WHERE workspace_id = $1', [workspaceId]);
    const [{ timezone }] = await tx.query<{ timezone: string }>(`SELECT COALESCE((SELECT timezone FROM preferences WHERE workspace_id = $1), 'UTC') AS timezone`, [workspaceId]);
    const rows = await tx.query<{ count: bigint }>(
      `WITH finished AS (SELECT * FROM usage_events WHERE workspace_id = $1 AND status <> 'RESERVED'),
        inserted AS (${ROLLUP_UPSERT.replace('$TZ', '$2')} RETURNING 1)
      SELECT count(*) AS count FROM inserted`,
      [workspaceId, timezone],
    );
    return Number(rows[0].count);
  });
}

/** Every workspace that has usage. */
export async function rebuildAllRollups(sql: Sql, onWorkspace: (workspaceId: string, rows: number) => void): Promise<void> {
  const workspaces = await sql.query<{ workspace_id: string }>('SELECT DISTINCT workspace_id FROM usage_events ORDER BY 1');
  for (const { workspace_id: workspaceId } of workspaces) onWorkspace(workspaceId, await rebuildRollup(sql, workspaceId));
}
