// Providers the operator configures (PLATFORM_PROVIDERS) for workspaces that
// have no keys of their own. They live in memory, sealed like any other key,
// with ids derived from their position and kind (stable across restarts and
// instances); every workspace sees them read-only with scope PLATFORM.
import type { PlatformProviderConfig } from '../../config.js';
import type { Keyring } from '../../crypto/keyring.js';
import { rowAad, seal } from '../../crypto/seal.js';
import type { Provider } from '../../generated/prisma/client.js';
import { uuidFromName } from '../../ids.js';
import { KINDS } from './kinds.js';

/** What a platform key's envelope is bound to, in place of a workspace. */
export const PLATFORM_AAD_SCOPE = 'platform';
/** After every workspace provider when choosing by priority. */
const PLATFORM_PRIORITY = 100_000;

export function createPlatformProviders(configs: PlatformProviderConfig[], keyring: Keyring, startedAt = new Date()) {
  const templates = configs.map((config, index): Omit<Provider, 'workspaceId'> => {
    const id = uuidFromName(`platform:${index}:${config.kind}`);
    return {
      id,
      ownerId: null,
      kind: config.kind,
      scope: 'PLATFORM',
      credentialType: 'API_KEY',
      label: config.label ?? `${KINDS[config.kind].displayName} (platform)`,
      sealedKey: seal(keyring, config.apiKey, rowAad(PLATFORM_AAD_SCOPE, id)),
      keyId: keyring.activeId,
      keyHint: '', // never shown, not even its end
      baseUrl: config.baseUrl ?? null,
      defaultModel: config.defaultModel ?? null,
      priority: PLATFORM_PRIORITY + index,
      dailyTokenLimit: null,
      monthlyBudgetMicros: null,
      status: 'ACTIVE',
      validated: false,
      lastValidatedAt: null,
      lastError: null,
      createdAt: startedAt,
      updatedAt: startedAt,
      deletedAt: null,
    };
  });
  return {
    /** The platform providers as one workspace sees them. */
    list: (workspaceId: string): Provider[] => templates.map((template) => ({ ...template, workspaceId })),
    find: (workspaceId: string, id: string): Provider | undefined => {
      const template = templates.find((candidate) => candidate.id === id);
      return template && { ...template, workspaceId };
    },
  };
}

export type PlatformProviders = ReturnType<typeof createPlatformProviders>;
