// What a compatible door's `model` names (placeholder until the model rule of
// issue 20 item 5 lands with the OpenAI door): `auto` routes by preferences;
// `<provider id>/<model>` names a provider; any other name is a model on the route.
import { isUuid } from '../ids.js';
import type { ChatRequest } from '../modules/chat/canonical.js';

export function routeOfModel(model: string): Pick<ChatRequest, 'providerId' | 'model' | 'allowFallback'> {
  if (model === 'auto') return { allowFallback: true };
  const slash = model.indexOf('/');
  const providerId = slash > 0 ? model.slice(0, slash) : '';
  // A named provider is the only one tried: fallback follows the workspace's preferences only when none is named.
  if (isUuid(providerId)) return { providerId, model: model.slice(slash + 1), allowFallback: false };
  return { model, allowFallback: true };
}
