// The calls in flight on this instance, by provider, so that deleting or
// disabling a provider can end them (on every instance: the provider service
// announces the removal over pub/sub and each instance ends its own).

export class ProviderRemoved extends Error {
  override name = 'ProviderRemoved';
}

export function createLiveStreams() {
  const byProvider = new Map<string, Set<Pick<AbortController, 'abort'>>>();
  return {
    /** Registers a call; the returned function unregisters it. */
    track(providerId: string, controller: Pick<AbortController, 'abort'>): () => void {
      let set = byProvider.get(providerId);
      if (!set) byProvider.set(providerId, (set = new Set()));
      set.add(controller);
      return () => {
        set.delete(controller);
        if (set.size === 0) byProvider.delete(providerId);
      };
    },
    endAll(providerId: string): void {
      for (const controller of byProvider.get(providerId) ?? []) controller.abort(new ProviderRemoved('The provider was deleted or disabled'));
    },
  };
}

export type LiveStreams = ReturnType<typeof createLiveStreams>;
