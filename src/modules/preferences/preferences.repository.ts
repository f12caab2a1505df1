// The preference reads routing needs, as plain statements.
import type { Sql } from '../../db/sql.js';
import type { AgentPreference, Preferences } from '../../generated/prisma/client.js';

export type StoredPreferences = Omit<Preferences, 'updatedAt'>;

/** A workspace that never saved preferences has these. */
const DEFAULTS: Omit<StoredPreferences, 'workspaceId'> = {
  defaultProviderId: null,
  defaultModel: null,
  fallbackProviderId: null,
  fallbackModel: null,
  autoFailover: true,
  maxTokensPerRequest: null,
  timezone: 'UTC',
  quotaWarningThreshold: 0.8,
  workspaceDailyTokenLimit: null,
  workspaceMonthlyBudgetMicros: null,
  storeConversationHistory: false,
};

export async function readPreferences(sql: Sql, workspaceId: string): Promise<StoredPreferences> {
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
  return row ?? { workspaceId, ...DEFAULTS };
}

export async function listAgentPreferences(sql: Sql, workspaceId: string): Promise<AgentPreference[]> {
  return sql.query<AgentPreference>(
    `
    SELECT workspace_id AS "workspaceId", agent_type AS "agentType", provider_id::text AS "providerId", model,
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel"
    FROM agent_preferences WHERE workspace_id = $1 ORDER BY agent_type`,
    [workspaceId],
  );
}
