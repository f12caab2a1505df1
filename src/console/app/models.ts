// The model browser over the catalog: search, kind and tier go to the API; the
// price ceiling filters the page it returned.
import type { Api } from './api.js';
import { byId, formFields, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ModelTier, ProviderKind } from './generated/graphql.js';
import { PROVIDER_KINDS } from './providers.js';

const ConsoleModels = graphql(`
  query ConsoleModels($kind: ProviderKind, $search: String, $tier: ModelTier) {
    models(kind: $kind, search: $search, tier: $tier, first: 100) {
      totalCount
      edges { node { id kind model displayName contextWindow inputUsdPerMTok cachedInputUsdPerMTok outputUsdPerMTok tier capabilities } }
    }
  }
`);

const price = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `$${value.toFixed(2)}`);

export function modelsPanel(api: Api) {
  const controls = byId<HTMLFormElement>('models-controls');
  const rows = byId('models-table').querySelector('tbody')!;
  const count = byId('models-count');
  const error = byId('models-error');
  controls.querySelector('select[name=kind]')!.append(...PROVIDER_KINDS.map((kind) => h('option', { value: kind }, kind)));
  let searching: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    const { search, kind, tier, maxInputPrice } = formFields(controls);
    try {
      const { models } = await api.request(ConsoleModels, { search, kind: kind as ProviderKind | undefined, tier: tier as ModelTier | undefined });
      error.textContent = '';
      const ceiling = maxInputPrice === undefined ? Infinity : Number(maxInputPrice);
      const shown = models.edges.map((edge) => edge.node).filter((model) => (model.inputUsdPerMTok ?? 0) <= ceiling);
      count.textContent = `${shown.length} of ${models.totalCount} models`;
      rows.replaceChildren(
        ...shown.map((model) =>
          h(
            'tr',
            { data: { modelId: model.id } },
            h('td', {}, h('strong', {}, model.displayName), h('div', { class: 'muted' }, model.model)),
            h('td', {}, model.kind),
            h('td', {}, model.tier ?? '—'),
            h('td', {}, model.contextWindow ? model.contextWindow.toLocaleString('en-US') : '—'),
            h('td', {}, price(model.inputUsdPerMTok)),
            h('td', {}, price(model.cachedInputUsdPerMTok)),
            h('td', {}, price(model.outputUsdPerMTok)),
            h('td', { class: 'muted' }, model.capabilities.join(', ')),
          ),
        ),
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  // Typing searches after a pause; selects and the price ceiling apply at once.
  controls.addEventListener('input', () => {
    clearTimeout(searching);
    searching = setTimeout(() => void load(), 250);
  });
  controls.addEventListener('submit', (event) => event.preventDefault());
  return { show: load };
}
