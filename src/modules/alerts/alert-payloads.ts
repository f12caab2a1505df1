// What an alert channel receives: the bodies of the two channel types and the
// webhook's signature. Nothing here holds a secret of the workspace: an alert's
// message and data name providers, limits and figures, never a key.
import { createHmac } from 'node:crypto';

/** An alert as channels receive it (a WEBHOOK's JSON body). */
export interface ChannelAlert {
  id: string;
  kind: string;
  severity: string;
  workspaceId: string;
  providerId: string | null;
  message: string;
  data: unknown;
  createdAt: string;
}

/** The `X-Gateway-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>`. */
export function signatureHeader(signingSecret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', signingSecret).update(`${t}.${body}`).digest('hex')}`;
}

/** Slack's mrkdwn: &, < and > are its control characters. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack incoming webhook's body: `text` for notifications, `blocks` for the message itself. */
export function slackBody(alert: ChannelAlert): string {
  const headline = `${alert.severity} · ${alert.kind.replaceAll('_', ' ').toLowerCase()}`;
  return JSON.stringify({
    text: slackEscape(`[${alert.severity}] ${alert.message}`),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(headline)}*\n${slackEscape(alert.message)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`workspace ${alert.workspaceId} · alert ${alert.id} · ${alert.createdAt}`) }] },
    ],
  });
}

/** Where a channel's requests go, as sealed on its row. */
export type ChannelTarget = { type: 'WEBHOOK'; url: string; signingSecret: string } | { type: 'SLACK'; url: string };

/** The request one channel gets for one alert. */
export function channelRequest(target: ChannelTarget, alert: ChannelAlert, at: Date): { body: string; headers: Record<string, string> } {
  if (target.type === 'SLACK') return { body: slackBody(alert), headers: { 'content-type': 'application/json' } };
  const body = JSON.stringify(alert);
  return { body, headers: { 'content-type': 'application/json', 'x-gateway-signature': signatureHeader(target.signingSecret, body, at) } };
}
