// Provider kinds as people name them ('OpenAI', 'OpenAI-compatible'), read once
// from the API's `providerKinds`, for every panel that shows or offers a kind.
import type { Api } from './api.js';
import { h } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ProviderKind } from './generated/graphql.js';

const ProviderKinds = graphql(`
  query ConsoleProviderKinds {
    providerKinds { kind displayName }
  }
`);

export interface KindNames {
  kinds: ProviderKind[];
  name(kind: ProviderKind | string): string;
  /** One <option> per kind, its display name as the label. */
  options(): HTMLOptionElement[];
}

let loading: Promise<KindNames> | undefined;

export function kindNames(api: Api): Promise<KindNames> {
  loading ??= api.request(ProviderKinds).then(({ providerKinds }) => {
    const names = new Map<string, string>(providerKinds.map((k) => [k.kind, k.displayName]));
    return {
      kinds: providerKinds.map((k) => k.kind),
      name: (kind) => names.get(kind) ?? kind,
      options: () => providerKinds.map((k) => h('option', { value: k.kind }, k.displayName)),
    };
  });
  // A failed read is tried again next time, not remembered.
  loading.catch(() => (loading = undefined));
  return loading;
}
