// A signal that follows another and can also be aborted on its own: what
// AbortSignal.any([parent, controller.signal]) gives, without a second signal
// and the weak references `any` keeps for each (on the chat path every call
// made five of them; this is one controller and one listener). `release()`
// removes the listener: call it when the work under the signal is over.

export interface ChildSignal {
  signal: AbortSignal;
  /** Aborts the child only (the parent is untouched). */
  abort(reason: unknown): void;
  release(): void;
}

export function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    release: () => parent.removeEventListener('abort', follow),
  };
}
