// Ledger rows written straight into the database, for report tests that need
// many calls at chosen times (the chat tests prove the path that writes them).
// They bypass finalize, so the workspace's daily rollup is rebuilt after them.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import { rebuildRollup } from '../../src/modules/usage/rollup.js';

export interface LedgerRow {
  createdAt: Date;
  providerId: string;
  model: string;
  agent: string | null;
  operation: string | null;
  userId: string;
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'RESERVED';
  promptTokens: number;
  completionTokens: number;
  costMicros: bigint;
  durationMs: number | null;
  errorCode?: string | null;
}

export async function insertLedgerRows(db: Database, workspaceId: string, rows: LedgerRow[]): Promise<string[]> {
  const ids = rows.map(() => randomUUID());
  await db.sql.query('INSERT INTO workspaces (id) VALUES ($1) ON CONFLICT DO NOTHING', [workspaceId]);
  // The providers the rows name, as deleted ones: their history stays reportable and filterable.
  const providerIds = [...new Set(rows.map((row) => row.providerId).filter((id): id is string => id !== null))];
  await db.sql.query(
    `INSERT INTO providers (id, workspace_id, kind, label, status, deleted_at, updated_at)
    SELECT id, $1, 'OPENAI', 'ledger fixture', 'DISABLED', now(), now() FROM unnest($2::uuid[]) AS p(id) ON CONFLICT DO NOTHING`,
    [workspaceId, providerIds],
  );
  const column = <K extends keyof LedgerRow>(key: K) => rows.map((row) => row[key]);
  await db.sql.query(
    `INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, status, prompt_tokens, completion_tokens, total_tokens,
      cost_micros, duration_ms, created_at, finished_at, error_code)
    SELECT id, $2, provider_id, 'OPENAI', model, agent, operation, user_id, status::"UsageStatus", p, c, p + c, cost, duration, at, at, error_code
    FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::int[], $11::int8[], $12::int[], $13::timestamptz[], $14::text[])
      AS r(id, provider_id, model, agent, operation, user_id, status, p, c, cost, duration, at, error_code)`,
    [
      ids,
      workspaceId,
      column('providerId'),
      column('model'),
      column('agent'),
      column('operation'),
      column('userId'),
      column('status'),
      column('promptTokens'),
      column('completionTokens'),
      column('costMicros').map(String),
      column('durationMs'),
      column('createdAt'),
      rows.map((row) => row.errorCode ?? null),
    ],
  );
  await rebuildRollup(db.sql, workspaceId);
  return ids;
}

/**
 * usage_daily_by_user's rows of a workspace, and usage_daily's summed by the same key (day and user): the two must be
 * equal in every sum, whichever statement kept them (finalize, the sweeper, a rebuild).
 */
export async function userRollupBeside(db: Database, workspaceId: string): Promise<{ byUser: unknown[]; summed: unknown[] }> {
  const calls = ['requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_micros', 'duration_ms_sum', 'duration_count'];
  const sums = [...calls, 'failed_requests', ...calls.map((column) => `succeeded_${column}`)];
  const read = (from: string) =>
    db.sql.query(
      `SELECT day::text, user_id, ${sums.map((column) => `sum(${column})::int8 AS ${column}`).join(', ')} FROM ${from} WHERE workspace_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [workspaceId],
    );
  return { byUser: await read('usage_daily_by_user'), summed: await read('usage_daily') };
}
