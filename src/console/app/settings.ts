// Settings: the workspace's preferences (routing, limits, time zone, history,
// embeddings). A save sends only the fields changed since they were read, and
// the API validates each; a refusal shows next to its field and changes nothing.
// Members read them; the API lets only admins and owners save.

import type { Api } from './api.js';
import { byId, h } from './dom.js';
import { fieldErrors, input, labelled, optionalNumber, optionalText, select } from './form-fields.js';
import { graphql } from './generated/gql.js';
import type { ConsoleSettingsQuery, PreferencesInput } from './generated/graphql.js';
import { type ProviderChoice, providerOptions } from './preference-providers.js';
import { STRATEGIES } from './routing-strategies.js';

const ConsoleSettings = graphql(`
  query ConsoleSettings {
    preferences { ...ConsoleSettingsFields }
    providers { id label scope health { status } }
  }
`);

const SaveSettings = graphql(`
  mutation ConsoleSaveSettings($input: PreferencesInput!) {
    updatePreferences(input: $input) { ...ConsoleSettingsFields }
  }
`);

graphql(`
  fragment ConsoleSettingsFields on Preferences {
    defaultProviderId defaultModel fallbackProviderId fallbackModel autoFailover routingStrategy maxTokensPerRequest timezone
    quotaWarningThreshold workspaceDailyTokenLimit workspaceMonthlyBudgetUsd storeConversationHistory embeddingProviderId embeddingModel
  }
`);

type Settings = ConsoleSettingsQuery['preferences'];
type Name = keyof Settings & keyof PreferencesInput;
type Control = 'provider' | 'strategy' | 'text' | 'number' | 'boolean' | 'timezone';
interface Field {
  name: Name;
  label: string;
  control: Control;
  /** What an empty field means; without it the field cannot be emptied (the API keeps its value). */
  empty?: string;
  step?: string;
}

const GROUPS: Array<{ legend: string; fields: Field[] }> = [
  {
    legend: 'Routing',
    fields: [
      { name: 'defaultProviderId', label: 'Default provider', control: 'provider', empty: 'None: the highest priority' },
      { name: 'defaultModel', label: 'Default model', control: 'text', empty: "the provider's default" },
      { name: 'fallbackProviderId', label: 'Fallback provider', control: 'provider', empty: 'None' },
      { name: 'fallbackModel', label: 'Fallback model', control: 'text', empty: "the provider's default" },
      { name: 'autoFailover', label: 'Auto-failover to the other providers by priority', control: 'boolean' },
      { name: 'routingStrategy', label: 'Order of the candidates', control: 'strategy' },
    ],
  },
  {
    legend: 'Limits',
    fields: [
      { name: 'maxTokensPerRequest', label: 'Max tokens per request', control: 'number', empty: 'no cap', step: '1' },
      { name: 'workspaceDailyTokenLimit', label: 'Workspace tokens a day', control: 'number', empty: 'no limit', step: '1' },
      { name: 'workspaceMonthlyBudgetUsd', label: 'Workspace monthly budget (USD)', control: 'number', empty: 'no budget', step: '0.01' },
      { name: 'quotaWarningThreshold', label: 'Warning threshold (share of a limit, 0 to 1)', control: 'number', step: '0.01' },
      { name: 'timezone', label: 'Time zone', control: 'timezone' },
    ],
  },
  {
    legend: 'Embeddings and history',
    fields: [
      { name: 'embeddingProviderId', label: 'Embedding provider', control: 'provider', empty: 'None' },
      { name: 'embeddingModel', label: 'Embedding model', control: 'text', empty: "the kind's default" },
      { name: 'storeConversationHistory', label: 'Keep conversation history', control: 'boolean' },
    ],
  },
];
const FIELDS = GROUPS.flatMap((group) => group.fields);

export function settingsPanel(api: Api, isAdmin: boolean) {
  const form = byId<HTMLFormElement>('settings-form');
  const fieldsets = byId('settings-fields');
  const status = byId('settings-status');
  const errors = fieldErrors(form, byId('settings-error'));
  byId('settings-read-only').hidden = isAdmin;
  byId('settings-save').hidden = !isAdmin;
  const zones = h('datalist', {}, ...Intl.supportedValuesOf('timeZone').map((zone) => h('option', { value: zone })));
  zones.id = 'settings-time-zones';
  let saved: Settings | undefined;
  let providers: readonly ProviderChoice[] = [];

  function control(field: Field, settings: Settings): HTMLInputElement | HTMLSelectElement {
    const value = settings[field.name];
    switch (field.control) {
      case 'provider': {
        const element = select(field.name, providerOptions(providers, field.empty ?? 'None', value as string | null));
        element.value = (value as string | null) ?? '';
        return element;
      }
      case 'strategy': {
        const element = select(field.name, STRATEGIES);
        element.value = value as string;
        return element;
      }
      case 'boolean': {
        const element = input(field.name, 'checkbox');
        element.checked = value === true;
        return element;
      }
      default: {
        const type = field.control === 'number' ? 'number' : 'text';
        const element = input(field.name, type, { placeholder: field.empty ?? '', ...(field.step ? { step: field.step } : {}), autocomplete: 'off' });
        if (field.control === 'timezone') element.setAttribute('list', zones.id);
        element.value = value === null || value === undefined ? '' : String(value);
        return element;
      }
    }
  }

  function draw(settings: Settings): void {
    saved = settings;
    fieldsets.replaceChildren(
      zones,
      ...GROUPS.map(({ legend, fields }) =>
        h(
          'fieldset',
          { disabled: !isAdmin },
          h('legend', {}, legend),
          ...fields.map((field) => labelled(field.label, control(field, settings), field.control === 'boolean' ? 'check' : undefined)),
        ),
      ),
    );
  }

  /** The form's value of a field, in the API's terms. */
  function read(field: Field): Settings[Name] {
    const element = form.elements.namedItem(field.name) as HTMLInputElement;
    if (field.control === 'boolean') return element.checked;
    if (field.control === 'number') return optionalNumber(element.value);
    return optionalText(element.value);
  }

  async function load(): Promise<void> {
    errors.clear();
    status.textContent = '';
    // Busy until the settings are drawn afresh: what is typed before then is replaced.
    form.setAttribute('aria-busy', 'true');
    try {
      const result = await api.request(ConsoleSettings);
      providers = result.providers;
      draw(result.preferences);
    } catch (error) {
      errors.show(error);
    } finally {
      form.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!saved) return;
    errors.clear();
    status.textContent = '';
    const changed = FIELDS.filter((field) => {
      const value = read(field);
      return value !== saved![field.name] && (value !== null || field.empty !== undefined);
    });
    if (changed.length === 0) {
      draw(saved);
      status.textContent = 'Nothing changed';
      return;
    }
    const input = Object.fromEntries(changed.map((field) => [field.name, read(field)])) as PreferencesInput;
    try {
      const { updatePreferences } = await api.request(SaveSettings, { input });
      draw(updatePreferences);
      status.textContent = `Saved: ${changed.map((field) => field.label).join(', ')}`;
    } catch (error) {
      errors.show(error);
    }
  });

  return { show: load };
}
