-- CreateEnum
CREATE TYPE "Role" AS ENUM ('OWNER', 'ADMIN', 'MEMBER');

-- CreateEnum
CREATE TYPE "ProviderKind" AS ENUM ('OPENAI', 'ANTHROPIC', 'GEMINI', 'DEEPSEEK', 'OPENROUTER', 'XAI', 'GROQ', 'MISTRAL', 'TOGETHER', 'OLLAMA', 'OPENAI_COMPATIBLE');

-- CreateEnum
CREATE TYPE "ProviderScope" AS ENUM ('WORKSPACE', 'PERSONAL', 'PLATFORM');

-- CreateEnum
CREATE TYPE "CredentialType" AS ENUM ('API_KEY', 'OAUTH_TOKEN');

-- CreateEnum
CREATE TYPE "ProviderStatus" AS ENUM ('ACTIVE', 'DEGRADED', 'INVALID', 'DISABLED');

-- CreateEnum
CREATE TYPE "UsageStatus" AS ENUM ('RESERVED', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'ABANDONED');

-- CreateEnum
CREATE TYPE "UsageSource" AS ENUM ('PROVIDER', 'ESTIMATED');

-- CreateEnum
CREATE TYPE "AlertKind" AS ENUM ('LIMIT_WARNING', 'LIMIT_REACHED', 'BUDGET_WARNING', 'BUDGET_REACHED', 'PROVIDER_DEGRADED', 'PROVIDER_INVALID', 'PROVIDER_RECOVERED');

-- CreateEnum
CREATE TYPE "Severity" AS ENUM ('INFO', 'WARNING', 'CRITICAL');

-- CreateEnum
CREATE TYPE "ChatRole" AS ENUM ('SYSTEM', 'USER', 'ASSISTANT');

-- CreateTable
CREATE TABLE "workspaces" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "members" (
    "workspace_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "members_pkey" PRIMARY KEY ("workspace_id","user_id")
);

-- CreateTable
CREATE TABLE "providers" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "owner_id" TEXT,
    "kind" "ProviderKind" NOT NULL,
    "scope" "ProviderScope" NOT NULL DEFAULT 'WORKSPACE',
    "credential_type" "CredentialType" NOT NULL DEFAULT 'API_KEY',
    "label" TEXT NOT NULL,
    "sealed_key" BYTEA,
    "key_id" TEXT,
    "key_hint" TEXT NOT NULL DEFAULT '',
    "base_url" TEXT,
    "default_model" TEXT,
    "priority" INTEGER NOT NULL DEFAULT 100,
    "daily_token_limit" BIGINT,
    "monthly_budget_micros" BIGINT,
    "status" "ProviderStatus" NOT NULL DEFAULT 'ACTIVE',
    "validated" BOOLEAN NOT NULL DEFAULT false,
    "last_validated_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "providers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "preferences" (
    "workspace_id" TEXT NOT NULL,
    "default_provider_id" UUID,
    "default_model" TEXT,
    "fallback_provider_id" UUID,
    "fallback_model" TEXT,
    "auto_failover" BOOLEAN NOT NULL DEFAULT true,
    "max_tokens_per_request" INTEGER,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "quota_warning_threshold" DOUBLE PRECISION NOT NULL DEFAULT 0.8,
    "workspace_daily_token_limit" BIGINT,
    "workspace_monthly_budget_micros" BIGINT,
    "store_conversation_history" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "preferences_pkey" PRIMARY KEY ("workspace_id")
);

-- CreateTable
CREATE TABLE "agent_preferences" (
    "workspace_id" TEXT NOT NULL,
    "agent_type" TEXT NOT NULL,
    "provider_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "fallback_provider_id" UUID,
    "fallback_model" TEXT,

    CONSTRAINT "agent_preferences_pkey" PRIMARY KEY ("workspace_id","agent_type")
);

