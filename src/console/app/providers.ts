// Providers: masked keys, a status badge that agrees with the health figures,
// today's usage against the limit and the platform quota; add, test, rotate and
// delete a key.
import type { Api } from './api.js';
import { byId, confirmThen, formatTokens, formatUsd, formFields, h, plural, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleProvidersQuery, ProviderKind, ProviderScope } from './generated/graphql.js';
import { type KindNames, kindNames } from './kinds.js';

export const ConsoleProviders = graphql(`
  query ConsoleProviders {
    providers {
      id kind label scope maskedKey baseUrl defaultModel priority
      dailyTokenLimit tokensUsedToday monthlyBudgetUsd spendThisMonthUsd
      health { status errorRate requestsInWindow latencyP50Ms lastError }
    }
    platformQuota { month monthlyRequests requestsThisMonth requestsLeft }
  }
`);

const AddKey = graphql(`
  mutation ConsoleAddProvider($input: AddProviderInput!) {
    addProvider(input: $input) { id label maskedKey }
  }
`);

const TestKey = graphql(`
  mutation ConsoleTestProvider($id: ID!) {
    testProvider(id: $id) { ok latencyMs errorCode message models }
  }
`);

const CheckKey = graphql(`
  mutation ConsoleValidateKey($input: ValidateKeyInput!) {
    validateKey(input: $input) { ok latencyMs errorCode message models }
  }
`);

const RotateKey = graphql(`
  mutation ConsoleRotateKey($id: ID!, $apiKey: String!) {
    updateProvider(id: $id, input: { apiKey: $apiKey }) { id maskedKey }
  }
`);

const DeleteKey = graphql(`
  mutation ConsoleDeleteProvider($id: ID!) {
    deleteProvider(id: $id)
  }
`);

type Provider = ConsoleProvidersQuery['providers'][number];
type Quota = NonNullable<ConsoleProvidersQuery['platformQuota']>;

const SCOPE_NAMES: Record<ProviderScope, string> = { WORKSPACE: 'Workspace', PERSONAL: 'Personal', PLATFORM: 'Platform' };
/** At or above this share of failed calls in the health window, an ACTIVE provider is shown as failing. */
const FAILING_SHARE = 0.5;

/**
 * The badge a person reads: the stored status, corrected by the health figures. The status moves to DEGRADED
 * only after enough calls fail; until then a provider failing every call is still ACTIVE, and must not look it.
 */
export function providerBadge(provider: Pick<Provider, 'health'>): { text: string; tone: 'ok' | 'warn' | 'bad' | 'off' } {
  const { status, errorRate, requestsInWindow } = provider.health;
  if (status === 'DISABLED') return { text: 'Disabled', tone: 'off' };
  if (status === 'INVALID') return { text: 'Key refused', tone: 'bad' };
  if (requestsInWindow > 0 && errorRate >= FAILING_SHARE) return { text: status === 'DEGRADED' ? 'Degraded · failing' : 'Failing', tone: 'bad' };
  if (status === 'DEGRADED') return { text: 'Degraded', tone: 'warn' };
  if (requestsInWindow > 0 && errorRate > 0) return { text: 'Active · some errors', tone: 'warn' };
  return { text: 'Active', tone: 'ok' };
}

