// Alerts: one row per (workspace, dedupe key), so an event raises exactly one
// alert however many calls or instances race to it; published after the insert
// commits, to the workspace's ADMIN and OWNER subscribers on every instance.
import type { Viewer } from '../../auth/viewer.js';
import { NotFoundError } from '../../errors.js';
import type { AlertKind, Severity } from '../../generated/prisma/enums.js';
import { isUuid } from '../../ids.js';
import type { Metrics } from '../../metrics.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import type { GatewayPubSub } from '../../pubsub/pubsub.js';
import { untilAborted } from '../../pubsub/until-aborted.js';
import type { AlertRepository } from './alerts.repository.js';

export interface AlertDraft {
  kind: AlertKind;
  severity: Severity;
  providerId: string | null;
  message: string;
  data: Record<string, unknown>;
  dedupeKey: string;
}

export function createAlertService(repository: AlertRepository, pubsub: GatewayPubSub, clock: () => Date, metrics: Pick<Metrics, 'alertRaised'>) {
  return {
    /** Writes the drafts that are new for their dedupe key and publishes those; returns how many were new. */
    async raise(workspaceId: string, drafts: AlertDraft[]): Promise<number> {
      if (drafts.length === 0) return 0;
      const raised = await repository.insertNew(workspaceId, drafts, clock());
      for (const alert of raised) {
        metrics.alertRaised(alert.kind);
        pubsub.publish('alert:raised', workspaceId, alert);
      }
      return raised.length;
    },

    async list(viewer: Viewer, args: { unacknowledgedOnly: boolean; first: number; after?: string | null }) {
      const take = pageSize(args.first);
      const rows = await repository.page(viewer.workspaceId, { unacknowledgedOnly: args.unacknowledgedOnly, cursor: decodeCursor(args.after), take: take + 1 });
      return toPage(rows, take, (row) => ({ at: row.createdAt, id: row.id }));
    },

    /** Marks the alert seen; acknowledging twice keeps the first time. */
    async acknowledge(viewer: Viewer, id: string) {
      if (!isUuid(id)) throw new NotFoundError('Alert');
      await repository.markAcknowledged(viewer.workspaceId, id, viewer.userId, clock());
      const alert = await repository.find(viewer.workspaceId, id);
      if (!alert) throw new NotFoundError('Alert');
      return alert;
    },

    subscribe: (workspaceId: string, signal: AbortSignal) => untilAborted(pubsub.subscribe('alert:raised', workspaceId), signal),
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
