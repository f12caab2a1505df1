// Alert channels: where the workspace's alerts go besides this page. Add a signed
// webhook (its signing secret shown once) or a Slack-compatible incoming webhook,
// each with the kinds it wants; test one; see each one's delivery state; remove one.
import type { Api } from './api.js';
import { byId, confirmThen, formatTime, formFields, h, showError } from './dom.js';
import { fieldErrors } from './form-fields.js';
import { graphql } from './generated/gql.js';
import type { AlertChannelType, AlertKind, ConsoleAlertChannelsQuery, DeliveryState } from './generated/graphql.js';
import { secretBox } from './secret-box.js';

const ConsoleAlertChannels = graphql(`
  query ConsoleAlertChannels {
    alertChannels { id type name urlHost kinds state lastDeliveredAt lastError deadDeliveries createdAt }
  }
`);

const AddChannel = graphql(`
  mutation ConsoleAddAlertChannel($input: AddAlertChannelInput!) {
    addAlertChannel(input: $input) { channel { id name } signingSecret }
  }
`);

const TestChannel = graphql(`
  mutation ConsoleTestAlertChannel($id: ID!) {
    testAlertChannel(id: $id) { ok status latencyMs message }
  }
`);

const RemoveChannel = graphql(`
  mutation ConsoleRemoveAlertChannel($id: ID!) {
    removeAlertChannel(id: $id)
  }
`);

type Channel = ConsoleAlertChannelsQuery['alertChannels'][number];

export const ALERT_KIND_NAMES: Record<AlertKind, string> = {
  LIMIT_WARNING: 'Limit warning',
  LIMIT_REACHED: 'Limit reached',
  BUDGET_WARNING: 'Budget warning',
  BUDGET_REACHED: 'Budget reached',
  BUDGET_FORECAST: 'Budget forecast',
  PROVIDER_DEGRADED: 'Provider degraded',
  PROVIDER_INVALID: 'Key refused',
  PROVIDER_RECOVERED: 'Provider recovered',
};
const TYPE_NAMES: Record<AlertChannelType, string> = { WEBHOOK: 'Webhook (signed JSON)', SLACK: 'Slack incoming webhook' };
const STATE_NAMES: Record<DeliveryState, { text: string; tone: string }> = {
  OK: { text: 'Delivering', tone: 'tone-ok' },
  RETRYING: { text: 'Retrying', tone: 'tone-warn' },
  DEAD: { text: 'Failed', tone: 'tone-bad' },
};

export function alertChannelsPanel(api: Api) {
  const rows = byId('channels-table').querySelector('tbody')!;
  const listError = byId('channels-error');
  const status = byId('channels-status');
  const form = byId<HTMLFormElement>('channel-form');
  const errors = fieldErrors(form, byId('channel-form-error'));
  const secret = secretBox('channel', 'alerts');
  byId('channel-kinds').append(
    ...(Object.entries(ALERT_KIND_NAMES) as Array<[AlertKind, string]>).map(([kind, text]) => {
      const box = h('input', { type: 'checkbox', value: kind });
      box.name = 'kinds';
      return h('label', { class: 'check' }, text, box);
    }),
  );

  async function load(): Promise<void> {
    try {
      const { alertChannels } = await api.request(ConsoleAlertChannels);
      listError.textContent = '';
      rows.replaceChildren(...alertChannels.map(row));
      if (alertChannels.length === 0) {
        const empty = h('td', { class: 'muted' }, 'No channel yet: add a webhook or a Slack incoming webhook below, and alerts reach people where they are.');
        empty.colSpan = 5;
        rows.append(h('tr', {}, empty));
      }
    } catch (error) {
      showError(listError, error);
    }
  }

  function row(channel: Channel): HTMLTableRowElement {
    const state = STATE_NAMES[channel.state];
    const result = h('div', { class: 'test-result muted' });
    return h(
      'tr',
      { data: { channelId: channel.id, name: channel.name } },
      h('td', { data: { label: 'Channel' } }, h('strong', {}, channel.name), h('div', { class: 'muted' }, `${TYPE_NAMES[channel.type]} · ${channel.urlHost}`)),
      h('td', { class: 'kinds', data: { label: 'Kinds' } }, channel.kinds.length === 0 ? 'Every kind' : channel.kinds.map((kind) => ALERT_KIND_NAMES[kind]).join(', ')),
      h(
        'td',
        { data: { label: 'Delivery' } },
        h('span', { class: `status ${state.tone}` }, state.text),
        channel.lastError && h('div', { class: 'error' }, channel.lastError),
        channel.deadDeliveries > 0 && h('div', { class: 'error dead' }, `${channel.deadDeliveries} alert${channel.deadDeliveries === 1 ? '' : 's'} never delivered`),
      ),
      h('td', { data: { label: 'Last delivered' } }, channel.lastDeliveredAt ? formatTime(channel.lastDeliveredAt) : 'never'),
      h(
        'td',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => void test(channel, result) }, 'Send a test'),
        h('button', { type: 'button', onclick: () => void remove(channel) }, 'Remove'),
        result,
      ),
    );
  }

  async function test(channel: Channel, result: HTMLElement): Promise<void> {
    result.textContent = 'Sending…';
    try {
      const { testAlertChannel: answer } = await api.request(TestChannel, { id: channel.id });
      result.textContent = answer.ok
        ? `Delivered: HTTP ${answer.status} in ${Math.round(answer.latencyMs)} ms`
        : `Not delivered: ${answer.message ?? 'no answer'} (${Math.round(answer.latencyMs)} ms)`;
    } catch (error) {
      showError(result, error);
    }
  }

  const remove = (channel: Channel) =>
    confirmThen(
      `Remove "${channel.name}"? Alerts not yet delivered to it are dropped.`,
      async () => {
        await api.request(RemoveChannel, { id: channel.id });
        return `${channel.name} removed`;
      },
      status,
      load,
    );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    status.textContent = '';
    secret.forget();
    const fields = formFields(form);
    const kinds = [...form.querySelectorAll<HTMLInputElement>('input[name=kinds]:checked')].map((box) => box.value as AlertKind);
    try {
      const { addAlertChannel } = await api.request(AddChannel, {
        input: { type: (fields.type ?? 'WEBHOOK') as AlertChannelType, name: fields.name ?? '', url: fields.url ?? '', kinds },
      });
      form.reset();
      status.textContent = `${addAlertChannel.channel.name} added`;
      if (addAlertChannel.signingSecret) {
        secret.show(addAlertChannel.signingSecret);
      }
    } catch (error) {
      errors.show(error);
    }
    await load();
  });

  return { show: load };
}
