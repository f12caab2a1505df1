// Agents: the model each agent type is routed to (its preference, with a fallback
// and the catalog's cost indicator), and beside them the route a call of an agent
// would take now (`resolveRoute`): the ordered candidates, each skip with its reason.
// Admins and owners set and remove preferences; everyone may preview a route.
import type { Api } from './api.js';
import { byId, formatUsd, formFields, h, showError } from './dom.js';
import { fieldErrors, select } from './form-fields.js';
import { graphql } from './generated/gql.js';
import type { ConsoleAgentsQuery, ConsoleRouteQuery, RoutingStrategy } from './generated/graphql.js';
import { type ProviderChoice, providerName, providerOptions } from './preference-providers.js';
import { STRATEGIES } from './routing-strategies.js';

const ConsoleAgents = graphql(`
  query ConsoleAgents {
    preferences { agentPreferences { agentType providerId model fallbackProviderId fallbackModel routingStrategy estimatedUsdPerMTok } }
    providers { id label kind scope health { status } }
  }
`);

const ConsoleRoute = graphql(`
  query ConsoleRoute($agent: String) {
    resolveRoute(agent: $agent) { candidates { providerId kind model reason usable skippedBecause expectedCostUsd expectedTtftMs } }
  }
`);

const SetAgentPreference = graphql(`
  mutation ConsoleSetAgentPreference($input: AgentModelPreferenceInput!) {
    setAgentModelPreference(input: $input) { agentType }
  }
`);

const RemoveAgentPreference = graphql(`
  mutation ConsoleRemoveAgentPreference($agentType: String!) {
    removeAgentModelPreference(agentType: $agentType)
  }
`);

type AgentPreference = ConsoleAgentsQuery['preferences']['agentPreferences'][number];
type Provider = ConsoleAgentsQuery['providers'][number];
type RouteCandidate = ConsoleRouteQuery['resolveRoute']['candidates'][number];

