// Many calls at once on one instance: every open request follows the server's shutdown signal, so that signal
// has one abort listener per call in flight. Node warns past 10 listeners on one signal
// (MaxListenersExceededWarning), which operators read as a leak; it is not one, and must not be printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, streamOverWs, userMessage } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(), startSimulator()]);
});
afterAll(disposeAll);

const AT_ONCE = 24;

describe('24 calls at once', () => {
  it('over GraphQL HTTP, graphql-ws and the OpenAI door: all answered, no process warning', async () => {
    const { token } = await newOwner(gw);
    // Answers held back so that every call is open at the same time.
    await addSimProvider(gw, sim, token, { script: 'delay=300' });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const http = Array.from({ length: AT_ONCE }, () => gw.execute(Chat, { input: { messages: userMessage() } }, { token }));
      const ws = Array.from({ length: AT_ONCE }, () => streamOverWs(gw, token, { messages: userMessage() }));
      const door = Array.from({ length: AT_ONCE }, () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there, simulator' }] }),
        }),
      );
      const [httpResults, wsResults, doorResults] = await Promise.all([Promise.all(http), Promise.all(ws), Promise.all(door)]);
      expect(httpResults.filter((result) => result.errors === undefined)).toHaveLength(AT_ONCE);
      expect(wsResults.filter((result) => result.errors === undefined)).toHaveLength(AT_ONCE);
      expect(doorResults.map((response) => response.status)).toEqual(Array(AT_ONCE).fill(200));
      // A warning is emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});
