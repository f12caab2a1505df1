// The providers a preference may name (workspace and platform ones: the API refuses
// personal ones), as the options of a select, and a provider's name for a person.
import type { ProviderScope, ProviderStatus } from './generated/graphql.js';

export interface ProviderChoice {
  id: string;
  label: string;
  scope: ProviderScope;
  health: { status: ProviderStatus };
}

export function providerOptions(providers: readonly ProviderChoice[], none: string, current?: string | null): Array<[string, string]> {
  const options: Array<[string, string]> = [['', none]];
  for (const provider of providers) {
    if (provider.scope === 'PERSONAL') continue;
    const status = provider.health.status === 'ACTIVE' ? '' : ` (${provider.health.status.toLowerCase()})`;
    options.push([provider.id, `${provider.label}${provider.scope === 'PLATFORM' ? ' · platform' : ''}${status}`]);
  }
  // A preference can outlive its provider: keep it visible rather than silently showing "none".
  if (current && !options.some(([id]) => id === current)) options.push([current, 'a removed provider']);
  return options;
}

export function providerName(providers: readonly ProviderChoice[], id: string | null | undefined, fallback = '—'): string {
  if (!id) return fallback;
  return providers.find((provider) => provider.id === id)?.label ?? 'a removed provider';
}