export function agentsPanel(api: Api, isAdmin: boolean) {
  const rows = byId('agents-table').querySelector('tbody')!;
  const listError = byId('agents-error');
  const status = byId('agents-status');
  const setForm = byId<HTMLFormElement>('agent-form');
  const setErrors = fieldErrors(setForm, byId('agent-form-error'));
  const previewForm = byId<HTMLFormElement>('route-form');
  const previewAgent = previewForm.querySelector<HTMLInputElement>('input[name=agent]')!;
  const route = byId('route-candidates');
  const routeError = byId('route-error');
  const agentNames = byId<HTMLDataListElement>('agent-names');
  setForm.hidden = !isAdmin;
  setForm.querySelector('select[name=routingStrategy]')!.replaceWith(select('routingStrategy', [['', "The workspace's"], ...STRATEGIES]));
  let providers: Provider[] = [];

  async function load(): Promise<void> {
    try {
      const result = await api.request(ConsoleAgents);
      providers = result.providers;
      listError.textContent = '';
      const preferences = result.preferences.agentPreferences;
      rows.replaceChildren(...preferences.map(row));
      if (preferences.length === 0) {
        const empty = h('td', { class: 'muted' }, 'No agent has a preference yet: calls follow the workspace default.');
        empty.colSpan = 6;
        rows.append(h('tr', {}, empty));
      }
      agentNames.replaceChildren(...preferences.map((preference) => h('option', { value: preference.agentType })));
      drawProviderSelects();
    } catch (error) {
      showError(listError, error);
    }
    await preview();
  }

  function drawProviderSelects(): void {
    const keep = formFields(setForm);
    const choices: readonly ProviderChoice[] = providers;
    setForm.querySelector('select[name=providerId]')!.replaceWith(select('providerId', providerOptions(choices, 'Choose a provider').slice(1)));
    setForm.querySelector('select[name=fallbackProviderId]')!.replaceWith(select('fallbackProviderId', providerOptions(choices, 'None')));
    for (const name of ['providerId', 'fallbackProviderId']) if (keep[name]) (setForm.elements.namedItem(name) as HTMLSelectElement).value = keep[name];
  }

  function row(preference: AgentPreference): HTMLTableRowElement {
    const fallback = preference.fallbackProviderId ? `${providerName(providers, preference.fallbackProviderId)} · ${preference.fallbackModel ?? 'its default model'}` : '—';
    return h(
      'tr',
      { data: { agent: preference.agentType } },
      h('td', { data: { label: 'Agent' } }, h('strong', {}, preference.agentType)),
      h('td', { data: { label: 'Model' } }, `${providerName(providers, preference.providerId)} · ${preference.model}`),
      h('td', { data: { label: 'Fallback' } }, fallback),
      h('td', { data: { label: 'Order' } }, strategyName(preference.routingStrategy)),
      h('td', { class: 'cost', data: { label: 'Cost' } }, costIndicator(preference.estimatedUsdPerMTok)),
      h(
        'td',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => void preview(preference.agentType) }, 'Route'),
        isAdmin && h('button', { type: 'button', onclick: () => edit(preference) }, 'Edit'),
        isAdmin && h('button', { type: 'button', onclick: () => void remove(preference.agentType) }, 'Remove'),
      ),
    );
  }

  function edit(preference: AgentPreference): void {
    for (const [name, value] of Object.entries({
      agentType: preference.agentType,
      providerId: preference.providerId,
      model: preference.model,
      fallbackProviderId: preference.fallbackProviderId ?? '',
      fallbackModel: preference.fallbackModel ?? '',
      routingStrategy: preference.routingStrategy ?? '',
    }))
      (setForm.elements.namedItem(name) as HTMLInputElement).value = value;
    setForm.querySelector('input')!.focus();
  }

  async function remove(agentType: string): Promise<void> {
    if (!confirm(`Remove the preference of "${agentType}"? Its calls then follow the workspace default.`)) return;
    try {
      await api.request(RemoveAgentPreference, { agentType });
      status.textContent = `${agentType}: preference removed`;
      previewAgent.value = agentType;
    } catch (error) {
      showError(status, error);
    }
    await load();
  }

  /** Draws the route of `agent` (the preview field's agent when not given; none: a call naming no agent). */
  async function preview(agent?: string): Promise<void> {
    if (agent !== undefined) previewAgent.value = agent;
    const name = previewAgent.value.trim();
    try {
      const { resolveRoute } = await api.request(ConsoleRoute, { agent: name || undefined });
      routeError.textContent = '';
      route.dataset.agent = name;
      route.replaceChildren(...resolveRoute.candidates.map((candidate, index) => candidateItem(candidate, index)));
      if (resolveRoute.candidates.length === 0) route.append(h('li', { class: 'muted' }, 'No provider to try: add one on the Providers tab.'));
    } catch (error) {
      route.replaceChildren();
      showError(routeError, error);
    }
  }

  function candidateItem(candidate: RouteCandidate, index: number) {
    const label = providers.find((provider) => provider.id === candidate.providerId)?.label ?? candidate.kind;
    return h(
      'li',
      { class: candidate.usable ? 'usable' : 'skipped', data: { providerId: candidate.providerId } },
      h('span', { class: 'order' }, String(index + 1)),
      h('span', { class: 'what' }, h('strong', {}, label), ` · ${candidate.model || 'no model'}`, h('span', { class: 'muted' }, ` (${candidate.reason})`)),
      h('span', { class: 'figures' }, figures(candidate)),
      h('span', { class: 'verdict' }, candidate.usable ? 'would be tried' : `skipped: ${candidate.skippedBecause ?? 'unusable'}`),
    );
  }

  setForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    setErrors.clear();
    status.textContent = '';
    const { agentType = '', providerId = '', model = '', fallbackProviderId, fallbackModel, routingStrategy } = formFields(setForm);
    try {
      const { setAgentModelPreference } = await api.request(SetAgentPreference, {
        input: {
          agentType,
          providerId,
          model,
          fallbackProviderId: fallbackProviderId ?? null,
          fallbackModel: fallbackModel ?? null,
          routingStrategy: (routingStrategy as RoutingStrategy | undefined) ?? null,
        },
      });
      status.textContent = `${setAgentModelPreference.agentType}: preference saved`;
      previewAgent.value = setAgentModelPreference.agentType;
      setForm.reset();
    } catch (error) {
      setErrors.show(error);
      return;
    }
    await load();
  });

  previewForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void preview();
  });

  return { show: load };
}

/** USD per 1M tokens, blended three input tokens to one output: how the choices compare in cost. */
function costIndicator(usdPerMTok: number | null | undefined): HTMLElement {
  if (usdPerMTok === null || usdPerMTok === undefined) return h('span', { class: 'muted', title: 'The model catalog does not price this model' }, 'not in the catalog');
  return h('span', { title: 'Catalog price, three input tokens to one output' }, `${formatUsd(usdPerMTok)} / 1M tokens`);
}

/** An agent's own strategy, or the workspace's when it sets none. */
function strategyName(strategy: RoutingStrategy | null | undefined): string {
  return strategy ? STRATEGIES.find(([value]) => value === strategy)![1] : "the workspace's";
}

/** What a candidate is expected to cost (a nominal call of 1,000 prompt and 500 output tokens) and how soon it answers. */
function figures({ expectedCostUsd, expectedTtftMs }: RouteCandidate): string {
  const cost = expectedCostUsd === null || expectedCostUsd === undefined ? 'no catalog price' : `${formatUsd(expectedCostUsd)} a call`;
  const ttft = expectedTtftMs === null || expectedTtftMs === undefined ? 'first token not measured yet' : `first token in ${Math.round(expectedTtftMs)} ms`;
  return `${cost} · ${ttft}`;
}
