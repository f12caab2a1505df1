// Alert channels and their outbox. Channel rows and their audit entries are
// written together; the outbox rows are written by the statement that inserts
// an alert (alerts.repository.ts), and claimed here by the delivery job.
import type { Viewer } from '../../auth/viewer.js';
import type { Database } from '../../db/client.js';
import type { AlertChannel, Prisma } from '../../generated/prisma/client.js';
import { type AuditRecord, recordAudit } from '../audit/audit.repository.js';
import type { ChannelAlert } from './alert-payloads.js';

/** A delivery the job may try now: the alert, its channel's sealed target, and how many tries it had. */
export interface DueDelivery {
  id: string;
  attempts: number;
  channelId: string;
  type: 'WEBHOOK' | 'SLACK';
  sealedTarget: Uint8Array;
  alert: ChannelAlert;
}

/** A try's outcome: delivered, tried again at `retryAt`, or given up (dead). */
export type DeliveryOutcome = { delivered: true } | { delivered: false; error: string; retryAt: Date | null };

export function createAlertChannelRepository({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>) {
  return {
    list: (workspaceId: string): Promise<AlertChannel[]> => prisma.alertChannel.findMany({ where: { workspaceId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),

    find: (workspaceId: string, id: string): Promise<AlertChannel | null> => prisma.alertChannel.findFirst({ where: { id, workspaceId } }),

    count: (workspaceId: string): Promise<number> => prisma.alertChannel.count({ where: { workspaceId } }),

    insert(viewer: Viewer, row: Prisma.AlertChannelUncheckedCreateInput, entry: AuditRecord): Promise<AlertChannel> {
      return prisma.$transaction(async (tx) => {
        const channel = await tx.alertChannel.create({ data: row });
        await recordAudit(tx, viewer, entry);
        return channel;
      });
    },

    /** Deletes the channel and its outbox rows; false when the workspace has no such channel. */
    remove(viewer: Viewer, id: string, entry: AuditRecord): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.alertChannel.deleteMany({ where: { id, workspaceId: viewer.workspaceId } });
        if (count > 0) await recordAudit(tx, viewer, entry);
        return count > 0;
      });
    },

    /**
     * Takes the oldest `limit` deliveries due at `now` for one try each: their next try moves to `leaseUntil` in
     * the same statement, so no other run (on any instance) takes them meanwhile, and a try whose process died is
     * made again after it. Returns what sending them needs.
     */
    claim(now: Date, leaseUntil: Date, limit: number): Promise<DueDelivery[]> {
      return sql.query<DueDelivery>(
        `WITH claimed AS (
          UPDATE alert_deliveries SET next_attempt_at = $2
          WHERE id IN (
            SELECT id FROM alert_deliveries WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1
            ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
          )
          RETURNING id, attempts, channel_id, alert_id
        )
        SELECT d.id::text, d.attempts, c.id::text AS "channelId", c.type::text, c.sealed_target AS "sealedTarget",
          json_build_object('id', a.id::text, 'kind', a.kind, 'severity', a.severity, 'workspaceId', a.workspace_id, 'providerId', a.provider_id::text,
            'message', a.message, 'data', a.data, 'createdAt', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS alert
        FROM claimed d JOIN alert_channels c ON c.id = d.channel_id JOIN alerts a ON a.id = d.alert_id`,
        [now, leaseUntil, limit],
      );
    },

    /** Records one try on the delivery and on its channel (the channel's state is its latest outcome), in one statement. */
    async record(delivery: Pick<DueDelivery, 'id' | 'channelId'>, outcome: DeliveryOutcome, at: Date): Promise<void> {
      const error = outcome.delivered ? null : outcome.error;
      const retryAt = outcome.delivered ? null : outcome.retryAt;
      const state = outcome.delivered ? 'OK' : retryAt ? 'RETRYING' : 'DEAD';
      await sql.query(
        `WITH tried AS (
          UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $2,
            delivered_at = CASE WHEN $4 = 'OK' THEN $5::timestamptz END,
            dead_at = CASE WHEN $4 = 'DEAD' THEN $5::timestamptz END,
            next_attempt_at = COALESCE($3::timestamptz, next_attempt_at)
          WHERE id = $1::uuid AND delivered_at IS NULL AND dead_at IS NULL
          RETURNING channel_id
        )
        UPDATE alert_channels SET state = $4::"DeliveryState", last_error = $2,
          last_delivered_at = CASE WHEN $4 = 'OK' THEN $5::timestamptz ELSE last_delivered_at END
        WHERE id = (SELECT channel_id FROM tried)`,
        [delivery.id, error, retryAt, state, at],
      );
    },
  };
}

export type AlertChannelRepository = ReturnType<typeof createAlertChannelRepository>;
