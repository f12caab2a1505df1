import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { listening, mintDevToken, spawnGateway } from '../testkit/process.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-proc-'));
  dirs.push(dir);
  return dir;
}

async function viewer(url: string, token: string): Promise<unknown> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { userId workspaceId role } }' }),
  });
  return response.json();
}

describe('the gateway process', () => {
  it('refuses bad configuration with one message naming every bad variable', async () => {
    const gateway = spawnGateway({ DATA_DIR: await tempDataDir(), PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://u:secret@h/db' });
    expect(await gateway.exited).toBe(1);
    const output = gateway.output.join('\n');
    expect(output).toContain('PORT: expected an integer');
    expect(output).toContain('LOG_LEVEL: expected one of');
    expect(output).toContain('DATABASE_URL: expected a postgres or postgresql URL');
    expect(output).not.toContain('secret');
  });

  it('refuses to start in production without JWT and encryption settings', async () => {
    const gateway = spawnGateway({ DATA_DIR: await tempDataDir(), NODE_ENV: 'production' });
    expect(await gateway.exited).toBe(1);
    const output = gateway.output.join('\n');
    expect(output).toContain('JWT_SECRET or JWKS_URL: required when NODE_ENV=production');
    expect(output).toContain('ENCRYPTION_KEYS: required when NODE_ENV=production');
  });

  // A first start on an empty data directory creates and migrates the database: seconds on a quiet machine, more on a busy one.
  it('keeps its data and development secrets across a restart of the embedded mode', { timeout: 120_000 }, async () => {
    const dataDir = await tempDataDir();
    const first = spawnGateway({ DATA_DIR: dataDir });
    const { url } = await listening(first);
    expect(first.output.join('\n')).toContain('Created development JWT secret');
    const token = mintDevToken(dataDir);
    expect(await viewer(url, token)).toEqual({ data: { viewer: { userId: 'alice', workspaceId: 'acme', role: 'OWNER' } } });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = spawnGateway({ DATA_DIR: dataDir });
    const restarted = await listening(second);
    expect(second.output.join('\n')).not.toContain('Created development JWT secret');
    expect(second.output.join('\n')).not.toContain('applied');
    // The token minted before the restart is still valid: the secret persisted.
    expect(await viewer(restarted.url, token)).toMatchObject({ data: { viewer: { userId: 'alice' } } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const pglite = await PGlite.create(path.join(dataDir, 'pgdata'));
    const { rows } = await pglite.query<{ id: string }>('SELECT id FROM workspaces');
    expect(rows).toEqual([{ id: 'acme' }]);
    await pglite.close();
  });

  it('completes open subscriptions and exits 0 within the bound on SIGTERM', { timeout: 120_000 }, async () => {
    const dataDir = await tempDataDir();
    const gateway = spawnGateway({ DATA_DIR: dataDir, SHUTDOWN_TIMEOUT_MS: '3000' });
    const { url } = await listening(gateway);
    const token = mintDevToken(dataDir);
    let closeCode: number | undefined;
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => (acknowledged = resolve));
    const client = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      // Not lazy: the client keeps the socket after `complete`, so the server's close is what we see.
      lazy: false,
      onNonLazyError: () => {},
      connectionParams: { authorization: `Bearer ${token}` },
      on: { connected: () => acknowledged(), closed: (event) => (closeCode = (event as { code: number }).code) },
    });
    const completed = new Promise<'complete' | 'error'>((resolve) => {
      client.subscribe({ query: 'subscription { usageTicks { providerId } }' }, { next: () => {}, error: () => resolve('error'), complete: () => resolve('complete') });
    });
    await ack;
    await new Promise((resolve) => setTimeout(resolve, 200));

    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    expect(await completed).toBe('complete');
    expect(await gateway.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(3_000);
    expect(closeCode).toBe(1001);
    await client.dispose();
  });
});
