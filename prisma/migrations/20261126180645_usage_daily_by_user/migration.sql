-- usage_daily summed over everything but the user, for the reports grouped by user or by nothing. Kept from now on
-- by the statements that keep usage_daily (rollupUpserts in src/modules/usage/ledger.ts); filled here from it.
-- CreateTable
CREATE TABLE "usage_daily_by_user" (
    "workspace_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "user_id" TEXT NOT NULL DEFAULT '',
    "requests" BIGINT NOT NULL DEFAULT 0,
    "failed_requests" BIGINT NOT NULL DEFAULT 0,
    "prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "completion_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micros" BIGINT NOT NULL DEFAULT 0,
    "duration_ms_sum" BIGINT NOT NULL DEFAULT 0,
    "duration_count" BIGINT NOT NULL DEFAULT 0,
    "succeeded_requests" BIGINT NOT NULL DEFAULT 0,
    "succeeded_prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "succeeded_completion_tokens" BIGINT NOT NULL DEFAULT 0,
    "succeeded_total_tokens" BIGINT NOT NULL DEFAULT 0,
    "succeeded_cost_micros" BIGINT NOT NULL DEFAULT 0,
    "succeeded_duration_ms_sum" BIGINT NOT NULL DEFAULT 0,
    "succeeded_duration_count" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_daily_by_user_pkey" PRIMARY KEY ("workspace_id","day","user_id")
);

INSERT INTO "usage_daily_by_user" (workspace_id, day, user_id, requests, failed_requests, prompt_tokens, completion_tokens, total_tokens,
  cost_micros, duration_ms_sum, duration_count, succeeded_requests, succeeded_prompt_tokens, succeeded_completion_tokens, succeeded_total_tokens,
  succeeded_cost_micros, succeeded_duration_ms_sum, succeeded_duration_count)
SELECT workspace_id, day, user_id, sum(requests), sum(failed_requests), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),
  sum(cost_micros), sum(duration_ms_sum), sum(duration_count), sum(succeeded_requests), sum(succeeded_prompt_tokens), sum(succeeded_completion_tokens),
  sum(succeeded_total_tokens), sum(succeeded_cost_micros), sum(succeeded_duration_ms_sum), sum(succeeded_duration_count)
FROM "usage_daily"
GROUP BY 1, 2, 3;
