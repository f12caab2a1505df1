// Alerts: one row per (workspace, dedupe key), so an event raises exactly one
// alert however many calls or instances race to it; published after the insert
// commits, to the workspace's ADMIN and OWNER subscribers on every instance.
import type { Viewer } from '../../auth/viewer.js';
import type { Database } from '../../db/client.js';
import type { Metrics } from '../../metrics.js';
import { NotFoundError } from '../../errors.js';
import type { AlertKind, Severity } from '../../generated/prisma/enums.js';
import { decodeCursor, olderThan, pageSize, toPage } from '../../pagination.js';
import type { AlertEvent, GatewayPubSub } from '../../pubsub/pubsub.js';
import { untilAborted } from '../../pubsub/until-aborted.js';
import { isUuid } from '../../ids.js';

export interface AlertDraft {
  kind: AlertKind;
  severity: Severity;
  providerId: string | null;
  message: string;
  data: Record<string, unknown>;
  dedupeKey: string;
}

export function createAlertService({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>, pubsub: GatewayPubSub, clock: () => Date, metrics: Pick<Metrics, 'alertRaised'>) {
  return {
    /** Writes the drafts that are new for their dedupe key and publishes those; returns how many were new. */
    async raise(workspaceId: string, drafts: AlertDraft[]): Promise<number> {
      if (drafts.length === 0) return 0;
      const raised = await sql.query<AlertEvent>(
        `INSERT INTO alerts (id, workspace_id, provider_id, kind, severity, message, data, dedupe_key, created_at)
        SELECT gen_random_uuid(), $1, provider_id::uuid, kind::"AlertKind", severity::"Severity", message, data::jsonb, dedupe_key, $8
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS d(provider_id, kind, severity, message, data, dedupe_key)
        ON CONFLICT (workspace_id, dedupe_key) DO NOTHING
        RETURNING id::text, provider_id::text AS "providerId", kind::text, severity::text, message, data, created_at AS "createdAt", acknowledged_at AS "acknowledgedAt"`,
        [workspaceId, drafts.map((d) => d.providerId), drafts.map((d) => d.kind), drafts.map((d) => d.severity), drafts.map((d) => d.message),
          drafts.map((d) => JSON.stringify(d.data)), drafts.map((d) => d.dedupeKey), clock()],
      );
      for (const alert of raised) {
        metrics.alertRaised(alert.kind);
        pubsub.publish('alert:raised', workspaceId, alert);
      }
      return raised.length;
    },

    async list(viewer: Viewer, args: { unacknowledgedOnly: boolean; first: number; after?: string | null }) {
      const take = pageSize(args.first);
      const rows = await prisma.alert.findMany({
        where: { workspaceId: viewer.workspaceId, ...(args.unacknowledgedOnly ? { acknowledgedAt: null } : {}), ...olderThan('createdAt', decodeCursor(args.after)) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: take + 1,
      });
      return toPage(rows, take, (row) => ({ at: row.createdAt, id: row.id }));
    },

    /** Marks the alert seen; acknowledging twice keeps the first time. */
    async acknowledge(viewer: Viewer, id: string) {
      if (!isUuid(id)) throw new NotFoundError('Alert');
      await prisma.alert.updateMany({ where: { id, workspaceId: viewer.workspaceId, acknowledgedAt: null }, data: { acknowledgedAt: clock(), acknowledgedBy: viewer.userId } });
      const alert = await prisma.alert.findFirst({ where: { id, workspaceId: viewer.workspaceId } });
      if (!alert) throw new NotFoundError('Alert');
      return alert;
    },

    subscribe: (workspaceId: string, signal: AbortSignal) => untilAborted(pubsub.subscribe('alert:raised', workspaceId), signal),
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
