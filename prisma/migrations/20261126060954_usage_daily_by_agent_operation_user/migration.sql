-- The daily rollup is keyed by agent, operation and user too, and a call's status is folded into its row
-- (all calls' sums, the FAILED count, and the SUCCEEDED calls' sums apart). Rows of the old key cannot be
-- split, so they are dropped here and recounted from the ledger below, as `npm run usage:rollup` would.
DELETE FROM "usage_daily";

-- AlterTable
ALTER TABLE "usage_daily" DROP CONSTRAINT "usage_daily_pkey",
DROP COLUMN "status",
ADD COLUMN     "agent" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "failed_requests" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "operation" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "succeeded_completion_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_cost_micros" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_duration_count" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_duration_ms_sum" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_prompt_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_requests" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "succeeded_total_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "user_id" TEXT NOT NULL DEFAULT '',
ADD CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("workspace_id", "day", "provider_id", "model", "agent", "operation", "user_id");

-- Every finalized ledger row counted on its local day in its workspace's time zone (ROLLUP_UPSERT in
-- src/modules/usage/ledger.ts counts a row the same way).
INSERT INTO "usage_daily" (workspace_id, day, provider_id, model, agent, operation, user_id,
  requests, failed_requests, prompt_tokens, completion_tokens, total_tokens, cost_micros, duration_ms_sum, duration_count,
  succeeded_requests, succeeded_prompt_tokens, succeeded_completion_tokens, succeeded_total_tokens, succeeded_cost_micros,
  succeeded_duration_ms_sum, succeeded_duration_count)
SELECT e.workspace_id, (e.created_at AT TIME ZONE COALESCE(p.timezone, 'UTC'))::date, COALESCE(e.provider_id::text, ''), e.model,
  COALESCE(e.agent, ''), COALESCE(e.operation, ''), COALESCE(e.user_id, ''),
  count(*), count(*) FILTER (WHERE e.status = 'FAILED'), sum(e.prompt_tokens), sum(e.completion_tokens), sum(e.total_tokens), sum(e.cost_micros),
  COALESCE(sum(e.duration_ms), 0), count(e.duration_ms),
  count(*) FILTER (WHERE e.status = 'SUCCEEDED'), COALESCE(sum(e.prompt_tokens) FILTER (WHERE e.status = 'SUCCEEDED'), 0),
  COALESCE(sum(e.completion_tokens) FILTER (WHERE e.status = 'SUCCEEDED'), 0), COALESCE(sum(e.total_tokens) FILTER (WHERE e.status = 'SUCCEEDED'), 0),
  COALESCE(sum(e.cost_micros) FILTER (WHERE e.status = 'SUCCEEDED'), 0), COALESCE(sum(e.duration_ms) FILTER (WHERE e.status = 'SUCCEEDED'), 0),
  count(e.duration_ms) FILTER (WHERE e.status = 'SUCCEEDED')
FROM "usage_events" e LEFT JOIN "preferences" p ON p.workspace_id = e.workspace_id
WHERE e.status <> 'RESERVED'
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- CreateIndex (after the recount: one sort instead of an insert a row)
CREATE INDEX "usage_daily_workspace_id_user_id_day_idx" ON "usage_daily"("workspace_id", "user_id", "day");
