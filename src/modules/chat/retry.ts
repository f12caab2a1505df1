// When to try an upstream call again, and how long to wait first.

export interface RetryPolicy {
  /** Retries after the first attempt (so maxRetries + 1 attempts per candidate). */
  maxRetries: number;
  baseDelayMs: number;
  /** Ceiling for backoff and for an upstream's retry-after. */
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter (a random wait up to base·2^attempt),
 * but never sooner than the provider's retry-after, and never longer than the cap.
 * `attempt` counts from 0 for the first retry.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) * random();
  return Math.min(policy.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