-- CreateTable
CREATE TABLE "usage_events" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "provider_id" UUID,
    "kind" "ProviderKind" NOT NULL,
    "model" TEXT NOT NULL,
    "agent" TEXT,
    "operation" TEXT,
    "user_id" TEXT,
    "session_id" UUID,
    "status" "UsageStatus" NOT NULL DEFAULT 'RESERVED',
    "streamed" BOOLEAN NOT NULL DEFAULT false,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "cached_prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "reasoning_tokens" INTEGER NOT NULL DEFAULT 0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "usage_source" "UsageSource" NOT NULL DEFAULT 'ESTIMATED',
    "cost_micros" BIGINT NOT NULL DEFAULT 0,
    "price_version" TEXT,
    "reserved_tokens" INTEGER NOT NULL DEFAULT 0,
    "reserved_micros" BIGINT NOT NULL DEFAULT 0,
    "duration_ms" INTEGER,
    "ttft_ms" INTEGER,
    "error_code" TEXT,
    "fallback_from_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "usage_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_counters" (
    "scope" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micros" BIGINT NOT NULL DEFAULT 0,
    "requests" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "usage_counters_pkey" PRIMARY KEY ("scope","period")
);

-- CreateTable
CREATE TABLE "alerts" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "provider_id" UUID,
    "kind" "AlertKind" NOT NULL,
    "severity" "Severity" NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "dedupe_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledged_at" TIMESTAMPTZ(3),
    "acknowledged_by" TEXT,

    CONSTRAINT "alerts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_id" TEXT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chat_sessions" (
    "id" UUID NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "title" TEXT,
    "provider_id" UUID,
    "kind" "ProviderKind",
    "model" TEXT,
    "agent" TEXT,
    "message_count" INTEGER NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_micros" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_active_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chat_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chat_messages" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "role" "ChatRole" NOT NULL,
    "content" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chat_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "members_user_id_idx" ON "members"("user_id");

-- CreateIndex
CREATE INDEX "providers_workspace_id_priority_idx" ON "providers"("workspace_id", "priority");

-- CreateIndex
CREATE INDEX "providers_key_id_idx" ON "providers"("key_id");

-- CreateIndex
CREATE INDEX "usage_events_workspace_id_created_at_id_idx" ON "usage_events"("workspace_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "usage_events_workspace_id_user_id_created_at_idx" ON "usage_events"("workspace_id", "user_id", "created_at");

-- CreateIndex
CREATE INDEX "usage_events_provider_id_created_at_idx" ON "usage_events"("provider_id", "created_at");

-- CreateIndex
CREATE INDEX "usage_events_status_created_at_idx" ON "usage_events"("status", "created_at");

-- CreateIndex
CREATE INDEX "usage_counters_workspace_id_period_idx" ON "usage_counters"("workspace_id", "period");

-- CreateIndex
CREATE INDEX "alerts_workspace_id_created_at_id_idx" ON "alerts"("workspace_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "alerts_workspace_id_dedupe_key_key" ON "alerts"("workspace_id", "dedupe_key");

-- CreateIndex
CREATE INDEX "audit_entries_workspace_id_at_id_idx" ON "audit_entries"("workspace_id", "at", "id");

-- CreateIndex
CREATE INDEX "audit_entries_actor_id_action_at_idx" ON "audit_entries"("actor_id", "action", "at");

-- CreateIndex
CREATE INDEX "chat_sessions_workspace_id_user_id_last_active_at_idx" ON "chat_sessions"("workspace_id", "user_id", "last_active_at");

-- CreateIndex
CREATE UNIQUE INDEX "chat_messages_session_id_seq_key" ON "chat_messages"("session_id", "seq");

-- AddForeignKey
ALTER TABLE "members" ADD CONSTRAINT "members_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "members" ADD CONSTRAINT "members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "providers" ADD CONSTRAINT "providers_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "preferences" ADD CONSTRAINT "preferences_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_preferences" ADD CONSTRAINT "agent_preferences_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_events" ADD CONSTRAINT "usage_events_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_entries" ADD CONSTRAINT "audit_entries_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chat_sessions" ADD CONSTRAINT "chat_sessions_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chat_messages" ADD CONSTRAINT "chat_messages_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "chat_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
