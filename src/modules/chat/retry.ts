// After a failed attempt: report the failure, try the next candidate, or try
// the same one again (and how long to wait first).
import type { AppError } from '../../errors.js';
import { ProviderCallError } from '../providers/adapters/adapter.js';

export interface RetryPolicy {
  /** Retries after the first attempt (so maxRetries + 1 attempts per candidate). */
  maxRetries: number;
  baseDelayMs: number;
  /** Ceiling for backoff and for an upstream's retry-after. */
  maxDelayMs: number;
}

export type NextStep = { type: 'report' } | { type: 'next-candidate' } | { type: 'retry'; delayMs: number };

/** `retriesDone` counts the retries of this candidate so far; `answered`: the caller has seen part of the answer. */
export function nextStep(failure: AppError, answered: boolean, retriesDone: number, policy: RetryPolicy): NextStep {
  // After the first token there is no retry and no fallback: the client has seen part of an answer.
  if (failure.code === 'PROVIDER_REMOVED' || answered) return { type: 'report' };
  // Anything not worth repeating (a refused key among them: health.afterCall left that provider INVALID), or retries used up: the next candidate may answer.
  if (!(failure instanceof ProviderCallError && failure.retryable) || retriesDone >= policy.maxRetries) return { type: 'next-candidate' };
  return { type: 'retry', delayMs: retryDelayMs(policy, retriesDone, failure.retryAfterMs) };
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
