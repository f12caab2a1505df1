// Sending alerts to channels: one try of one request (also what testAlertChannel
// does), and the delivery job's run over the due outbox rows. A row is claimed
// for one try by the statement that reads it (a lease: no other run, on any
// instance, takes it meanwhile) and marked by the statement after the try, so
// each alert reaches each channel once; only a process dying between a
// receiver's answer and that statement sends it again, after the lease (the
// receiver can tell by the alert's id).
import { setTimeout } from 'node:timers/promises';
import type { Keyring } from '../../crypto/keyring.js';
import { channelAad, open, SealError } from '../../crypto/seal.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';
import { EgressRefused } from '../../net/egress.js';
import type { AlertChannelRepository, DueDelivery } from './alert-channel.repository.js';
import { type ChannelAlert, type ChannelTarget, channelRequest } from './alert-payloads.js';

/** Due deliveries tried per run; the rest wait for the next run. */
const BATCH = 200;
/** Requests in flight at once. */
const PARALLEL = 8;
/** Requests in flight at once for one workspace: receivers that do not answer hold up no other workspace's. */
const PER_WORKSPACE = 2;
/** A claim outlasts its try's time limit by this much (recording the outcome included). */
const LEASE_MARGIN_MS = 30_000;
/** The longest wait between two tries. */
const MAX_BACKOFF_MS = 3_600_000;

export interface SendResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  /** Why it failed, in words safe to show and store: a status, a timeout, the egress policy. Never the URL or the answer's body. */
  message: string | null;
}

export interface AlertDeliveryDeps {
  repository: AlertChannelRepository;
  keyring: Keyring;
  /** The egress-guarded fetch: every channel URL is checked on every connection, and no redirect is followed. */
  fetch: typeof fetch;
  clock: () => Date;
  policy: { everyMs: number; attempts: number; backoffMs: number; timeoutMs: number };
}

function openTarget(keyring: Keyring, channel: { id: string; workspaceId: string; sealedTarget: Uint8Array }): ChannelTarget {
  return JSON.parse(open(keyring, channel.sealedTarget, channelAad(channel.workspaceId, channel.id))) as ChannelTarget;
}

export function createAlertDelivery({ repository, keyring, fetch, clock, policy }: AlertDeliveryDeps) {
  /** One request to the channel: 2xx is delivered; anything else, with what went wrong. */
  /** `signal`: the caller's (a test whose client went away stops waiting). */
  async function send(target: ChannelTarget, alert: ChannelAlert, signal?: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    const { body, headers } = channelRequest(target, alert, clock());
    try {
      const limit = AbortSignal.timeout(policy.timeoutMs);
      const response = await fetch(target.url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, limit]) : limit });
      await response.body?.cancel();
      const ok = response.status >= 200 && response.status < 300;
      return { ok, status: response.status, latencyMs: elapsed(), message: ok ? null : `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, status: null, latencyMs: elapsed(), message: failure(error, policy.timeoutMs) };
    }
  }

  /** The wait before try `attempts + 1`: the base, doubled for each try made, at most an hour. */
  const backoff = (attempts: number) => Math.min(policy.backoffMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);

  /**
   * One request to the channel sealed on `channel`'s row. A channel whose target no longer opens (its master key
   * left ENCRYPTION_KEYS) fails like an unreachable one: visible, then DEAD.
   */
  function sendTo(channel: { id: string; workspaceId: string; sealedTarget: Uint8Array }, alert: ChannelAlert, signal?: AbortSignal): Promise<SendResult> {
    try {
      return send(openTarget(keyring, channel), alert, signal);
    } catch (error) {
      if (!(error instanceof SealError)) throw error;
      return Promise.resolve({ ok: false, status: null, latencyMs: 0, message: error.message });
    }
  }

  async function deliver(delivery: DueDelivery): Promise<boolean> {
    const result = await sendTo({ id: delivery.channelId, workspaceId: delivery.alert.workspaceId, sealedTarget: delivery.sealedTarget }, delivery.alert);
    const attempts = delivery.attempts + 1;
    const now = clock();
    await repository.record(
      delivery,
      result.ok ? { delivered: true } : { delivered: false, error: result.message!, retryAt: attempts < policy.attempts ? new Date(now.getTime() + backoff(attempts)) : null },
      now,
    );
    return result.ok;
  }

  return {
    sendTo,

    /**
     * Tries the due deliveries once each, up to a batch: a new one is claimed as soon as a request ends, never two
     * at once for a channel, nor more than a few for a workspace. A summary for the job's log line.
     */
    async deliverDue(itemFailed: ItemFailed): Promise<Record<string, number>> {
      const inFlight = new Map<string, DueDelivery>();
      let tried = 0;
      let delivered = 0;
      // Each delivery is an item of its own (forEachItem's rule: one that fails is reported and tried next run; an
      // unreachable database ends the run); they run side by side, so each goes through it alone.
      const attempt = async (delivery: DueDelivery) => {
        try {
          await forEachItem(
            [delivery],
            (d) => `alert-delivery:${d.id}`,
            async (d) => void ((await deliver(d)) && delivered++),
            itemFailed,
          );
        } finally {
          inFlight.delete(delivery.id);
        }
      };
      const running = new Set<Promise<void>>();
      while (tried < BATCH) {
        const now = clock();
        const busyWorkspaces = new Map<string, number>();
        for (const { alert } of inFlight.values()) busyWorkspaces.set(alert.workspaceId, (busyWorkspaces.get(alert.workspaceId) ?? 0) + 1);
        const claimed =
          running.size < PARALLEL
            ? await repository.claim(
                {
                  now,
                  leaseUntil: new Date(now.getTime() + policy.timeoutMs + LEASE_MARGIN_MS),
                  limit: Math.min(PARALLEL - running.size, BATCH - tried),
                  perWorkspace: PER_WORKSPACE,
                },
                {
                  channels: [...inFlight.values()].map((delivery) => delivery.channelId),
                  workspaces: [...busyWorkspaces].filter(([, count]) => count >= PER_WORKSPACE).map(([workspaceId]) => workspaceId),
                },
              )
            : [];
        if (claimed.length === 0 && running.size === 0) break;
        for (const delivery of claimed) {
          tried++;
          inFlight.set(delivery.id, delivery);
          const run = attempt(delivery).finally(() => running.delete(run));
          running.add(run);
        }
        // Claim again when a request ends (it may have freed its channel or workspace), or after the job's interval
        // (new alerts are due meanwhile, perhaps of a workspace with nothing in flight).
        if (claimed.length === 0 || running.size >= PARALLEL) await Promise.race([...running, setTimeout(policy.everyMs)]);
      }
      await Promise.all(running);
      return { tried, delivered };
    },
  };
}

/** A failed request in words for an admin; the egress policy's refusal names the address class, never the URL. */
function failure(error: unknown, timeoutMs: number): string {
  if (error instanceof EgressRefused) return error.message;
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? `connection failed (${code})` : 'connection failed';
}

export type AlertDelivery = ReturnType<typeof createAlertDelivery>;
