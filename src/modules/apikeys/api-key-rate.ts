// A gateway API key's bound on model calls a minute (an agent platform's per-tenant rate limit). Each call made
// with the key takes one from the key's current clock minute, in one statement, so every instance counts against
// the same window; a call past the bound takes nothing and is refused with RATE_LIMITED and the seconds until the
// next minute. A call with no such key costs nothing here.
import type { Viewer } from '../../auth/viewer.js';
import { AppError } from '../../errors.js';
import type { ApiKeyRepository } from './api-key.repository.js';

const MINUTE_MS = 60_000;

export function createApiKeyRate(repository: Pick<ApiKeyRepository, 'takeFromWindow'>, clock: () => Date) {
  return {
    /** Admits one call of the viewer's key, or throws RATE_LIMITED. */
    async admit(viewer: Viewer): Promise<void> {
      const perMinute = viewer.apiKey?.requestsPerMinute;
      if (!perMinute) return;
      const now = clock().getTime();
      const windowStart = Math.floor(now / MINUTE_MS) * MINUTE_MS;
      if (await repository.takeFromWindow(viewer.apiKey!.id, new Date(windowStart), perMinute)) return;
      const retryAfterSeconds = Math.max(1, Math.ceil((windowStart + MINUTE_MS - now) / 1000));
      throw new AppError('RATE_LIMITED', `This API key allows ${perMinute} calls a minute: try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
    },
  };
}

export type ApiKeyRate = ReturnType<typeof createApiKeyRate>;
