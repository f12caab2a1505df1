// The alerts feed: the latest alerts, then every new one as the gateway raises
// it (the `alerts` subscription over graphql-ws), with acknowledgement.
import { ALERT_KIND_NAMES } from './alert-channels.js';
import type { Api } from './api.js';
import { byId, formatTime, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleAlertsQuery } from './generated/graphql.js';

const ConsoleAlerts = graphql(`
  query ConsoleAlerts {
    alerts(first: 50) { edges { node { id kind severity providerId message createdAt acknowledgedAt } } }
  }
`);

const LiveAlerts = graphql(`
  subscription ConsoleLiveAlerts {
    alerts { id kind severity providerId message createdAt acknowledgedAt }
  }
`);

const Acknowledge = graphql(`
  mutation ConsoleAcknowledgeAlert($id: ID!) {
    acknowledgeAlert(id: $id) { id acknowledgedAt }
  }
`);

type Alert = ConsoleAlertsQuery['alerts']['edges'][number]['node'];

export function alertsPanel(api: Api, isVisible: () => boolean) {
  const feed = byId('alerts-feed');
  const status = byId('alerts-status');
  const error = byId('alerts-error');
  const unread = byId('alerts-unread');
  let unreadCount = 0;

  function item(alert: Alert, live: boolean): HTMLLIElement {
    const entry = h(
      'li',
      { class: [live ? 'live' : '', alert.acknowledgedAt ? 'acknowledged' : ''].join(' ').trim(), data: { alertId: alert.id, kind: alert.kind } },
      h('span', { class: `status severity-${alert.severity}` }, ALERT_KIND_NAMES[alert.kind]),
      h('span', { class: 'message' }, alert.message),
      h('time', { class: 'muted' }, formatTime(alert.createdAt)),
    );
    if (!alert.acknowledgedAt) {
      const button = h('button', { type: 'button' }, 'Acknowledge');
      button.addEventListener('click', async () => {
        try {
          await api.request(Acknowledge, { id: alert.id });
          entry.classList.add('acknowledged');
          button.remove();
        } catch (failure) {
          showError(error, failure);
        }
      });
      entry.append(button);
    }
    return entry;
  }

  async function load(): Promise<void> {
    unreadCount = 0;
    unread.hidden = true;
    try {
      const { alerts } = await api.request(ConsoleAlerts);
      error.textContent = '';
      // Live items already shown stay marked live.
      const live = new Set([...feed.querySelectorAll<HTMLElement>('li.live')].map((entry) => entry.dataset.alertId));
      feed.replaceChildren(...alerts.edges.map(({ node }) => item(node, live.has(node.id))));
    } catch (failure) {
      showError(error, failure);
    }
  }

  function listen(): void {
    status.textContent = 'Listening for alerts…';
    api.subscribe(
      LiveAlerts,
      {},
      {
        onData: ({ alerts: alert }) => {
          feed.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`)?.remove();
          feed.prepend(item(alert, true));
          status.textContent = `Live: last alert at ${formatTime(alert.createdAt)}`;
          if (!isVisible()) {
            unreadCount += 1;
            unread.textContent = String(unreadCount);
            unread.hidden = false;
          }
        },
        onEnd: (failure) => {
          status.textContent = 'Not listening';
          if (failure) showError(error, failure);
        },
      },
    );
  }

  return { show: load, listen };
}
