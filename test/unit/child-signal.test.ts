import { describe, expect, it } from 'vitest';
import { childSignal } from '../../src/child-signal.js';

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('childSignal', () => {
  it("follows its parent's abort, with the parent's reason", () => {
    const parent = new AbortController();
    const child = childSignal(parent.signal);
    const reason = new Error('left');
    parent.abort(reason);
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe(reason);
    expect(child.timedOut).toBe(false);
  });

  it('starts aborted under an aborted parent', () => {
    const parent = new AbortController();
    parent.abort('gone');
    expect(childSignal(parent.signal).signal.reason).toBe('gone');
  });

  it('aborts alone, leaving the parent untouched', () => {
    const parent = new AbortController();
    const child = childSignal(parent.signal);
    child.abort('mine');
    expect(child.signal.reason).toBe('mine');
    expect(parent.signal.aborted).toBe(false);
  });

  it('aborts with a TimeoutError at its deadline, which can be moved or cleared', async () => {
    const child = childSignal(new AbortController().signal);
    child.deadline(20, 'stream');
    child.deadline(null, 'stream');
    await later(40);
    expect(child.signal.aborted).toBe(false);
    child.deadline(10, 'stream');
    await later(40);
    expect(child.timedOut).toBe(true);
    expect(child.signal.reason).toMatchObject({ name: 'TimeoutError', message: 'stream timed out after 10 ms' });
  });

  it('once released, neither follows its parent nor times out', async () => {
    const parent = new AbortController();
    const child = childSignal(parent.signal);
    child.deadline(10, 'call');
    child.release();
    parent.abort('late');
    await later(30);
    expect(child.signal.aborted).toBe(false);
    expect(child.timedOut).toBe(false);
  });
});
