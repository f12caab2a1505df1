-- AlterTable
ALTER TABLE "usage_events" ADD COLUMN     "price_fallback" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "usage_daily" (
    "workspace_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "provider_id" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "status" "UsageStatus" NOT NULL,
    "requests" BIGINT NOT NULL DEFAULT 0,
    "prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "completion_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micros" BIGINT NOT NULL DEFAULT 0,
    "duration_ms_sum" BIGINT NOT NULL DEFAULT 0,
    "duration_count" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("workspace_id","day","provider_id","model","status")
);

-- CreateTable
CREATE TABLE "catalog_models" (
    "kind" "ProviderKind" NOT NULL,
    "model" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "context_window" INTEGER,
    "input_micros" BIGINT NOT NULL,
    "cached_input_micros" BIGINT NOT NULL,
    "output_micros" BIGINT NOT NULL,
    "refreshed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "catalog_models_pkey" PRIMARY KEY ("kind","model")
);
