import { describe, expect, it } from 'vitest';
import { retryDelayMs, sleep } from '../../src/modules/chat/retry.js';

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
