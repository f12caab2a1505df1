// API keys: create a gateway key for a program (its secret shown once, with a copy
// button and the lines that point an OpenAI or Anthropic client at this gateway),
// list the keys with their usage against their limits, revoke one.
import type { Api } from './api.js';
import { byId, confirmThen, formatTime, formatTokens, formatUsd, formFields, h, showError } from './dom.js';
import { fieldErrors, optionalNumber } from './form-fields.js';
import { graphql } from './generated/gql.js';
import type { ApiKeyPrincipal, ConsoleApiKeysQuery } from './generated/graphql.js';
import { secretBox } from './secret-box.js';

const ConsoleApiKeys = graphql(`
  query ConsoleApiKeys($after: String) {
    apiKeys(first: 50, after: $after) {
      edges {
        node {
          id name prefix principal createdBy agent allowedModels dailyTokenLimit monthlyBudgetUsd requestsPerMinute
          tokensUsedToday spendThisMonthUsd createdAt lastUsedAt expiresAt revokedAt
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const CreateKey = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { secret apiKey { name } }
  }
`);

const RevokeKey = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { id revokedAt }
  }
`);

type ApiKey = ConsoleApiKeysQuery['apiKeys']['edges'][number]['node'];

const PRINCIPALS: Record<ApiKeyPrincipal, string> = { MEMBER: 'Member key (acts as its creator)', SERVICE: 'Service key (a workspace program, member role)' };

export function apiKeysPanel(api: Api, isAdmin: boolean) {
  const rows = byId('apikeys-table').querySelector('tbody')!;
  const listError = byId('apikeys-error');
  const more = byId<HTMLButtonElement>('apikeys-more');
  const status = byId('apikeys-status');
  const form = byId<HTMLFormElement>('apikey-form');
  const errors = fieldErrors(form, byId('apikey-form-error'));
  const secret = secretBox('apikey', 'apikeys');
  const principal = form.querySelector<HTMLSelectElement>('select[name=principal]')!;
  // Members may create keys acting as themselves only.
  principal.append(
    ...(Object.entries(PRINCIPALS) as Array<[ApiKeyPrincipal, string]>).filter(([value]) => isAdmin || value === 'MEMBER').map(([value, text]) => h('option', { value }, text)),
  );

  let nextPage: string | null | undefined;

  /** The newest keys, or with `after` the page after those shown. */
  async function load(after?: string): Promise<void> {
    try {
      const { apiKeys } = await api.request(ConsoleApiKeys, { after });
      listError.textContent = '';
      if (after) rows.append(...apiKeys.edges.map(({ node }) => row(node)));
      else rows.replaceChildren(...apiKeys.edges.map(({ node }) => row(node)));
      if (!after && apiKeys.edges.length === 0) {
        const empty = h('td', { class: 'muted' }, 'No API key yet: create one below for each program that calls the gateway.');
        empty.colSpan = 7;
        rows.append(h('tr', {}, empty));
      }
      nextPage = apiKeys.pageInfo.hasNextPage ? apiKeys.pageInfo.endCursor : undefined;
      more.hidden = !nextPage;
    } catch (error) {
      showError(listError, error);
    }
  }

  function row(key: ApiKey): HTMLTableRowElement {
    const ended = key.revokedAt ? `Revoked ${formatTime(key.revokedAt)}` : key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? `Expired ${formatTime(key.expiresAt)}` : '';
    return h(
      'tr',
      { class: ended ? 'ended' : undefined, data: { keyId: key.id, name: key.name } },
      h(
        'td',
        { data: { label: 'Key' } },
        h('strong', {}, key.name),
        h('div', { class: 'muted' }, PRINCIPALS[key.principal], ` · by ${key.createdBy}`, key.agent ? ` · agent ${key.agent}` : ''),
        key.allowedModels && h('div', { class: 'muted' }, `Models: ${key.allowedModels.join(', ')}`),
      ),
      h('td', { class: 'key', data: { label: 'Secret' } }, `${key.prefix}••••`),
      h('td', { class: 'today', data: { label: 'Today' } }, usage(key.tokensUsedToday, key.dailyTokenLimit, formatTokens, ' tokens')),
      h('td', { class: 'month', data: { label: 'This month' } }, usage(key.spendThisMonthUsd, key.monthlyBudgetUsd, formatUsd)),
      h('td', { data: { label: 'Rate' } }, key.requestsPerMinute ? `${formatTokens(key.requestsPerMinute)} calls/min` : 'no bound'),
      h('td', { class: 'last-used', data: { label: 'Last used' } }, key.lastUsedAt ? formatTime(key.lastUsedAt) : 'never'),
      h('td', { class: 'actions' }, ended ? h('span', { class: 'muted' }, ended) : h('button', { type: 'button', onclick: () => void revoke(key) }, 'Revoke')),
    );
  }

  /** Used against its limit, with a meter when there is one. */
  function usage(used: number, limit: number | null | undefined, format: (value: number) => string, unit = ''): HTMLElement {
    if (!limit) return h('span', {}, `${format(used)}${unit}`, h('div', { class: 'muted' }, 'no limit'));
    const meter = h('meter', { title: `${Math.round((used / limit) * 100)}%` });
    Object.assign(meter, { min: 0, max: limit, value: used, high: limit * 0.8 });
    return h('span', {}, `${format(used)} / ${format(limit)}${unit}`, meter);
  }

  const revoke = (key: ApiKey) =>
    confirmThen(
      `Revoke "${key.name}"? Every call made with it is refused from now on; this cannot be undone.`,
      async () => {
        await api.request(RevokeKey, { id: key.id });
        return `${key.name} revoked`;
      },
      status,
      load,
    );

  /** The key, shown once, with the lines that point an OpenAI or Anthropic client at this gateway. */
  function reveal(value: string): void {
    const origin = location.origin;
    byId('apikey-openai').textContent = [
      "import OpenAI from 'openai';",
      '',
      `const openai = new OpenAI({ baseURL: '${origin}/v1', apiKey: process.env.GATEWAY_API_KEY });`,
      "const answer = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Hello' }] });",
      'console.log(answer.choices[0].message.content);',
    ].join('\n');
    byId('apikey-anthropic').textContent = [
      "import Anthropic from '@anthropic-ai/sdk';",
      '',
      `const anthropic = new Anthropic({ baseURL: '${origin}', apiKey: process.env.GATEWAY_API_KEY });`,
      "const message = await anthropic.messages.create({ model: 'auto', max_tokens: 200, messages: [{ role: 'user', content: 'Hello' }] });",
      "for (const block of message.content) if (block.type === 'text') console.log(block.text);",
    ].join('\n');
    byId('apikey-env').textContent = `OPENAI_BASE_URL=${origin}/v1  or  ANTHROPIC_BASE_URL=${origin}`;
    secret.show(value);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    status.textContent = '';
    secret.forget();
    const fields = formFields(form);
    try {
      const { createApiKey } = await api.request(CreateKey, {
        input: {
          name: fields.name ?? '',
          principal: (fields.principal ?? 'MEMBER') as ApiKeyPrincipal,
          agent: fields.agent,
          allowedModels: fields.allowedModels?.split(/[\s,]+/).filter(Boolean),
          dailyTokenLimit: optionalNumber(fields.dailyTokenLimit ?? ''),
          monthlyBudgetUsd: optionalNumber(fields.monthlyBudgetUsd ?? ''),
          requestsPerMinute: optionalNumber(fields.requestsPerMinute ?? ''),
        },
      });
      form.reset();
      reveal(createApiKey.secret);
      status.textContent = `${createApiKey.apiKey.name} created`;
    } catch (error) {
      errors.show(error);
    }
    await load();
  });

  more.addEventListener('click', () => void (nextPage && load(nextPage)));

  return { show: () => load() };
}
