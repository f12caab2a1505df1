// The `model` a compatible front door is given (OpenAI's, Anthropic's), read as a choice of provider and
// model for the chat core, the same on every door:
//   auto                      routed by the preferences, like a GraphQL chat naming no provider
//   <provider>/<model>        that provider only (no fallback): <provider> is the longest label of a visible
//                             provider that the name starts with (followed by '/'), else the provider id
//                             before the first '/'; <model> is passed as is
//   <model>                   the first usable provider, in route order (the preferences' route, then the
//                             other providers by priority), that offers it: the model catalog lists it for the
//                             provider's kind, or it is the provider's default (chat) or embedding model;
//                             fallback then follows the preferences
//   anything else             404 model_not_found
// So an OpenRouter model named bare ("openai/gpt-4o") still works when no provider is labelled "openai".
import type { Viewer } from '../auth/viewer.js';
import { AppError } from '../errors.js';
import type { Provider } from '../generated/prisma/client.js';
import type { Catalog } from '../modules/catalog/catalog.js';
import type { RouteService } from '../modules/chat/route.service.js';
import { KINDS } from '../modules/providers/kinds.js';
import { canSee } from '../modules/providers/visibility.js';
import { modelName } from '../text-input.js';

const AUTO_MODEL = 'auto';

/** What the model named asks of routing: which provider (none: the preferences'), which model, and whether fallback may follow. */
export interface ModelChoice {
  providerId?: string;
  model?: string;
  allowFallback: boolean;
}

export type Purpose = 'chat' | 'embeddings';

export interface DoorModelDeps {
  routes: Pick<RouteService, 'config' | 'plan'>;
  catalog: Pick<Catalog, 'has' | 'capabilities' | 'list'>;
}

/** A model that names nothing routable; the message says how to name one. */
class ModelNotFound extends AppError {
  constructor() {
    super(
      'NOT_FOUND',
      `The model is not one this gateway can route to: use "${AUTO_MODEL}" (the workspace's preferences), "<provider label or id>/<model>", or a model one of your providers offers (GET /v1/models lists them)`,
      { field: 'model' },
    );
  }
}

export function isModelNotFound(error: unknown): boolean {
  return error instanceof ModelNotFound;
}

export async function resolveDoorModel(deps: DoorModelDeps, viewer: Viewer, name: string, purpose: Purpose): Promise<ModelChoice> {
  modelName(name, 'model');
  if (name === AUTO_MODEL) return { allowFallback: true };
  const providers = await routeOrder(deps, viewer, purpose);
  const named = namedProvider(providers, name);
  if (named) return { providerId: named.provider.id, model: named.model, allowFallback: false };
  const offering = providers.find((provider) => usable(provider, purpose) && offers(deps.catalog, provider, name, purpose));
  if (offering) return { providerId: offering.id, model: name, allowFallback: true };
  throw new ModelNotFound();
}

/** The viewer's providers: the preferences' route first, then the others by priority. */
async function routeOrder(deps: DoorModelDeps, viewer: Viewer, purpose: Purpose): Promise<Provider[]> {
  const config = await deps.routes.config(viewer.workspaceId);
  const route = deps.routes.plan(viewer, { allowFallback: true, needs: purpose === 'embeddings' ? ['embeddings'] : [] }, config).map((candidate) => candidate.provider);
  const rest = config.providers
    .filter((provider) => canSee(viewer, provider) && !route.includes(provider))
    .sort((a, b) => a.priority - b.priority || a.createdAt.getTime() - b.createdAt.getTime());
  return [...route, ...rest];
}

function usable(provider: Provider, purpose: Purpose): boolean {
  return provider.status !== 'INVALID' && provider.status !== 'DISABLED' && (purpose === 'chat' || KINDS[provider.kind].embeds);
}

/** Models listed per provider (OpenRouter's catalog alone holds hundreds), and in all. */
const MODELS_PER_PROVIDER = 100;
const MAX_MODELS = 1000;

/** What a door lists as routable: `auto`, then `<provider>/<model>` for each usable provider's default and catalog models (those an API key allows), in route order. */
export async function routableModels(deps: DoorModelDeps, viewer: Viewer): Promise<Array<{ id: string; ownedBy: string }>> {
  const listed = [{ id: AUTO_MODEL, ownedBy: 'gateway' }];
  for (const provider of await routeOrder(deps, viewer, 'chat')) {
    if (!usable(provider, 'chat')) continue;
    const catalogModels = deps.catalog.list({ kind: provider.kind, first: MODELS_PER_PROVIDER }).edges.map((edge) => edge.node.model);
    const models = new Set([provider.defaultModel ?? KINDS[provider.kind].defaultModel, ...catalogModels]);
    const allowed = viewer.apiKey?.allowedModels ?? [];
    for (const model of models)
      if (allowed.length === 0 || allowed.includes(model)) listed.push({ id: `${providerName(provider)}/${model}`, ownedBy: KINDS[provider.kind].displayName });
    if (listed.length >= MAX_MODELS) break;
  }
  return listed.slice(0, MAX_MODELS);
}

/** One model of `routableModels` by its id (GET /v1/models/{id}); model_not_found for any other. */
export async function routableModel(deps: DoorModelDeps, viewer: Viewer, id: string): Promise<{ id: string; ownedBy: string }> {
  return (await routableModels(deps, viewer)).find((model) => model.id === id) ?? throwModelNotFound();
}

function throwModelNotFound(): never {
  throw new ModelNotFound();
}

/** How a provider is named in `<provider>/<model>`: its label when the label is a model-name-safe word, else its id. */
function providerName(provider: Provider): string {
  return /^[\x21-\x7e]{1,64}$/.test(provider.label) ? provider.label : provider.id;
}

function namedProvider(providers: Provider[], name: string): { provider: Provider; model: string } | undefined {
  const byLabel = providers
    .filter((provider) => name.startsWith(`${provider.label}/`) && name.length > provider.label.length + 1)
    .sort((a, b) => b.label.length - a.label.length)[0];
  if (byLabel) return { provider: byLabel, model: name.slice(byLabel.label.length + 1) };
  const slash = name.indexOf('/');
  const byId = slash > 0 && slash < name.length - 1 ? providers.find((provider) => provider.id === name.slice(0, slash)) : undefined;
  return byId && { provider: byId, model: name.slice(slash + 1) };
}

/** The models a provider is known to offer, by name: its defaults, or the catalog's list for its kind. */
function offers(catalog: DoorModelDeps['catalog'], provider: Provider, model: string, purpose: Purpose): boolean {
  const spec = KINDS[provider.kind];
  if (purpose === 'embeddings') return model === spec.defaultEmbeddingModel || (catalog.capabilities(provider.kind, model)?.includes('embeddings') ?? false);
  return model === (provider.defaultModel ?? spec.defaultModel) || catalog.has(provider.kind, model);
}
