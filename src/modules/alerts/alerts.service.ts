// Alerts: one row per (workspace, dedupe key), so an event raises exactly one
// alert however many calls or instances race to it; published after the insert
// commits, to the workspace's ADMIN and OWNER subscribers on every instance, and
// to the member whose personal provider it is about.
import { roleAtLeast, type Viewer } from '../../auth/viewer.js';
import { NotFoundError } from '../../errors.js';
import type { AlertKind, Severity } from '../../generated/prisma/enums.js';
import { isUuid } from '../../ids.js';
import type { Metrics } from '../../metrics.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import type { AlertEvent, GatewayPubSub } from '../../pubsub/pubsub.js';
import { untilAborted } from '../../pubsub/until-aborted.js';
import type { AlertRepository } from './alerts.repository.js';

export interface AlertDraft {
  kind: AlertKind;
  severity: Severity;
  providerId: string | null;
  message: string;
  data: Record<string, unknown>;
  dedupeKey: string;
  /** The member whose personal provider it is about: they hear it too. */
  personalOwnerId?: string | null;
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

    /** ADMIN and OWNER hear every alert of the workspace; a member those about their own personal providers. */
    async *subscribe(viewer: Viewer, signal: AbortSignal): AsyncGenerator<AlertEvent> {
      const everything = roleAtLeast(viewer.role, 'ADMIN');
      for await (const alert of untilAborted(pubsub.subscribe('alert:raised', viewer.workspaceId), signal)) {
        if (everything || alert.personalOwnerId === viewer.userId) yield alert;
      }
    },
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
