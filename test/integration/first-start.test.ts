// The product's first five minutes, exactly as a new user meets them: the real entry point (what
// `npm start` runs) on an empty data directory, so the database is created and migrated by this very
// process, not copied from the suite's pre-migrated template. Then a key is added, tested, refused and
// restored, which moves the provider through the health states (enum-array parameters included).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listening, mintDevToken, spawnGateway } from '../testkit/process.js';
import { disposeAll, startSimulator } from '../testkit/server.js';

const dirs: string[] = [];
afterAll(async () => {
  await disposeAll();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the first start on an empty data directory', () => {
  it('adds a key, tests it, and moves it to INVALID and back with alerts, before any restart', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gateway-first-'));
    dirs.push(dataDir);
    const simulator = await startSimulator();
    const gateway = spawnGateway({ DATA_DIR: dataDir });
    const { url } = await listening(gateway);
    expect(gateway.transcript).toContain('applied');
    const token = mintDevToken(dataDir);
    const graphql = async <Data>(query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: Data; errors?: { extensions?: { code?: string } }[] };
    };

    const added = await graphql<{ addProvider: { id: string } }>('mutation($input: AddProviderInput!) { addProvider(input: $input) { id health { status } } }', {
      input: { kind: 'OPENAI', apiKey: 'sk-first-start-0123456789', baseUrl: simulator.baseUrls.openai },
    });
    expect(added.errors).toBeUndefined();
    const providerId = added.data!.addProvider.id;
    const test = 'mutation($id: ID!) { testProvider(id: $id) { ok errorCode } }';
    const status = async () =>
      (await graphql<{ provider: { health: { status: string } } }>('query($id: ID!) { provider(id: $id) { health { status } } }', { id: providerId })).data!.provider.health.status;

    expect(await graphql(test, { id: providerId })).toEqual({ data: { testProvider: { ok: true, errorCode: null } } });

    simulator.setOutage('openai', 401);
    expect(await graphql(test, { id: providerId })).toEqual({ data: { testProvider: { ok: false, errorCode: 'INVALID_CREDENTIALS' } } });
    expect(await status()).toBe('INVALID');

    simulator.setOutage('openai');
    expect(await graphql(test, { id: providerId })).toMatchObject({ data: { testProvider: { ok: true } } });
    expect(await status()).toBe('ACTIVE');

    const alerts = await graphql<{ alerts: { edges: { node: { kind: string } }[] } }>('{ alerts { edges { node { kind } } } }');
    expect(alerts.data!.alerts.edges.map((edge) => edge.node.kind).sort()).toEqual(['PROVIDER_INVALID', 'PROVIDER_RECOVERED']);
    expect(gateway.transcript).not.toContain('malformed array literal');
    expect(gateway.transcript).not.toMatch(/"level":(50|60)/);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });
});
