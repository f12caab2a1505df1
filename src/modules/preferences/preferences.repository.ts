// Workspace and agent preferences. The reads routing needs are plain
// statements; each change is written with its audit entry in one transaction.
import type { Viewer } from '../../auth/viewer.js';
import type { Database } from '../../db/client.js';
import type { Sql } from '../../db/sql.js';
import type { AgentPreference, Preferences } from '../../generated/prisma/client.js';
import { type AuditRecord, recordAudit } from '../audit/audit.repository.js';

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
  embeddingProviderId: null,
  embeddingModel: null,
  routingStrategy: 'PRIORITY',
};

export async function readPreferences(sql: Sql, workspaceId: string): Promise<StoredPreferences> {
  const [row] = await sql.query<StoredPreferences>(
    `
    SELECT workspace_id AS "workspaceId", default_provider_id::text AS "defaultProviderId", default_model AS "defaultModel",
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel", auto_failover AS "autoFailover",
      max_tokens_per_request AS "maxTokensPerRequest", timezone, quota_warning_threshold AS "quotaWarningThreshold",
      workspace_daily_token_limit AS "workspaceDailyTokenLimit", workspace_monthly_budget_micros AS "workspaceMonthlyBudgetMicros",
      store_conversation_history AS "storeConversationHistory", embedding_provider_id::text AS "embeddingProviderId", embedding_model AS "embeddingModel",
      routing_strategy AS "routingStrategy"
    FROM preferences WHERE workspace_id = $1`,
    [workspaceId],
  );
  return row ?? { workspaceId, ...DEFAULTS };
}

export async function listAgentPreferences(sql: Sql, workspaceId: string): Promise<AgentPreference[]> {
  return sql.query<AgentPreference>(
    `
    SELECT workspace_id AS "workspaceId", agent_type AS "agentType", provider_id::text AS "providerId", model,
      fallback_provider_id::text AS "fallbackProviderId", fallback_model AS "fallbackModel",
      routing_strategy AS "routingStrategy"
    FROM agent_preferences WHERE workspace_id = $1 ORDER BY agent_type`,
    [workspaceId],
  );
}

export type AgentChoice = Pick<AgentPreference, 'providerId' | 'model' | 'fallbackProviderId' | 'fallbackModel' | 'routingStrategy'>;

export function createPreferencesRepository({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>) {
  return {
    read: (workspaceId: string) => readPreferences(sql, workspaceId),

    listAgentPreferences: (workspaceId: string) => listAgentPreferences(sql, workspaceId),

    async save(viewer: Viewer, changes: Partial<Preferences>, entry: AuditRecord): Promise<void> {
      await prisma.$transaction([
        prisma.preferences.upsert({ where: { workspaceId: viewer.workspaceId }, create: { workspaceId: viewer.workspaceId, ...changes }, update: changes }),
        recordAudit(prisma, viewer, entry),
      ]);
    },

    async saveAgentPreference(viewer: Viewer, agentType: string, choice: AgentChoice, entry: AuditRecord): Promise<AgentPreference> {
      const [saved] = await prisma.$transaction([
        prisma.agentPreference.upsert({
          where: { workspaceId_agentType: { workspaceId: viewer.workspaceId, agentType } },
          create: { workspaceId: viewer.workspaceId, agentType, ...choice },
          update: choice,
        }),
        recordAudit(prisma, viewer, entry),
      ]);
      return saved;
    },

    /** Deletes the agent's preference and, only when there was one, writes `entry`; says whether there was one. */
    deleteAgentPreference(viewer: Viewer, agentType: string, entry: AuditRecord): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.agentPreference.deleteMany({ where: { workspaceId: viewer.workspaceId, agentType } });
        if (count > 0) await recordAudit(tx, viewer, entry);
        return count > 0;
      });
    },
  };
}

export type PreferencesRepository = ReturnType<typeof createPreferencesRepository>;