export function providersPanel(api: Api, isAdmin: boolean, onChange: (providers: Provider[]) => void) {
  const table = byId('providers-table');
  const rows = table.querySelector('tbody')!;
  const empty = byId('providers-empty');
  const quota = byId('platform-quota');
  const listError = byId('providers-error');
  const actionStatus = byId('provider-action');
  const addForm = byId<HTMLFormElement>('add-provider-form');
  const addError = byId('add-provider-error');
  const rotateForm = byId<HTMLFormElement>('rotate-form');
  let rotating: Provider | undefined;
  let kinds: KindNames | undefined;
  const kindSelect = addForm.querySelector<HTMLSelectElement>('select[name=kind]')!;
  const keyInput = addForm.querySelector<HTMLInputElement>('input[name=apiKey]')!;
  const baseUrlInput = addForm.querySelector<HTMLInputElement>('input[name=baseUrl]')!;
  const checked = byId('add-provider-checked');
  // Members add personal keys only: the workspace scope is an admin's.
  if (!isAdmin) addForm.querySelector<HTMLSelectElement>('select[name=scope]')!.value = 'PERSONAL';

  async function load(): Promise<void> {
    try {
      const [names, { providers, platformQuota }] = await Promise.all([kindNames(api), api.request(ConsoleProviders)]);
      if (!kinds) kindSelect.append(...names.options());
      kinds = names;
      showWhatTheKindNeeds();
      listError.textContent = '';
      rows.replaceChildren(...providers.map(row));
      table.hidden = providers.length === 0;
      showEmptyState(providers);
      showQuota(platformQuota ?? null);
      onChange(providers);
    } catch (error) {
      showError(listError, error);
    }
  }

  /** Says what to do while the workspace has no key of its own (the operator's platform providers may still answer). */
  function showEmptyState(providers: Provider[]): void {
    const platformOnly = providers.length > 0;
    empty.hidden = providers.some((provider) => provider.scope !== 'PLATFORM');
    const add = isAdmin
      ? 'Add a key below: an OpenAI, Anthropic or Gemini key, or any OpenAI-compatible endpoint with its base URL; chats and embeddings route to it at once.'
      : 'Ask an admin to add a workspace key, or add a personal key of your own below.';
    empty.textContent = platformOnly ? `No keys of your own yet: calls go to the operator's platform providers, within the quota above. ${add}` : `No providers yet. ${add}`;
  }

  function showQuota(platform: Quota | null): void {
    quota.hidden = platform === null;
    if (!platform) return;
    const meter = h('meter', { title: `${Math.round((platform.requestsThisMonth / Math.max(1, platform.monthlyRequests)) * 100)}%` });
    Object.assign(meter, { min: 0, max: platform.monthlyRequests, value: platform.requestsThisMonth, high: platform.monthlyRequests * 0.8 });
    quota.replaceChildren(
      h('strong', {}, 'Platform providers: '),
      `${formatTokens(platform.requestsThisMonth)} of ${plural(platform.monthlyRequests, 'call')} used in ${platform.month}, `,
      h('strong', { class: 'left' }, `${formatTokens(platform.requestsLeft)} left`),
      meter,
      platform.requestsLeft === 0 ? h('span', { class: 'muted' }, ' Add a key of your own to keep chatting this month.') : '',
    );
  }

  function row(provider: Provider): HTMLTableRowElement {
    const { health } = provider;
    const editable = provider.scope !== 'PLATFORM';
    const badge = providerBadge(provider);
    return h(
      'tr',
      { data: { providerId: provider.id, label: provider.label } },
      h(
        'td',
        {},
        h('strong', {}, provider.label),
        h('div', { class: 'muted' }, kinds?.name(provider.kind) ?? provider.kind, provider.defaultModel ? ` · ${provider.defaultModel}` : ''),
      ),
      h('td', {}, SCOPE_NAMES[provider.scope]),
      h('td', { class: 'key' }, provider.maskedKey || '—'),
      h('td', {}, h('span', { class: `status tone-${badge.tone}`, title: health.lastError ?? '', data: { status: health.status } }, badge.text)),
      h(
        'td',
        { class: 'muted health' },
        health.requestsInWindow === 0 ? 'No calls lately' : `${Math.round(health.errorRate * 100)}% of ${plural(health.requestsInWindow, 'call')} failed`,
        health.latencyP50Ms === null || health.latencyP50Ms === undefined ? '' : ` · p50 ${Math.round(health.latencyP50Ms)} ms`,
      ),
      h('td', { class: 'today' }, todayUsage(provider)),
      h('td', {}, formatUsd(provider.spendThisMonthUsd), provider.monthlyBudgetUsd ? ` of ${formatUsd(provider.monthlyBudgetUsd)}` : ''),
      h(
        'td',
        { class: 'actions' },
        editable && h('button', { type: 'button', onclick: () => test(provider) }, 'Test'),
        editable && h('button', { type: 'button', onclick: () => startRotation(provider) }, 'Rotate'),
        editable && h('button', { type: 'button', onclick: () => remove(provider) }, 'Delete'),
      ),
    );
  }

  function todayUsage(provider: Provider): HTMLElement {
    const used = provider.tokensUsedToday;
    const limit = provider.dailyTokenLimit;
    if (!limit) return h('span', {}, `${formatTokens(used)} tokens`);
    const meter = h('meter', { title: `${Math.round((used / limit) * 100)}%` });
    Object.assign(meter, { min: 0, max: limit, value: used, high: limit * 0.8 });
    return h('span', {}, `${formatTokens(used)} / ${formatTokens(limit)} tokens`, meter);
  }

  async function test(provider: Provider): Promise<void> {
    actionStatus.textContent = `Testing ${provider.label}…`;
    try {
      const { testProvider: result } = await api.request(TestKey, { id: provider.id });
      actionStatus.textContent = result.ok
        ? `${provider.label}: key accepted in ${Math.round(result.latencyMs)} ms, ${result.models?.length ?? 0} models`
        : `${provider.label}: ${result.message ?? 'refused'} (${result.errorCode ?? 'error'})`;
    } catch (error) {
      showError(actionStatus, error);
    }
    await load();
  }

  function startRotation(provider: Provider): void {
    rotating = provider;
    byId('rotate-label').textContent = provider.label;
    rotateForm.hidden = false;
    rotateForm.querySelector('input')!.focus();
  }

  function endRotation(): void {
    rotating = undefined;
    rotateForm.reset();
    rotateForm.hidden = true;
  }

  const remove = (provider: Provider) =>
    confirmThen(
      `Delete ${provider.label}? Its key is destroyed; usage history stays.`,
      async () => {
        await api.request(DeleteKey, { id: provider.id });
        return `${provider.label} deleted`;
      },
      actionStatus,
      load,
    );

  rotateForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!rotating) return;
    const provider = rotating;
    try {
      const { updateProvider } = await api.request(RotateKey, { id: provider.id, apiKey: formFields(rotateForm).apiKey ?? '' });
      actionStatus.textContent = `${provider.label}: new key ${updateProvider.maskedKey} validated and saved`;
      endRotation();
    } catch (error) {
      showError(actionStatus, error);
    }
    await load();
  });
  byId('rotate-cancel').addEventListener('click', endRotation);

  /** The key and base URL fields say what the chosen kind needs: its key's usual start, its usual endpoint or that one is required. */
  function showWhatTheKindNeeds(): void {
    const info = kinds?.info(kindSelect.value);
    if (!info) return;
    keyInput.required = info.requiresKey;
    keyInput.placeholder = info.requiresKey ? (info.keyPrefix ? `${info.keyPrefix}…` : '') : 'not needed';
    baseUrlInput.required = info.defaultBaseUrl === null;
    baseUrlInput.placeholder = info.defaultBaseUrl ?? 'required: the endpoint, e.g. https://host/v1';
  }
  kindSelect.addEventListener('change', showWhatTheKindNeeds);

  /** The fields a key is checked with, as addProvider and validateKey both take them. */
  function offeredKey() {
    const { kind, apiKey, baseUrl } = formFields(addForm);
    return { kind: kind as ProviderKind, apiKey: apiKey ?? '', baseUrl };
  }

  byId('add-provider-check').addEventListener('click', async () => {
    addError.textContent = '';
    checked.textContent = 'Checking…';
    try {
      const { validateKey: result } = await api.request(CheckKey, { input: offeredKey() });
      checked.textContent = result.ok
        ? `The key works (${Math.round(result.latencyMs)} ms${result.models ? `, ${plural(result.models.length, 'model')}` : ''}); nothing was stored.`
        : `The provider refused it: ${result.message} (${result.errorCode})`;
    } catch (error) {
      checked.textContent = '';
      showError(addError, error);
    }
  });

  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { label, defaultModel, dailyTokenLimit, scope } = formFields(addForm);
    addError.textContent = '';
    checked.textContent = '';
    try {
      const { addProvider } = await api.request(AddKey, {
        input: {
          ...offeredKey(),
          label,
          defaultModel,
          scope: scope as 'WORKSPACE' | 'PERSONAL',
          dailyTokenLimit: dailyTokenLimit ? Number(dailyTokenLimit) : undefined,
        },
      });
      actionStatus.textContent = `${addProvider.label} added (${addProvider.maskedKey})`;
      addForm.reset();
    } catch (error) {
      showError(addError, error);
    }
    await load();
  });

  return { show: load };
}
