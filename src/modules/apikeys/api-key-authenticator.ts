// An API key secret → the Viewer it acts as. Looked up by its prefix on every
// request (kept a few seconds at most, and forgotten at once when any instance
// revokes it), so a revoked or expired key is refused everywhere straight away.
import { serviceUserId, type Viewer } from '../../auth/viewer.js';
import type { ApiKeyCredential, ApiKeyRepository } from './api-key.repository.js';
import { isWellFormedSecret, type SecretHasher, secretPrefix } from './api-key-secret.js';

/** How long a looked-up key is kept at most (a revocation heard over the bus forgets it sooner). */
export const API_KEY_CACHE_MS = 5_000;
/** Prefixes kept at once (a miss is kept too: a flood of made-up keys costs one lookup each, and no more memory than this). */
const MAX_CACHED = 10_000;
const TOUCH_EVERY_MS = 60_000;

/** Why a key is refused, in words safe to show: the same for an unknown, revoked or expired key, so none can be told apart. */
export const KEY_REFUSED = 'Invalid, revoked or expired API key';

export class ApiKeyRejected extends Error {}

export interface ApiKeyAuthenticatorDeps {
  repository: ApiKeyRepository;
  hasher: SecretHasher;
  clock: () => Date;
  onUnexpected: (error: unknown) => void;
}

export function createApiKeyAuthenticator({ repository, hasher, clock, onUnexpected }: ApiKeyAuthenticatorDeps) {
  const cache = new Map<string, { credential: ApiKeyCredential | null; until: number }>();
  const touchedAt = new Map<string, number>();

  async function lookUp(prefix: string, now: number): Promise<ApiKeyCredential | null> {
    const kept = cache.get(prefix);
    if (kept && kept.until > now) return kept.credential;
    const credential = await repository.findCredential(prefix);
    cache.delete(prefix);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(prefix, { credential, until: now + API_KEY_CACHE_MS });
    return credential;
  }

  function touch(id: string, at: Date) {
    const last = touchedAt.get(id) ?? 0;
    if (at.getTime() - last < TOUCH_EVERY_MS) return;
    touchedAt.set(id, at.getTime());
    repository.touch(id, at, new Date(at.getTime() - TOUCH_EVERY_MS)).catch(onUnexpected);
  }

  return {
    /** The viewer the key acts as; throws ApiKeyRejected for anything else. */
    async authenticate(secret: string): Promise<Viewer> {
      if (!isWellFormedSecret(secret)) throw new ApiKeyRejected(KEY_REFUSED);
      const at = clock();
      const key = await lookUp(secretPrefix(secret), at.getTime());
      if (!key || !hasher.matches(secret, key.secretHash, key.hashKeyId)) throw new ApiKeyRejected(KEY_REFUSED);
      if (key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= at.getTime())) throw new ApiKeyRejected(KEY_REFUSED);
      const role = key.principal === 'SERVICE' ? 'MEMBER' : key.creatorRole;
      if (!role) throw new ApiKeyRejected(KEY_REFUSED);
      touch(key.id, at);
      return {
        userId: key.principal === 'SERVICE' ? serviceUserId(key.id) : key.createdBy,
        workspaceId: key.workspaceId,
        role,
        expiresAt: key.expiresAt?.getTime() ?? Number.MAX_SAFE_INTEGER,
        apiKey: {
          id: key.id,
          agent: key.agent,
          allowedModels: key.allowedModels,
          dailyTokenLimit: key.dailyTokenLimit,
          monthlyBudgetMicros: key.monthlyBudgetMicros,
          requestsPerMinute: key.requestsPerMinute,
        },
      };
    },

    /** A key was revoked (here or on another instance). */
    forget(apiKeyId: string) {
      for (const [prefix, kept] of cache) if (kept.credential?.id === apiKeyId) cache.delete(prefix);
    },
  };
}

export type ApiKeyAuthenticator = ReturnType<typeof createApiKeyAuthenticator>;
