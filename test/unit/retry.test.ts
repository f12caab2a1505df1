import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { nextStep, retryDelayMs, sleep } from '../../src/modules/chat/retry.js';
import { ProviderCallError } from '../../src/modules/providers/adapters/adapter.js';

const policy = { maxRetries: 3, baseDelayMs: 250, maxDelayMs: 8_000 };

describe('retryDelayMs', () => {
  it('grows exponentially under full jitter', () => {
    expect([0, 1, 2, 3].map((attempt) => retryDelayMs(policy, attempt, undefined, () => 1))).toEqual([250, 500, 1000, 2000]);
    expect(retryDelayMs(policy, 2, undefined, () => 0.5)).toBe(500);
    expect(retryDelayMs(policy, 0, undefined, () => 0)).toBe(0);
  });

  it('never waits less than retry-after, nor more than the cap', () => {
    expect(retryDelayMs(policy, 0, 3_000, () => 1)).toBe(3_000);
    expect(retryDelayMs(policy, 0, 60_000, () => 1)).toBe(8_000);
    expect(retryDelayMs(policy, 10, undefined, () => 1)).toBe(8_000);
  });
});

describe('nextStep after a failed attempt', () => {
  const busy = new ProviderCallError('PROVIDER_UNAVAILABLE', 'busy', 503, true, 1_000);
  it.each([
    ['a retryable failure before any text: the same candidate again', busy, false, 0, { type: 'retry', delayMs: 1_000 }],
    ['a retryable failure after any text: reported (the caller saw part of an answer)', busy, true, 0, { type: 'report' }],
    ['retries used up: the next candidate', busy, false, 3, { type: 'next-candidate' }],
    ['a refused key: the next candidate', new ProviderCallError('INVALID_CREDENTIALS', 'no', 401, false), false, 0, { type: 'next-candidate' }],
    ['a provider removed mid-call: reported', new AppError('PROVIDER_REMOVED', 'gone'), false, 0, { type: 'report' }],
    ['a failure of ours: the next candidate', new AppError('INTERNAL', 'bug'), false, 0, { type: 'next-candidate' }],
  ] as const)('%s', (_what, failure, answered, retriesDone, expected) => {
    expect(nextStep(failure, answered, retriesDone, { ...policy, maxDelayMs: 1_000 })).toEqual(expected);
  });
});

describe('sleep', () => {
  it('ends early with the abort reason', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(5_000, controller.signal);
    controller.abort(new Error('client left'));
    await expect(slept).rejects.toThrow('client left');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
