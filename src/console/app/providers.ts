// Providers: masked keys, status, health and today's usage against the limit;
// add, test, rotate and delete a key.
import type { Api } from './api.js';
import { byId, formatTokens, formatUsd, formFields, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleProvidersQuery, ProviderKind } from './generated/graphql.js';

// Every kind the schema has: a kind added to the schema and left out here fails typecheck.
const KIND_SET = {
  OPENAI: true,
  ANTHROPIC: true,
  GEMINI: true,
  DEEPSEEK: true,
  OPENROUTER: true,
  XAI: true,
  GROQ: true,
  MISTRAL: true,
  TOGETHER: true,
  OLLAMA: true,
  OPENAI_COMPATIBLE: true,
} satisfies Record<ProviderKind, true>;
export const PROVIDER_KINDS = Object.keys(KIND_SET) as ProviderKind[];

export const ConsoleProviders = graphql(`
  query ConsoleProviders {
    providers {
      id kind label scope maskedKey baseUrl defaultModel priority
      dailyTokenLimit tokensUsedToday monthlyBudgetUsd spendThisMonthUsd
      health { status errorRate requestsInWindow latencyP50Ms lastError }
    }
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

export function providersPanel(api: Api, onChange: (providers: Provider[]) => void) {
  const rows = byId('providers-table').querySelector('tbody')!;
  const listError = byId('providers-error');
  const actionStatus = byId('provider-action');
  const addForm = byId<HTMLFormElement>('add-provider-form');
  const addError = byId('add-provider-error');
  const rotateForm = byId<HTMLFormElement>('rotate-form');
  let rotating: Provider | undefined;

  byId<HTMLSelectElement>('add-provider-form')
    .querySelector('select[name=kind]')!
    .append(...PROVIDER_KINDS.map((kind) => h('option', { value: kind }, kind)));

  async function load(): Promise<void> {
    try {
      const { providers } = await api.request(ConsoleProviders);
      listError.textContent = '';
      rows.replaceChildren(...providers.map(row));
      onChange(providers);
    } catch (error) {
      showError(listError, error);
    }
  }

  function row(provider: Provider): HTMLTableRowElement {
    const { health } = provider;
    const editable = provider.scope !== 'PLATFORM';
    return h(
      'tr',
      { data: { providerId: provider.id, label: provider.label } },
      h('td', {}, h('strong', {}, provider.label), h('div', { class: 'muted' }, provider.kind, provider.defaultModel ? ` · ${provider.defaultModel}` : '')),
      h('td', {}, provider.scope),
      h('td', { class: 'key' }, provider.maskedKey || '—'),
      h('td', {}, h('span', { class: `status status-${health.status}`, title: health.lastError ?? '' }, health.status)),
      h(
        'td',
        { class: 'muted' },
        `${Math.round(health.errorRate * 100)}% errors of ${health.requestsInWindow}`,
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

  async function remove(provider: Provider): Promise<void> {
    if (!confirm(`Delete ${provider.label}? Its key is destroyed; usage history stays.`)) return;
    try {
      await api.request(DeleteKey, { id: provider.id });
      actionStatus.textContent = `${provider.label} deleted`;
    } catch (error) {
      showError(actionStatus, error);
    }
    await load();
  }

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

  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { kind, apiKey, dailyTokenLimit, scope, ...rest } = formFields(addForm);
    addError.textContent = '';
    try {
      const { addProvider } = await api.request(AddKey, {
        input: {
          ...rest,
          kind: kind as ProviderKind,
          apiKey: apiKey ?? '',
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
