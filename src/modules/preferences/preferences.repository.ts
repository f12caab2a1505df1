// The preference reads on every chat's path, as plain statements.
import type { AgentPreference, Preferences, PrismaClient } from '../../generated/prisma/client.js';

export type StoredPreferences = Omit<Preferences, 'updatedAt'>;

export async function readPreferences(prisma: PrismaClient, workspaceId: string): Promise<StoredPreferences | undefined> {
  const [row] = await prisma.$queryRaw<StoredPreferences[]>`
    SELECT workspace_id AS "workspaceId", default_provider_id::text AS "defaultProviderId", default_model AS "defaultModel",
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel", auto_failover AS "autoFailover",
      max_tokens_per_request AS "maxTokensPerRequest", timezone, quota_warning_threshold AS "quotaWarningThreshold",
      workspace_daily_token_limit AS "workspaceDailyTokenLimit", workspace_monthly_budget_micros AS "workspaceMonthlyBudgetMicros",
      store_conversation_history AS "storeConversationHistory"
    FROM preferences WHERE workspace_id = ${workspaceId}`;
  return row;
}

export async function findAgentPreference(prisma: PrismaClient, workspaceId: string, agentType: string): Promise<AgentPreference | undefined> {
  const [row] = await prisma.$queryRaw<AgentPreference[]>`
    SELECT workspace_id AS "workspaceId", agent_type AS "agentType", provider_id::text AS "providerId", model,
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel"
    FROM agent_preferences WHERE workspace_id = ${workspaceId} AND agent_type = ${agentType}`;
  return row;
}
