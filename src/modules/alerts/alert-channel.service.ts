// Alert channels: ADMIN+ add, list, test and remove where the workspace's alerts
// go besides the API. A URL is checked by the egress policy when it is added and
// again on every connection; it is sealed with the webhook's signing secret, and
// only its host is ever shown.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Viewer } from '../../auth/viewer.js';
import type { Keyring } from '../../crypto/keyring.js';
import { channelAad, seal } from '../../crypto/seal.js';
import { BadUserInputError, NotFoundError } from '../../errors.js';
import type { AlertChannelType, AlertKind } from '../../generated/prisma/enums.js';
import { isUuid } from '../../ids.js';
import { checkBaseUrl, type EgressPolicy, EgressRefused } from '../../net/egress.js';
import { displayText } from '../../text-input.js';
import type { AlertChannelRepository } from './alert-channel.repository.js';
import type { AlertDelivery } from './alert-delivery.js';
import type { ChannelTarget } from './alert-payloads.js';

/** Channels a workspace may have: each alert is one request per channel. */
export const MAX_CHANNELS = 20;
const MAX_NAME_LENGTH = 100;
const MAX_URL_LENGTH = 2048;

export interface AddAlertChannelInput {
  type: AlertChannelType;
  name: string;
  url: string;
  kinds?: AlertKind[] | null;
}

export interface AlertChannelServiceDeps {
  repository: AlertChannelRepository;
  delivery: AlertDelivery;
  keyring: Keyring;
  egress: EgressPolicy;
  clock: () => Date;
}

export function createAlertChannelService({ repository, delivery, keyring, egress, clock }: AlertChannelServiceDeps) {
  async function checkedUrl(raw: string): Promise<URL> {
    if (raw.length > MAX_URL_LENGTH) throw new BadUserInputError(`url is longer than ${MAX_URL_LENGTH} characters`, 'url');
    try {
      return await checkBaseUrl(egress, raw);
    } catch (error) {
      if (error instanceof EgressRefused) throw new BadUserInputError(error.message, 'url');
      throw error;
    }
  }

  async function find(viewer: Viewer, id: string) {
    const channel = isUuid(id) ? await repository.find(viewer.workspaceId, id) : null;
    if (!channel) throw new NotFoundError('Alert channel');
    return channel;
  }

  return {
    list: (viewer: Viewer) => repository.list(viewer.workspaceId),

    /** Alerts the channel never got (their last try failed), however its latest delivery went. */
    deadDeliveries: (channel: { id: string }) => repository.countDead(channel.id),

    /** The channel, and a WEBHOOK's signing secret (shown this once). */
    async add(viewer: Viewer, input: AddAlertChannelInput) {
      const name = displayText(input.name, 'name', MAX_NAME_LENGTH);
      const url = await checkedUrl(input.url.trim());
      const id = randomUUID();
      const target: ChannelTarget =
        input.type === 'WEBHOOK' ? { type: 'WEBHOOK', url: url.href, signingSecret: `whsec_${randomBytes(32).toString('base64url')}` } : { type: 'SLACK', url: url.href };
      const channel = await repository.insert(
        viewer,
        {
          id,
          workspaceId: viewer.workspaceId,
          type: input.type,
          name,
          urlHost: url.host,
          sealedTarget: seal(keyring, JSON.stringify(target), channelAad(viewer.workspaceId, id)),
          keyId: keyring.activeId,
          kinds: [...new Set(input.kinds ?? [])],
          createdBy: viewer.userId,
          createdAt: clock(),
        },
        MAX_CHANNELS,
        { action: 'ALERT_CHANNEL_ADDED', targetId: id, data: { type: input.type, name, host: url.host } },
      );
      if (!channel) throw new BadUserInputError(`A workspace has at most ${MAX_CHANNELS} alert channels`);
      return { channel, signingSecret: target.type === 'WEBHOOK' ? target.signingSecret : null };
    },

    async remove(viewer: Viewer, id: string): Promise<string> {
      const channel = await find(viewer, id);
      if (!(await repository.remove(viewer, id, { action: 'ALERT_CHANNEL_REMOVED', targetId: id, data: { type: channel.type, name: channel.name } }))) {
        throw new NotFoundError('Alert channel');
      }
      return id;
    },

    /** Sends a test alert (kind TEST) now, signed as a real one; the channel's delivery state is left as it is. */
    async test(viewer: Viewer, id: string, signal: AbortSignal) {
      const channel = await find(viewer, id);
      return delivery.sendTo(
        channel,
        {
          id: randomUUID(),
          kind: 'TEST',
          severity: 'INFO',
          workspaceId: viewer.workspaceId,
          providerId: null,
          message: `Test of the alert channel "${channel.name}"`,
          data: {},
          createdAt: clock().toISOString(),
        },
        signal,
      );
    },
  };
}

export type AlertChannelService = ReturnType<typeof createAlertChannelService>;
