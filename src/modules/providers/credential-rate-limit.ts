// At most N key additions, rotations and deletions per user per sliding hour.
// Counted in the database under a per-user advisory lock, so concurrent
// requests and several instances cannot overshoot it.
import { AppError } from '../../errors.js';
import type { CredentialChangeRepository } from './credential-change.repository.js';

const HOUR_MS = 3_600_000;

export function createCredentialRateLimit(repository: CredentialChangeRepository, perHour: number, clock: () => Date) {
  return {
    /** Takes one change from the user's hourly allowance, or throws RATE_LIMITED with the wait. */
    async consume(userId: string, workspaceId: string): Promise<void> {
      const now = clock();
      const oldest = await repository.insertIfUnderLimit(userId, workspaceId, { at: now, since: new Date(now.getTime() - HOUR_MS), limit: perHour });
      if (oldest) {
        const retryAfterSeconds = Math.max(1, Math.ceil((oldest.getTime() + HOUR_MS - now.getTime()) / 1000));
        throw new AppError('RATE_LIMITED', `At most ${perHour} key changes per hour; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
      }
    },
  };
}

export type CredentialRateLimit = ReturnType<typeof createCredentialRateLimit>;
