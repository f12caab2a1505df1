// The key lifecycle: add (validated before anything is stored), update and
// rotate (the old key stays until the new one is proven), test, disable,
// delete (key material removed for good). Authorization, validation, the
// credential rate limit and the audit trail live here; resolvers stay thin.
import { randomUUID } from 'node:crypto';
import { isServiceUserId, roleAtLeast, type Viewer } from '../../auth/viewer.js';
import type { Keyring } from '../../crypto/keyring.js';
import { keyHint } from '../../crypto/mask.js';
import { open, rowAad, SealError, seal } from '../../crypto/seal.js';
import { AppError, BadUserInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { CredentialType, Provider, ProviderKind, ProviderScope } from '../../generated/prisma/client.js';
import { forEachItem, type ItemFailed } from '../../jobs/scheduler.js';
import { microsToUsd } from '../../money.js';
import { checkBaseUrl, type EgressPolicy, EgressRefused, type Resolve } from '../../net/egress.js';
import { oncePerRow } from '../../once-per-row.js';
import { displayText, modelName } from '../../text-input.js';
import type { AuditRecord } from '../audit/audit.repository.js';
import type { HealthService } from '../health/health.service.js';
import { budgetMicros, dailyTokenLimit } from '../limits/limit-input.js';
import type { ProviderTarget } from './adapters/adapter.js';
import type { Adapters } from './adapters/adapters.js';
import type { CredentialRateLimit } from './credential-rate-limit.js';
import { KINDS } from './kinds.js';
import { PLATFORM_AAD_SCOPE } from './platform-providers.js';
import type { ProviderRepository } from './provider.repository.js';
import { assertCanManage, isPlatform } from './visibility.js';

export interface AddProviderInput {
  kind: ProviderKind;
  label?: string | null;
  apiKey: string;
  scope?: ProviderScope | null;
  credentialType?: CredentialType | null;
  baseUrl?: string | null;
  defaultModel?: string | null;
  priority?: number | null;
  dailyTokenLimit?: number | null;
  monthlyBudgetUsd?: number | null;
  skipValidation?: boolean | null;
}

/** What a key offered to addProvider or validateKey is checked with. */
export type NewKeyInput = Pick<AddProviderInput, 'kind' | 'apiKey' | 'baseUrl' | 'credentialType'>;

/** `undefined`: leave as is; `null` clears the limits (and is ignored elsewhere). */
export interface UpdateProviderInput {
  label?: string | null;
  apiKey?: string | null;
  baseUrl?: string | null;
  defaultModel?: string | null;
  priority?: number | null;
  dailyTokenLimit?: number | null;
  monthlyBudgetUsd?: number | null;
  disabled?: boolean | null;
}

export interface ProviderTestResult {
  ok: boolean;
  latencyMs: number;
  errorCode: string | null;
  message: string | null;
  models: string[] | null;
}

export interface ProviderServiceDeps {
  repository: ProviderRepository;
  keyring: Keyring;
  adapters: Adapters;
  egress: EgressPolicy;
  resolve?: Resolve;
  rateLimit: CredentialRateLimit;
  clock: () => Date;
  /** Tells every instance to end live calls to a provider that was deleted or disabled. */
  announceRemoval: (providerId: string) => void;
  /** A provider was added, changed or deleted: routing must see it. */
  routingChanged: (workspaceId: string) => void;
  /** A workspace has a working OpenRouter key: OpenRouter's own prices are worth reading. */
  onOpenRouterKey: () => void;
  /** Status changes a key test causes, with their alerts. */
  health: Pick<HealthService, 'restored' | 'invalid' | 'window'>;
}

export function createProviderService(deps: ProviderServiceDeps) {
  const { repository, keyring, adapters } = deps;
  // Rows are loaded per request, so this never outlives one response.

  async function visibleOrNotFound(viewer: Viewer, id: string): Promise<Provider> {
    const provider = await repository.findVisible(viewer, id);
    if (!provider) throw new NotFoundError('Provider');
    return provider;
  }

  async function checkedBaseUrl(kind: ProviderKind, baseUrl: string | null | undefined): Promise<string> {
    const url = baseUrl ?? KINDS[kind].defaultBaseUrl;
    if (!url) throw new BadUserInputError(`${KINDS[kind].displayName} providers need a baseUrl`, 'baseUrl');
    if (url.length > 2048) throw new BadUserInputError('baseUrl is longer than 2048 characters', 'baseUrl');
    try {
      return (await checkBaseUrl(deps.egress, url, deps.resolve)).href.replace(/\/$/, '');
    } catch (error) {
      if (error instanceof EgressRefused) throw new BadUserInputError(error.message, 'baseUrl');
      throw error;
    }
  }

  /**
   * A key someone offers, checked as addProvider and validateKey both take it: its form, its base URL (the
   * egress guard), then one change from the user's hourly allowance. Nothing is stored.
   */
  async function newKey(viewer: Viewer, input: NewKeyInput): Promise<ProviderTarget> {
    const credentialType = input.credentialType ?? 'API_KEY';
    if (credentialType === 'OAUTH_TOKEN' && input.kind !== 'ANTHROPIC') {
      throw new BadUserInputError('OAuth tokens are supported for ANTHROPIC only', 'credentialType');
    }
    const apiKey = parseApiKey(input.kind, input.apiKey);
    const baseUrl = await checkedBaseUrl(input.kind, input.baseUrl);
    await deps.rateLimit.consume(viewer.userId, viewer.workspaceId);
    return { kind: input.kind, baseUrl, apiKey, credentialType };
  }

  async function validateKey(target: ProviderTarget, signal: AbortSignal): Promise<string[] | null> {
    const { models } = await adapters[KINDS[target.kind].protocol].validate(target, signal);
    if (target.kind === 'OPENROUTER') deps.onOpenRouterKey();
    return models;
  }

  /** A key check (`validateKey` of a target), timed, as a result rather than an error. */
  async function checkResult(check: () => Promise<string[] | null>): Promise<ProviderTestResult> {
    const started = performance.now();
    const failed = (errorCode: string, message: string): ProviderTestResult => ({ ok: false, latencyMs: performance.now() - started, errorCode, message, models: null });
    try {
      const models = await check();
      return { ok: true, latencyMs: performance.now() - started, errorCode: null, message: null, models };
    } catch (error) {
      // A seal error names the master key id, never any key material.
      if (error instanceof SealError) return failed('INTERNAL', error.message);
      if (error instanceof AppError) return failed(error.code, error.message);
      throw error;
    }
  }

  /** One validation call with the stored key. */
  function probe(provider: Provider, signal: AbortSignal): Promise<ProviderTestResult> {
    return checkResult(async () => {
      const baseUrl = await checkedBaseUrl(provider.kind, provider.baseUrl);
      return validateKey({ kind: provider.kind, baseUrl, apiKey: decrypt(provider), credentialType: provider.credentialType }, signal);
    });
  }

  /** A working key restores an INVALID or DEGRADED provider; a refused one makes it INVALID (each with its alert). */
  async function followHealth(providerId: string, result: ProviderTestResult): Promise<void> {
    if (result.ok) await deps.health.restored(providerId);
    else if (result.errorCode === 'INVALID_CREDENTIALS') await deps.health.invalid(providerId, result.message!);
  }

  /** What a key check changes on the row: a working key marks it validated; a refused one keeps its flag. */
  function validationChanges(result: ProviderTestResult) {
    return { lastValidatedAt: deps.clock(), lastError: result.message, ...(result.ok ? { validated: true } : {}) };
  }

  function decrypt(provider: Provider): string {
    if (!provider.sealedKey) throw new AppError('NOT_FOUND', 'Provider has no key');
    const boundTo = isPlatform(provider) ? PLATFORM_AAD_SCOPE : provider.workspaceId;
    return open(keyring, provider.sealedKey, rowAad(boundTo, provider.id));
  }

  /** What an adapter needs for one call with this provider's key. */
  async function target(provider: Provider): Promise<ProviderTarget> {
    const apiKey = decrypt(provider);
    // Gemini's SDK fetches on its own, past the guarded fetch: check its base URL (and DNS) before every call.
    const baseUrl = KINDS[provider.kind].protocol === 'gemini' ? await checkedBaseUrl(provider.kind, provider.baseUrl) : (provider.baseUrl ?? KINDS[provider.kind].defaultBaseUrl!);
    return { kind: provider.kind, baseUrl, apiKey, credentialType: provider.credentialType };
  }

  return {
    target,

    /** The models the provider lists for this key; PROVIDER_UNAVAILABLE when it cannot say. */
    async models(provider: Provider, signal: AbortSignal): Promise<string[]> {
      return adapters[KINDS[provider.kind].protocol].listModels(await target(provider), signal);
    },

    list: (viewer: Viewer) => repository.listVisible(viewer),

    get: (viewer: Viewer, id: string) => repository.findVisible(viewer, id),

    /** `tokensUsedToday` and `spendThisMonthUsd` both ask for it. */
    usage: oncePerRow(async (provider: Provider) => {
      const { tokensToday, spendMonthMicros } = await repository.usage(provider, await repository.timezone(provider.workspaceId), deps.clock());
      return { tokensUsedToday: tokensToday, spendThisMonthUsd: microsToUsd(spendMonthMicros) };
    }),

    /** The health window's figures; the `health` fields all ask for it. */
    health: oncePerRow((provider: Provider) => deps.health.window(provider)),

    async add(viewer: Viewer, input: AddProviderInput, signal: AbortSignal): Promise<Provider> {
      const scope = input.scope ?? 'WORKSPACE';
      if (scope === 'PLATFORM') throw new BadUserInputError('PLATFORM providers are configured by the operator, not through the API', 'scope');
      // A SERVICE key is no person: a personal provider of its own would have no one to manage it once the key is revoked.
      if (scope === 'PERSONAL' && isServiceUserId(viewer.userId)) throw new BadUserInputError('A SERVICE API key cannot own a PERSONAL provider', 'scope');
      assertCanManage(viewer, { scope, ownerId: viewer.userId });
      if (input.skipValidation && viewer.role !== 'OWNER') throw new ForbiddenError('Only owners may store a key without validating it');
      const fields = {
        label: parseLabel(input.label) ?? KINDS[input.kind].displayName,
        defaultModel: parseModel(input.defaultModel),
        priority: parsePriority(input.priority) ?? 100,
        dailyTokenLimit: dailyTokenLimit(input.dailyTokenLimit ?? null, 'dailyTokenLimit'),
        monthlyBudgetMicros: budgetMicros(input.monthlyBudgetUsd ?? null, 'monthlyBudgetUsd'),
      };
      const candidate = await newKey(viewer, input);
      const { kind, apiKey, credentialType } = candidate;

      const validated = !input.skipValidation;
      if (validated) await validateKey(candidate, signal);

      const id = randomUUID();
      const now = deps.clock();
      const storedBaseUrl = input.baseUrl ? candidate.baseUrl : null;
      const created = await repository.insert(
        viewer,
        {
          id,
          workspaceId: viewer.workspaceId,
          ownerId: scope === 'PERSONAL' ? viewer.userId : null,
          kind,
          scope,
          credentialType,
          ...fields,
          baseUrl: storedBaseUrl,
          sealedKey: seal(keyring, apiKey, rowAad(viewer.workspaceId, id)),
          keyId: keyring.activeId,
          keyHint: keyHint(apiKey),
          validated,
          lastValidatedAt: validated ? now : null,
        },
        { action: 'PROVIDER_CREATED', targetId: id, data: { kind, label: fields.label, scope, validated, baseUrl: storedBaseUrl } },
      );
      deps.routingChanged(viewer.workspaceId);
      return created;
    },

    /**
     * `validateKey`: the key is checked exactly as addProvider checks it (its form, the egress guard, the hourly
     * allowance, the provider's answer) and nothing is stored but an audit entry without it. Any member may check a
     * key, a SERVICE API key no more than it may add one; a refused key is a result, not an error.
     */
    async validate(viewer: Viewer, input: NewKeyInput, signal: AbortSignal): Promise<ProviderTestResult> {
      if (isServiceUserId(viewer.userId) && !roleAtLeast(viewer.role, 'ADMIN')) throw new ForbiddenError('A SERVICE API key acting as a member cannot add keys, nor check them');
      const candidate = await newKey(viewer, input);
      const result = await checkResult(() => validateKey(candidate, signal));
      await repository.recordAudit(viewer, {
        action: 'PROVIDER_KEY_VALIDATED',
        data: { kind: candidate.kind, baseUrl: input.baseUrl ? candidate.baseUrl : null, ok: result.ok, errorCode: result.errorCode, latencyMs: Math.round(result.latencyMs) },
      });
      return result;
    },

    async update(viewer: Viewer, id: string, input: UpdateProviderInput, signal: AbortSignal): Promise<Provider> {
      const provider = await visibleOrNotFound(viewer, id);
      assertCanManage(viewer, provider);
      const changes: Partial<Provider> = {};
      const label = parseLabel(input.label);
      if (label !== undefined) changes.label = label;
      const defaultModel = parseModel(input.defaultModel);
      if (defaultModel !== undefined) changes.defaultModel = defaultModel;
      const priority = parsePriority(input.priority);
      if (priority !== undefined) changes.priority = priority;
      if (input.dailyTokenLimit !== undefined) changes.dailyTokenLimit = dailyTokenLimit(input.dailyTokenLimit, 'dailyTokenLimit');
      if (input.monthlyBudgetUsd !== undefined) changes.monthlyBudgetMicros = budgetMicros(input.monthlyBudgetUsd, 'monthlyBudgetUsd');
      if (typeof input.disabled === 'boolean') {
        if (input.disabled) changes.status = 'DISABLED';
        else if (provider.status === 'DISABLED') changes.status = 'ACTIVE';
      }

      const rotating = typeof input.apiKey === 'string';
      if (input.baseUrl != null && !rotating) {
        // Otherwise an admin could point someone's key at a server of their own.
        throw new BadUserInputError('Changing baseUrl needs the apiKey again', 'baseUrl');
      }
      if (rotating) {
        const apiKey = parseApiKey(provider.kind, input.apiKey!);
        const baseUrl = await checkedBaseUrl(provider.kind, input.baseUrl ?? provider.baseUrl);
        await deps.rateLimit.consume(viewer.userId, viewer.workspaceId);
        // The new key must work before it replaces the old one.
        await validateKey({ kind: provider.kind, baseUrl, apiKey, credentialType: provider.credentialType }, signal);
        Object.assign(changes, {
          sealedKey: seal(keyring, apiKey, rowAad(provider.workspaceId, provider.id)),
          keyId: keyring.activeId,
          keyHint: keyHint(apiKey),
          validated: true,
          lastValidatedAt: deps.clock(),
          lastError: null,
          ...(input.baseUrl != null ? { baseUrl } : {}),
          ...(provider.status === 'INVALID' ? { status: 'ACTIVE' as const } : {}),
        });
      }

      const fieldNames = Object.keys(input).filter((name) => (input as Record<string, unknown>)[name] !== undefined && name !== 'apiKey' && name !== 'disabled');
      const entries: AuditRecord[] = [];
      if (rotating) entries.push({ action: 'PROVIDER_KEY_ROTATED', targetId: provider.id, data: { kind: provider.kind } });
      if (changes.status === 'DISABLED' && provider.status !== 'DISABLED') entries.push({ action: 'PROVIDER_DISABLED', targetId: provider.id });
      if (changes.status === 'ACTIVE' && provider.status === 'DISABLED') entries.push({ action: 'PROVIDER_ENABLED', targetId: provider.id });
      if (fieldNames.length > 0) entries.push({ action: 'PROVIDER_UPDATED', targetId: provider.id, data: { fields: fieldNames } });
      return repository.update(viewer, provider.id, changes, entries).then((updated) => {
        deps.routingChanged(provider.workspaceId);
        if (updated.status === 'DISABLED' && provider.status !== 'DISABLED') deps.announceRemoval(provider.id);
        return updated;
      });
    },

    async remove(viewer: Viewer, id: string): Promise<string> {
      const provider = await visibleOrNotFound(viewer, id);
      assertCanManage(viewer, provider);
      await deps.rateLimit.consume(viewer.userId, viewer.workspaceId);
      // The key material goes for good; usage history keeps id, kind and label.
      await repository.update(viewer, provider.id, { sealedKey: null, keyId: null, keyHint: '', deletedAt: deps.clock(), status: 'DISABLED' }, [
        { action: 'PROVIDER_DELETED', targetId: provider.id, data: { kind: provider.kind, label: provider.label } },
      ]);
      deps.routingChanged(provider.workspaceId);
      deps.announceRemoval(provider.id);
      return provider.id;
    },

    async test(viewer: Viewer, id: string, signal: AbortSignal): Promise<ProviderTestResult> {
      const provider = await visibleOrNotFound(viewer, id);
      assertCanManage(viewer, provider);
      const result = await probe(provider, signal);
      await repository.update(viewer, provider.id, validationChanges(result), [
        { action: 'PROVIDER_TESTED', targetId: provider.id, data: { ok: result.ok, errorCode: result.errorCode, latencyMs: Math.round(result.latencyMs) } },
      ]);
      await followHealth(provider.id, result);
      return result;
    },

    /** The periodic re-validation of every stored key (a scheduled job): refused keys become INVALID, working ones recover. */
    async revalidateAll(signal: AbortSignal, itemFailed: ItemFailed): Promise<{ checked: number; refused: number; failed: number }> {
      const stored = await repository.listKeysToRevalidate();
      let refused = 0;
      const failed = await forEachItem(
        stored,
        (provider) => `provider ${provider.id}`,
        async (provider) => {
          if (signal.aborted) return;
          const result = await probe(provider, signal);
          await repository.recordValidation(provider.id, validationChanges(result));
          await followHealth(provider.id, result);
          if (result.errorCode === 'INVALID_CREDENTIALS') refused++;
        },
        itemFailed,
      );
      return { checked: stored.length, refused, failed };
    },
  };
}

export type ProviderService = ReturnType<typeof createProviderService>;

function parseApiKey(kind: ProviderKind, raw: string): string {
  const key = raw.trim();
  if (!key && KINDS[kind].requiresKey) throw new BadUserInputError(`${KINDS[kind].displayName} needs an apiKey`, 'apiKey');
  // Say what is wrong without echoing any of it.
  if (key.length > 4096 || /[\s\u0000-\u001f\u007f]/.test(key))
    throw new BadUserInputError('apiKey must be at most 4096 characters without spaces or control characters', 'apiKey');
  return key;
}

function parseLabel(label: string | null | undefined): string | undefined {
  return label == null ? undefined : displayText(label, 'label', 100);
}

function parseModel(model: string | null | undefined): string | null | undefined {
  return model == null ? model : modelName(model.trim(), 'defaultModel');
}

function parsePriority(priority: number | null | undefined): number | undefined {
  if (priority == null) return undefined;
  if (!Number.isInteger(priority) || priority < 0 || priority > 10_000) throw new BadUserInputError('priority must be an integer from 0 to 10000', 'priority');
  return priority;
}
