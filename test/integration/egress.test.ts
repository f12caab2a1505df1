// Base URL safety through the running server. No test here connects to a
// private address: each vector must be refused before any connection is made.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { MODELS, PROTOCOL_BASES, streamOverWs, userMessage } from '../testkit/chat.js';
import { AddProvider, Chat, TestProvider } from '../testkit/documents.js';
import { disposeAll, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

type Kind = keyof typeof PROTOCOL_BASES;

let strict: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [strict, sim] = await Promise.all([startTestServer({ PROVIDER_ALLOWED_CIDRS: '', CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const VECTORS = [
  'http://127.0.0.1:4010/openai/v1',
  'http://2130706433/v1',
  'http://0x7f000001/v1',
  'http://0177.0.0.1/v1',
  'http://127.1/v1',
  'http://[::1]/v1',
  'http://[::ffff:127.0.0.1]/v1',
  'http://[::ffff:7f00:1]/v1',
  'http://[::ffff:0:127.0.0.1]/v1', // IPv4-translated
  'http://169.254.169.254/latest/meta-data/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://0.0.0.0/v1',
  'http://10.0.0.1/v1',
  'http://172.16.0.1/v1',
  'http://192.168.1.1/v1',
  'http://100.64.0.1/v1',
  'http://[fd00::1]/v1',
  'http://[fe80::1]/v1',
  'http://[64:ff9b::a9fe:a9fe]/v1',
  'http://localhost:11434/v1',
  'file:///etc/passwd',
  'gopher://example.com/',
  'http://user:pass@example.com/v1',
];

describe('base URLs refused by default', () => {
  it.each(VECTORS)('%s → BAD_USER_INPUT on baseUrl, nothing stored, nothing sent', async (baseUrl) => {
    const workspace = newWorkspace();
    const apiKey = `sk-egress-${randomUUID()}`;
    const result = await strict.execute(AddProvider, { input: { kind: 'OPENAI_COMPATIBLE', apiKey, baseUrl } }, { token: await strict.token(workspace.claims('owner')) });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseUrl' });
    expect(await strict.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(0);
    expect(sim.requests.filter((r) => r.key === apiKey)).toEqual([]);
  });

  it("refuses Ollama's default loopback URL unless the operator allows it", async () => {
    const result = await strict.execute(AddProvider, { input: { kind: 'OLLAMA', apiKey: '' } }, { token: await strict.token(newWorkspace().claims('owner')) });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseUrl' });
  });
});

describe('operator allowances', () => {
  it('an allowed CIDR lets a private Ollama-style endpoint through', async () => {
    const allowing = await startTestServer({ PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8' });
    const result = await allowing.execute(
      AddProvider,
      { input: { kind: 'OLLAMA', apiKey: '', baseUrl: sim.baseUrls.openai } },
      { token: await allowing.token(newWorkspace().claims('owner')) },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.addProvider).toMatchObject({ kind: 'OLLAMA', maskedKey: '••••' });
  });

  it('an allowed host name lets its URL through', async () => {
    const allowing = await startTestServer({ PROVIDER_ALLOWED_HOSTS: 'localhost' });
    const base = sim.baseUrls.openai.replace('127.0.0.1', 'localhost');
    const result = await allowing.execute(
      AddProvider,
      { input: { kind: 'OPENAI', apiKey: `sk-host-${randomUUID()}`, baseUrl: base } },
      { token: await allowing.token(newWorkspace().claims('owner')) },
    );
    expect(result.errors).toBeUndefined();
  });
});

describe('redirects', () => {
  // Production-like: loopback is refused, only the simulator's host name is allowed. A second simulator on
  // loopback stands for what an attacker points a redirect at (a metadata service, an internal admin API).
  let guarded: TestServer;
  let trap: Simulator;
  beforeAll(async () => {
    [guarded, trap] = await Promise.all([
      startTestServer({ PROVIDER_ALLOWED_CIDRS: '', PROVIDER_ALLOWED_HOSTS: 'localhost', CREDENTIAL_CHANGES_PER_HOUR: '1000' }),
      startSimulator(),
    ]);
  });

  const byName = (url: string) => url.replace('127.0.0.1', 'localhost');
  const TARGETS = {
    'a loopback address': (kind: Kind) => PROTOCOL_BASES[kind](trap),
    'another origin the operator allows': (kind: Kind) => byName(PROTOCOL_BASES[kind](trap)),
    'the same origin': (kind: Kind) => byName(PROTOCOL_BASES[kind](sim)),
  };

  /** Each call a provider's base URL answers (key validation when added or tested, chat whole or streamed), and how it failed. */
  const CALLS: Record<string, (token: string, kind: Kind, apiKey: string) => Promise<{ code?: unknown; message?: unknown }>> = {
    addProvider: async (token, kind, apiKey) => {
      const result = await guarded.execute(AddProvider, { input: { kind, apiKey, baseUrl: byName(PROTOCOL_BASES[kind](sim)) } }, { token });
      return { code: result.errors?.[0].extensions?.code, message: result.errors?.[0].message };
    },
    testProvider: async (token, kind, apiKey) => {
      const id = await addUnvalidated(token, kind, apiKey);
      const { data } = await guarded.execute(TestProvider, { id }, { token });
      return { code: data?.testProvider.errorCode, message: data?.testProvider.message };
    },
    chat: async (token, kind, apiKey) => {
      await addUnvalidated(token, kind, apiKey);
      const result = await guarded.execute(Chat, { input: { messages: userMessage(), model: MODELS[kind] } }, { token });
      return { code: result.errors?.[0].extensions?.code, message: result.errors?.[0].message };
    },
    chatStream: async (token, kind, apiKey) => {
      await addUnvalidated(token, kind, apiKey);
      const { chunks } = await streamOverWs(guarded, token, { messages: userMessage(), model: MODELS[kind] });
      return { code: chunks.at(-1)?.errorCode, message: chunks.at(-1)?.message };
    },
  };

  async function addUnvalidated(token: string, kind: Kind, apiKey: string): Promise<string> {
    const result = await guarded.execute(AddProvider, { input: { kind, apiKey, baseUrl: byName(PROTOCOL_BASES[kind](sim)), skipValidation: true } }, { token });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!.addProvider.id;
  }

  const cases = (Object.keys(PROTOCOL_BASES) as Kind[]).flatMap((kind) =>
    (Object.keys(TARGETS) as Array<keyof typeof TARGETS>).flatMap((target) => Object.keys(CALLS).map((call) => [kind, call, target] as const)),
  );

  it.each(cases)('%s %s, base URL redirecting to %s: refused, and the target receives nothing', async (kind, call, target) => {
    const { token } = await newOwner(guarded);
    const targetPath = `/captured-${randomUUID()}`;
    const apiKey = `sk-redirect-${randomUUID()}#redirect=${encodeURIComponent(TARGETS[target](kind) + targetPath)}`;
    const failure = await CALLS[call](token, kind, apiKey);
    const atTarget = [...sim.requests, ...trap.requests].filter((r) => r.path.endsWith(targetPath));
    expect(atTarget.map((r) => `${r.method} ${r.path} with ${r.key ? 'the key' : 'no key'}`)).toEqual([]);
    expect(failure).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/redirect/i) });
  });
});
