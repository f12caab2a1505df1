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

    /** The channel's deliveries whose last try failed: alerts it never got. */
    countDead: (channelId: string): Promise<number> => prisma.alertDelivery.count({ where: { channelId, deadAt: { not: null } } }),

    find: (workspaceId: string, id: string): Promise<AlertChannel | null> => prisma.alertChannel.findFirst({ where: { id, workspaceId } }),

    /** Inserts the channel if the workspace has fewer than `max` (counted under a lock of the workspace's, so concurrent adds cannot pass it); null otherwise. */
    insert(viewer: Viewer, row: Prisma.AlertChannelUncheckedCreateInput, max: number, entry: AuditRecord): Promise<AlertChannel | null> {
      return prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext(${`alert-channels:${viewer.workspaceId}`}))`;
        if ((await tx.alertChannel.count({ where: { workspaceId: viewer.workspaceId } })) >= max) return null;
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
     * Takes up to `limit` deliveries due at `now` for one try each: their next try moves to `leaseUntil` in the same
     * statement, so no other run (on any instance) takes them meanwhile, and a try whose process died is made again
     * after it. Fair to receivers that do not answer: one delivery per channel, `perWorkspace` per workspace, none of
     * the channels or workspaces `busy` already has in flight, and while a channel is RETRYING only the deliveries it
     * is retrying (its new alerts wait until it answers or gives up).
     */
    claim(
      { now, leaseUntil, limit, perWorkspace }: { now: Date; leaseUntil: Date; limit: number; perWorkspace: number },
      busy: { channels: string[]; workspaces: string[] },
    ): Promise<DueDelivery[]> {
      return sql.query<DueDelivery>(
        `WITH due AS (
          SELECT DISTINCT ON (d.channel_id) d.id, d.next_attempt_at, c.workspace_id
          FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
          WHERE d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $1
            AND (c.state <> 'RETRYING' OR d.attempts > 0)
            AND d.channel_id <> ALL($5::uuid[]) AND c.workspace_id <> ALL($6::text[])
          ORDER BY d.channel_id, d.next_attempt_at, d.id
        ), fair AS (
          SELECT id, next_attempt_at, row_number() OVER (PARTITION BY workspace_id ORDER BY next_attempt_at, id) AS turn FROM due
        ), claimed AS (
          UPDATE alert_deliveries SET next_attempt_at = $2
          WHERE id IN (
            SELECT id FROM alert_deliveries
            WHERE id IN (SELECT id FROM fair WHERE turn <= $4 ORDER BY next_attempt_at, id LIMIT $3)
              AND delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1
            FOR UPDATE SKIP LOCKED
          )
          RETURNING id, attempts, channel_id, alert_id
        )
        SELECT d.id::text, d.attempts, c.id::text AS "channelId", c.type::text, c.sealed_target AS "sealedTarget",
          json_build_object('id', a.id::text, 'kind', a.kind, 'severity', a.severity, 'workspaceId', a.workspace_id, 'providerId', a.provider_id::text,
            'message', a.message, 'data', a.data, 'createdAt', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS alert
        FROM claimed d JOIN alert_channels c ON c.id = d.channel_id JOIN alerts a ON a.id = d.alert_id`,
        [now, leaseUntil, limit, perWorkspace, busy.channels, busy.workspaces],
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
