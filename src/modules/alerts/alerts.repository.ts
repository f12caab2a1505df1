// Alert rows. The unique (workspace, dedupe key) index makes an event one row
// however many calls or instances race to raise it; the same statement writes
// its channel deliveries (the outbox the delivery job takes).
import type { Database } from '../../db/client.js';
import type { Alert } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';
import type { AlertEvent } from '../../pubsub/pubsub.js';
import type { AlertDraft } from './alerts.service.js';

export function createAlertRepository({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>) {
  return {
    /** Inserts the drafts whose dedupe key is new to the workspace, in one statement; returns those, shaped for subscribers. */
    insertNew(workspaceId: string, drafts: AlertDraft[], at: Date): Promise<AlertEvent[]> {
      return sql.query<AlertEvent>(
        `WITH d AS (
          SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::text[])
            AS d(provider_id, kind, severity, message, data, dedupe_key, personal_owner_id)
        ), inserted AS (
          INSERT INTO alerts (id, workspace_id, provider_id, kind, severity, message, data, dedupe_key, personal_owner_id, created_at)
          SELECT gen_random_uuid(), $1, provider_id::uuid, kind::"AlertKind", severity::"Severity", message, data::jsonb, dedupe_key, personal_owner_id, $8 FROM d
          ON CONFLICT (workspace_id, dedupe_key) DO NOTHING
          RETURNING id, provider_id, kind, severity, message, data, dedupe_key, personal_owner_id, created_at, acknowledged_at
        ), outbox AS (
          -- Its deliveries, in the same statement: an alert is never raised without them, nor they without it.
          INSERT INTO alert_deliveries (id, alert_id, channel_id, next_attempt_at)
          SELECT gen_random_uuid(), i.id, c.id, $8 FROM inserted i
          JOIN alert_channels c ON c.workspace_id = $1 AND (COALESCE(cardinality(c.kinds), 0) = 0 OR i.kind = ANY(c.kinds))
        )
        SELECT i.id::text, i.provider_id::text AS "providerId", i.kind::text, i.severity::text, i.message, i.data, i.created_at AS "createdAt",
          i.acknowledged_at AS "acknowledgedAt", i.personal_owner_id AS "personalOwnerId"
        FROM inserted i`,
        [
          workspaceId,
          drafts.map((d) => d.providerId),
          drafts.map((d) => d.kind),
          drafts.map((d) => d.severity),
          drafts.map((d) => d.message),
          drafts.map((d) => JSON.stringify(d.data)),
          drafts.map((d) => d.dedupeKey),
          at,
          drafts.map((d) => d.personalOwnerId ?? null),
        ],
      );
    },

    /** The workspace's newest `limit` alerts raised at or after `from`, oldest first, shaped for subscribers. */
    since(workspaceId: string, from: Date, limit: number): Promise<AlertEvent[]> {
      return sql.query<AlertEvent>(
        `SELECT * FROM (
          SELECT id::text, provider_id::text AS "providerId", kind::text, severity::text, message, data, created_at AS "createdAt",
            acknowledged_at AS "acknowledgedAt", personal_owner_id AS "personalOwnerId"
          FROM alerts WHERE workspace_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id DESC LIMIT $3
        ) newest ORDER BY "createdAt", id`,
        [workspaceId, from, limit],
      );
    },

    /** Newest first, older than `cursor`; `take` rows at most. */
    page(workspaceId: string, { unacknowledgedOnly, cursor, take }: { unacknowledgedOnly: boolean; cursor: Cursor | undefined; take: number }): Promise<Alert[]> {
      return prisma.alert.findMany({
        where: { workspaceId, ...(unacknowledgedOnly ? { acknowledgedAt: null } : {}), ...olderThan('createdAt', cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take,
      });
    },

    /** Acknowledging twice keeps the first time and the first user. */
    async markAcknowledged(workspaceId: string, id: string, by: string, at: Date): Promise<void> {
      await prisma.alert.updateMany({ where: { id, workspaceId, acknowledgedAt: null }, data: { acknowledgedAt: at, acknowledgedBy: by } });
    },

    find: (workspaceId: string, id: string): Promise<Alert | null> => prisma.alert.findFirst({ where: { id, workspaceId } }),
  };
}

export type AlertRepository = ReturnType<typeof createAlertRepository>;
