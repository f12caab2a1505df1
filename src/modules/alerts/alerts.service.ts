// Alerts: one row per (workspace, dedupe key), so an event raises exactly one
// alert however many calls or instances race to it; published after the insert
// commits, to the workspace's ADMIN and OWNER subscribers on every instance, and
// to the member whose personal provider it is about. What the bus lost while
// Redis was away is filled from the table when it is back, and a subscriber
// gets each alert once either way.

import { FixedBuffer, Repeater } from 'graphql-yoga';
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

/** Instances' clocks differ: a fill reaches back this much before the outage began (the ids already seen are skipped). */
const FILL_MARGIN_MS = 60_000;
/** A fill gives a subscriber nothing raised before it subscribed, by this instance's clock give or take this much. */
const CLOCK_SKEW_MS = 5_000;
/** Alerts filled per workspace after one outage at most (the unique dedupe keys bound them per period anyway). */
const FILL_LIMIT = 1_000;
/** The ids a subscriber remembers having been given, to give none twice: a fill's worth and as many live ones. */
const SEEN_IDS = 2 * FILL_LIMIT;

/** Ids in the order they were added, the oldest forgotten past `max`; `add` is false for one already there. */
function recentIds(max: number) {
  const ids = new Set<string>();
  return {
    add(id: string): boolean {
      if (ids.has(id)) return false;
      ids.add(id);
      if (ids.size > max) ids.delete(ids.values().next().value!);
      return true;
    },
  };
}

export function createAlertService(
  repository: AlertRepository,
  pubsub: GatewayPubSub,
  clock: () => Date,
  metrics: Pick<Metrics, 'alertRaised'>,
  onUnexpected: (error: unknown) => void,
) {
  /** This instance's open subscriptions by workspace: what a fill after an outage delivers to. */
  const subscribers = new Map<string, Set<{ openedAt: number; deliver(alert: AlertEvent): void }>>();

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

    /**
     * ADMIN and OWNER hear every alert of the workspace; a member those about their own personal providers. Each
     * once: from the bus, or from a fill after an outage, whichever comes first.
     */
    subscribe(viewer: Viewer, signal: AbortSignal): AsyncIterable<AlertEvent> {
      const everything = roleAtLeast(viewer.role, 'ADMIN');
      const seen = recentIds(SEEN_IDS);
      return new Repeater<AlertEvent>(async (push, stop) => {
        const deliver = (alert: AlertEvent) => {
          if (!(everything || alert.personalOwnerId === viewer.userId) || !seen.add(alert.id)) return;
          try {
            void push(alert);
          } catch (overflow) {
            // A client that reads nothing while thousands of alerts wait: its subscription ends, the process goes on.
            stop(overflow);
          }
        };
        const subscriber = { openedAt: clock().getTime(), deliver };
        const open = subscribers.get(viewer.workspaceId) ?? new Set();
        subscribers.set(viewer.workspaceId, open.add(subscriber));
        const live = untilAborted(pubsub.subscribe('alert:raised', viewer.workspaceId), signal);
        void (async () => {
          for await (const alert of live) deliver(alert);
          stop();
        })();
        await stop;
        open.delete(subscriber);
        if (open.size === 0) subscribers.delete(viewer.workspaceId);
        await live.return?.();
      }, new FixedBuffer(FILL_LIMIT));
    },

    /**
     * The bus was away from `since` (on this instance or another): alerts published meanwhile may not have reached
     * this instance's subscribers. Delivers the workspaces' alerts raised since (those a subscriber was given already,
     * or raised before it subscribed, are skipped).
     */
    async fillSince(since: Date): Promise<void> {
      const from = new Date(since.getTime() - FILL_MARGIN_MS);
      for (const [workspaceId, open] of subscribers) {
        try {
          const alerts = await repository.since(workspaceId, from, FILL_LIMIT);
          for (const alert of alerts) {
            const raisedAt = new Date(alert.createdAt).getTime();
            for (const subscriber of open) if (raisedAt >= subscriber.openedAt - CLOCK_SKEW_MS) subscriber.deliver(alert);
          }
        } catch (error) {
          onUnexpected(error);
        }
      }
    },
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
