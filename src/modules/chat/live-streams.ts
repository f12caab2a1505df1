// The calls in flight on this instance, by provider, so that deleting or
// disabling a provider can end them (on every instance: the provider service
// announces the removal over pub/sub and each instance ends its own).
import { type AbortRegistry, createAbortRegistry } from '../../abort-registry.js';

export class ProviderRemoved extends Error {
  override name = 'ProviderRemoved';
}

export const createLiveStreams = () => createAbortRegistry(() => new ProviderRemoved('The provider was deleted or disabled'));

export type LiveStreams = AbortRegistry;
