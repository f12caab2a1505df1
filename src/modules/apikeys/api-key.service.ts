// Gateway API keys: created with a secret shown once, listed, revoked. The
// credential rate limit and the audit trail apply as they do to provider keys.
import type { Viewer } from '../../auth/viewer.js';
import { roleAtLeast } from '../../auth/viewer.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { ApiKey, ApiKeyPrincipal } from '../../generated/prisma/client.js';
import { isUuid } from '../../ids.js';
import { microsToUsd } from '../../money.js';
import { oncePerRow } from '../../once-per-row.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import { callerName, displayText, modelName } from '../../text-input.js';
import { budgetMicros, dailyTokenLimit } from '../limits/limit-input.js';
import { dayKey, monthKey } from '../limits/periods.js';
import type { CredentialRateLimit } from '../providers/credential-rate-limit.js';
import type { ApiKeyRepository } from './api-key.repository.js';
import { newSecret, type SecretHasher, secretPrefix } from './api-key-secret.js';

const MAX_NAME_CHARACTERS = 100;
const MAX_ALLOWED_MODELS = 100;
export const MAX_REQUESTS_PER_MINUTE = 1_000_000;

export interface CreateApiKeyInput {
  name: string;
  principal: ApiKeyPrincipal;
  agent?: string | null;
  allowedModels?: readonly string[] | null;
  expiresAt?: Date | null;
  dailyTokenLimit?: number | null;
  monthlyBudgetUsd?: number | null;
  requestsPerMinute?: number | null;
}

export interface ApiKeyServiceDeps {
  repository: ApiKeyRepository;
  hasher: SecretHasher;
  rateLimit: CredentialRateLimit;
  clock: () => Date;
  /** The workspace's time zone: its days and months are the counters' periods. */
  timezone: (workspaceId: string) => Promise<string>;
  /** Tells every instance to forget a revoked key at once. */
  announceRevoked: (apiKeyId: string) => void;
}

export function createApiKeyService({ repository, hasher, rateLimit, clock, timezone, announceRevoked }: ApiKeyServiceDeps) {
  const mayManage = (viewer: Viewer, key: ApiKey) => key.createdBy === viewer.userId || roleAtLeast(viewer.role, 'ADMIN');

  return {
    async create(viewer: Viewer, input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
      refuseKeyHolders(viewer);
      if (input.principal === 'SERVICE' && !roleAtLeast(viewer.role, 'ADMIN')) throw new ForbiddenError('Only admins and owners may create SERVICE keys');
      const name = displayText(input.name, 'name', MAX_NAME_CHARACTERS);
      const agent = input.agent == null ? null : callerName(input.agent, 'agent');
      const models = input.allowedModels ?? [];
      if (models.length > MAX_ALLOWED_MODELS) throw new BadUserInputError(`allowedModels holds at most ${MAX_ALLOWED_MODELS} models`, 'allowedModels');
      const allowedModels = [...new Set(models.map((model) => modelName(model, 'allowedModels')))];
      const now = clock();
      if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new BadUserInputError('expiresAt must be in the future', 'expiresAt');
      const { requestsPerMinute = null } = input;
      if (requestsPerMinute !== null && !(Number.isInteger(requestsPerMinute) && requestsPerMinute >= 1 && requestsPerMinute <= MAX_REQUESTS_PER_MINUTE)) {
        throw new BadUserInputError(`requestsPerMinute must be a whole number from 1 to ${MAX_REQUESTS_PER_MINUTE}`, 'requestsPerMinute');
      }
      const row = {
        workspaceId: viewer.workspaceId,
        createdBy: viewer.userId,
        name,
        principal: input.principal,
        agent,
        allowedModels,
        expiresAt: input.expiresAt ?? null,
        dailyTokenLimit: dailyTokenLimit(input.dailyTokenLimit ?? null, 'dailyTokenLimit'),
        monthlyBudgetMicros: budgetMicros(input.monthlyBudgetUsd ?? null, 'monthlyBudgetUsd'),
        requestsPerMinute,
      };
      await rateLimit.consume(viewer.userId, viewer.workspaceId);
      const secret = newSecret();
      const { hash, keyId } = hasher.hash(secret);
      const apiKey = await repository.insert(viewer, { ...row, prefix: secretPrefix(secret), secretHash: hash, hashKeyId: keyId }, (id) => ({
        action: 'API_KEY_CREATED',
        targetId: id,
        data: { name, principal: input.principal },
      }));
      return { apiKey, secret };
    },

    async revoke(viewer: Viewer, id: string): Promise<ApiKey> {
      refuseKeyHolders(viewer);
      const existing = isUuid(id) ? await repository.find(viewer.workspaceId, id) : null;
      if (!existing || !mayManage(viewer, existing)) throw new NotFoundError('ApiKey');
      await rateLimit.consume(viewer.userId, viewer.workspaceId);
      const revoked = await repository.revoke(viewer, id, clock(), { action: 'API_KEY_REVOKED', targetId: id, data: { name: existing.name } });
      if (!revoked) throw new NotFoundError('ApiKey');
      announceRevoked(id);
      return revoked;
    },

    /** `tokensUsedToday` and `spendThisMonthUsd` both ask for it: the key's counters today and this month. */
    usage: oncePerRow(async (key: ApiKey) => {
      const [now, zone] = [clock(), await timezone(key.workspaceId)];
      const { tokensToday, spendMonthMicros } = await repository.usage(key.id, dayKey(now, zone), monthKey(now, zone));
      return { tokensUsedToday: tokensToday, spendThisMonthUsd: microsToUsd(spendMonthMicros) };
    }),

    /** ADMIN+ see every key of the workspace; members their own. */
    async list(viewer: Viewer, first: number, after: string | null | undefined) {
      const take = pageSize(first);
      const createdBy = roleAtLeast(viewer.role, 'ADMIN') ? undefined : viewer.userId;
      const rows = await repository.page(viewer.workspaceId, { createdBy, cursor: decodeCursor(after), take: take + 1 });
      return toPage(rows, take, (row) => ({ at: row.createdAt, id: row.id }));
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/**
 * Keys are managed with a person's token, never with a key: a key minting another would shed its own limits,
 * allowed models and expiry, and outlive its revocation.
 */
function refuseKeyHolders(viewer: Viewer): void {
  if (viewer.apiKey) throw new ForbiddenError('API keys are created and revoked with a token, not with an API key');
}
