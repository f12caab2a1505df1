// Work in flight on this instance, by the id of something it depends on (a provider, a gateway API key), so
// that news of that thing (heard from any instance over the bus) ends all of it at once, without polling.

export function createAbortRegistry(reason: () => unknown) {
  const byId = new Map<string, Set<Pick<AbortController, 'abort'>>>();
  return {
    /** Registers `controller` under `id`; the returned function unregisters it. */
    track(id: string, controller: Pick<AbortController, 'abort'>): () => void {
      let set = byId.get(id);
      if (!set) byId.set(id, (set = new Set()));
      set.add(controller);
      return () => {
        set.delete(controller);
        if (set.size === 0) byId.delete(id);
      };
    },
    endAll(id: string): void {
      for (const controller of byId.get(id) ?? []) controller.abort(reason());
    },
  };
}

export type AbortRegistry = ReturnType<typeof createAbortRegistry>;
