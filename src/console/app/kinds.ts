// Provider kinds as people name them ('OpenAI', 'OpenAI-compatible'), with what
// adding one needs, read once from the API's `providerKinds` (the gateway's own
// kind data), for every panel that shows or offers a kind.
import type { Api } from './api.js';
import { h } from './dom.js';
import { graphql } from './generated/gql.js';
import type { ConsoleProviderKindsQuery, ProviderKind } from './generated/graphql.js';

export type KindInfo = ConsoleProviderKindsQuery['providerKinds'][number];

const ProviderKinds = graphql(`
  query ConsoleProviderKinds {
    providerKinds { kind displayName defaultBaseUrl keyPrefix requiresKey }
  }
`);

export interface KindNames {
  kinds: ProviderKind[];
  name(kind: ProviderKind | string): string;
  /** What adding a key of this kind needs; undefined for a kind the API did not list. */
  info(kind: ProviderKind | string): KindInfo | undefined;
  /** One <option> per kind, its display name as the label. */
  options(): HTMLOptionElement[];
}

let loading: Promise<KindNames> | undefined;

export function kindNames(api: Api): Promise<KindNames> {
  loading ??= api.request(ProviderKinds).then(({ providerKinds }) => {
    const byKind = new Map<string, KindInfo>(providerKinds.map((k) => [k.kind, k]));
    return {
      kinds: providerKinds.map((k) => k.kind),
      name: (kind) => byKind.get(kind)?.displayName ?? kind,
      info: (kind) => byKind.get(kind),
      options: () => providerKinds.map((k) => h('option', { value: k.kind }, k.displayName)),
    };
  });
  // A failed read is tried again next time, not remembered.
  loading.catch(() => (loading = undefined));
  return loading;
}
