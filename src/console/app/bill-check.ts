// The bill check (admins): per provider kind and model, our cost beside the one
// the provider reported (`costDiscrepancies`), over the usage panel's range (its
// last 93 days at most), the models whose calls differ by more than 1% first: a
// model whose calls all differ has a stale price in the catalog. Calls of a model
// the gateway has no price for are said apart: they were priced by a rule.
import type { Api } from './api.js';
import { byId, formatUsd, h, plural, showError } from './dom.js';
import { graphql } from './generated/gql.js';
import type { KindNames } from './kinds.js';

const CostDiscrepancies = graphql(`
  query ConsoleCostDiscrepancies($range: DateRangeInput!) {
    costDiscrepancies(range: $range, tolerance: 0.01) { kind model calls ourCostUsd providerCostUsd differingCalls unpricedCalls }
  }
`);

/** The longest range the API compares (it reads the ledger, not the rollup). */
const MAX_DAYS = 93;
const DAY_MS = 86_400_000;

export function billCheck(api: Api) {
  const rows = byId('bill-check').querySelector('tbody')!;
  const status = byId('bill-check-status');

  return {
    async show(range: { from: string; to: string }, kinds: KindNames | undefined): Promise<void> {
      const from = new Date(Math.max(Date.parse(range.from), Date.parse(range.to) - MAX_DAYS * DAY_MS)).toISOString();
      try {
        const { costDiscrepancies } = await api.request(CostDiscrepancies, { range: { from, to: range.to } });
        status.textContent = costDiscrepancies.length
          ? `${plural(costDiscrepancies.length, 'model')} whose provider reported its own cost, since ${from.slice(0, 10)}`
          : 'No provider reported its own cost in this range (OpenRouter does).';
        rows.replaceChildren(
          ...costDiscrepancies.map((row) =>
            h(
              'tr',
              { class: row.differingCalls > 0 ? 'differs' : '' },
              h('td', {}, h('strong', {}, row.model), h('div', { class: 'muted' }, kinds?.name(row.kind) ?? row.kind)),
              h('td', {}, String(row.calls)),
              h('td', {}, formatUsd(row.ourCostUsd)),
              h('td', {}, formatUsd(row.providerCostUsd)),
              h('td', {}, formatUsd(row.providerCostUsd - row.ourCostUsd)),
              h(
                'td',
                {},
                String(row.differingCalls),
                row.unpricedCalls > 0 && h('div', { class: 'muted' }, `${plural(row.unpricedCalls, 'call')} without a price (priced by the kind's rule)`),
              ),
            ),
          ),
        );
      } catch (failure) {
        rows.replaceChildren();
        showError(status, failure);
      }
    },
  };
}
