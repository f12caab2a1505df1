// A signal that follows another and can also be aborted on its own, or by a
// deadline: what AbortSignal.any([parent, AbortSignal.timeout(ms)]) gives,
// without the extra signals and the weak references `any` keeps for each (on
// the chat path every call made five of them; this is one controller, one
// listener and one timer). `release()` removes the listener and clears the
// deadline: call it when the work under the signal is over.

export interface ChildSignal {
  signal: AbortSignal;
  /** Aborts the child only (the parent is untouched). */
  abort(reason: unknown): void;
  /** Aborts the child with a TimeoutError `ms` from now, replacing any earlier deadline; null clears it. */
  deadline(ms: number | null, what: string): void;
  /** True once the child was aborted by its deadline. */
  readonly timedOut: boolean;
  release(): void;
}

export function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    deadline(ms, what) {
      clearTimeout(timer);
      timer =
        ms === null
          ? undefined
          : setTimeout(() => {
              timedOut = !controller.signal.aborted;
              controller.abort(new DOMException(`${what} timed out after ${ms} ms`, 'TimeoutError'));
            }, ms);
    },
    get timedOut() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      parent.removeEventListener('abort', follow);
    },
  };
}
