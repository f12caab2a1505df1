// Base URL safety through the running server. No test here connects to a
// private address: each vector must be refused before any connection is made.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddProvider } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

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
    const result = await allowing.execute(AddProvider, { input: { kind: 'OLLAMA', apiKey: '', baseUrl: sim.baseUrls.openai } }, { token: await allowing.token(newWorkspace().claims('owner')) });
    expect(result.errors).toBeUndefined();
    expect(result.data?.addProvider).toMatchObject({ kind: 'OLLAMA', maskedKey: '••••' });
  });

  it('an allowed host name lets its URL through', async () => {
    const allowing = await startTestServer({ PROVIDER_ALLOWED_HOSTS: 'localhost' });
    const base = sim.baseUrls.openai.replace('127.0.0.1', 'localhost');
    const result = await allowing.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: `sk-host-${randomUUID()}`, baseUrl: base } }, { token: await allowing.token(newWorkspace().claims('owner')) });
    expect(result.errors).toBeUndefined();
  });
});

describe('redirects', () => {
  it('a redirect to a private address is refused and the key goes nowhere else', async () => {
    const allowing = await startTestServer({ PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8' });
    const apiKey = `sk-redirect-${randomUUID()}#redirect=http://169.254.169.254/latest/meta-data/`;
    const result = await allowing.execute(AddProvider, { input: { kind: 'OPENAI', apiKey, baseUrl: sim.baseUrls.openai } }, { token: await allowing.token(newWorkspace().claims('owner')) });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseUrl' });
    expect(result.errors?.[0].message).toContain('redirected to another origin');
    expect(sim.requests.filter((r) => r.key === apiKey).map((r) => r.path)).toEqual(['/openai/v1/models']);
  });
});
