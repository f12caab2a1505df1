// The preference reads on every chat's path, as plain statements.
import type { Sql } from '../../db/sql.js';
import type { AgentPreference, Preferences } from '../../generated/prisma/client.js';

export type StoredPreferences = Omit<Preferences, 'updatedAt'>;

export async function readPreferences(sql: Sql, workspaceId: string): Promise<StoredPreferences | undefined> {
  const [row] = await sql.query<StoredPreferences>(
    `
    SELECT workspace_id AS "workspaceId", default_provider_id::text AS "defaultProviderId", default_model AS "defaultModel",
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel", auto_failover AS "autoFailover",
      max_tokens_per_request AS "maxTokensPerRequest", timezone, quota_warning_threshold AS "quotaWarningThreshold",
      workspace_daily_token_limit AS "workspaceDailyTokenLimit", workspace_monthly_budget_micros AS "workspaceMonthlyBudgetMicros",
      store_conversation_history AS "storeConversationHistory"
    FROM preferences WHERE workspace_id = $1`,
    [workspaceId],
  );
  return row;
}

export async function findAgentPreference(sql: Sql, workspaceId: string, agentType: string): Promise<AgentPreference | undefined> {
  const [row] = await sql.query<AgentPreference>(
    `
    SELECT workspace_id AS "workspaceId", agent_type AS "agentType", provider_id::text AS "providerId", model,
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel"
    FROM agent_preferences WHERE workspace_id = $1 AND agent_type = $2`,
    [workspaceId, agentType],
  );
  return row;
}
