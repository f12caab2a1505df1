// The model browser over the whole catalog, a page at a time with the
// connection's cursors: search, kind, tier and capability go to the API; the
// price ceiling filters the page it returned.
import type { Api } from './api.js';
import { byId, formatTokens, formFields, h, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ModelTier, ProviderKind } from './generated/graphql.js';
import { kindNames } from './kinds.js';

const ConsoleModels = graphql(`
  query ConsoleModels($kind: ProviderKind, $search: String, $tier: ModelTier, $capability: String, $first: Int!, $after: String) {
    models(kind: $kind, search: $search, tier: $tier, capability: $capability, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id kind model displayName contextWindow inputUsdPerMTok cachedInputUsdPerMTok outputUsdPerMTok tier capabilities } }
    }
  }
`);

const PAGE_SIZE = 50;
const TIER_NAMES: Record<ModelTier, string> = { CHEAP: 'Cheap', BALANCED: 'Balanced', PREMIUM: 'Premium' };
const price = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `$${value.toFixed(2)}`);

export function modelsPanel(api: Api) {
  const controls = byId<HTMLFormElement>('models-controls');
  const rows = byId('models-table').querySelector('tbody')!;
  const count = byId('models-count');
  const error = byId('models-error');
  const previous = byId<HTMLButtonElement>('models-previous');
  const next = byId<HTMLButtonElement>('models-next');
  let searching: ReturnType<typeof setTimeout> | undefined;
  let kindsShown = false;
  // The cursor each page was read after: the connection goes forward only, so going back re-reads the page before.
  let afters: Array<string | undefined> = [undefined];
  let nextCursor: string | undefined;

  async function load(): Promise<void> {
    const { search, kind, tier, capability, maxInputPrice } = formFields(controls);
    const page = afters.length - 1;
    try {
      const names = await kindNames(api);
      if (!kindsShown) controls.querySelector('select[name=kind]')!.append(...names.options());
      kindsShown = true;
      const { models } = await api.request(ConsoleModels, {
        search,
        kind: kind as ProviderKind | undefined,
        tier: tier as ModelTier | undefined,
        capability,
        first: PAGE_SIZE,
        after: afters.at(-1),
      });
      error.textContent = '';
      nextCursor = models.pageInfo.hasNextPage ? (models.pageInfo.endCursor ?? undefined) : undefined;
      next.disabled = nextCursor === undefined;
      previous.disabled = page === 0;
      const ceiling = maxInputPrice === undefined ? Infinity : Number(maxInputPrice);
      const shown = models.edges.map((edge) => edge.node).filter((model) => (model.inputUsdPerMTok ?? 0) <= ceiling);
      const first = page * PAGE_SIZE + 1;
      const last = page * PAGE_SIZE + models.edges.length;
      count.textContent = models.totalCount === 0 ? 'No models match: clear a filter.' : `Models ${first}–${last} of ${formatTokens(models.totalCount)}`;
      if (shown.length < models.edges.length) count.append(` (${models.edges.length - shown.length} on this page above the price ceiling)`);
      rows.replaceChildren(
        ...shown.map((model) =>
          h(
            'tr',
            { data: { modelId: model.id } },
            h('td', {}, h('strong', {}, model.displayName), h('div', { class: 'muted' }, model.model)),
            h('td', {}, names.name(model.kind)),
            h('td', {}, model.tier ? TIER_NAMES[model.tier] : '—'),
            h('td', {}, model.contextWindow ? model.contextWindow.toLocaleString('en-US') : '—'),
            h('td', {}, price(model.inputUsdPerMTok)),
            h('td', {}, price(model.cachedInputUsdPerMTok)),
            h('td', {}, price(model.outputUsdPerMTok)),
            h('td', { class: 'muted capabilities' }, model.capabilities.join(', ')),
          ),
        ),
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  /** A changed filter starts again from the first page. */
  const reload = () => {
    afters = [undefined];
    return load();
  };

  // Typing searches after a pause; selects and the price ceiling apply at once.
  controls.addEventListener('input', (event) => {
    clearTimeout(searching);
    if ((event.target as HTMLElement).matches('input[type=search]')) searching = setTimeout(() => void reload(), 250);
    else void reload();
  });
  controls.addEventListener('submit', (event) => event.preventDefault());
  next.addEventListener('click', () => {
    if (nextCursor === undefined) return;
    afters.push(nextCursor);
    void load();
  });
  previous.addEventListener('click', () => {
    if (afters.length === 1) return;
    afters.pop();
    void load();
  });
  return { show: load };
}
