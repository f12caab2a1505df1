// The gateway serves the built console at /console/: its files with headers that
// keep the page to its own origin, and nothing else.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConsole } from '../../src/console/serve.js';
import { disposeAll, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
beforeAll(async () => {
  gw = await startTestServer();
});
afterAll(disposeAll);

describe('/console', () => {
  it('redirects /console to /console/ and serves the page with a strict content security policy', async () => {
    const redirect = await fetch(`${gw.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');

    const page = await fetch(`${gw.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    expect(html).toContain('<link rel="icon" href="favicon.svg" type="image/svg+xml" />');

    const script = await fetch(`${gw.url}/console/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    const head = await fetch(`${gw.url}/console/console.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    const icon = await fetch(`${gw.url}/console/favicon.svg`);
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    expect(await icon.text()).toMatch(/^<svg /);
  });

  it('is not served when CONSOLE_ENABLED=false', async () => {
    const without = await startTestServer({ CONSOLE_ENABLED: 'false' });
    for (const file of ['/console/', '/console/app.js']) expect((await fetch(`${without.url}${file}`)).status, file).toBe(404);
    expect((await fetch(`${without.url}/health`)).status).toBe(200);
  });

  it.each([
    ['/console/../package.json', 404],
    ['/console/%2e%2e%2fpackage.json', 404],
    ['/console/generated/gql.js', 404],
    ['/console/missing.js', 404],
    ['/console/app.ts', 404],
    ['/console/.env', 404],
  ])('answers %s with %i and no file from outside the build', async (url, status) => {
    // node:http sends the path as written (fetch would resolve the dots first).
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(gw.url);
      request({ hostname, port, path: url }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
    expect(response).toEqual({ status, body: 'Not found' });
  });

  it('answers other methods with 405', async () => {
    const response = await fetch(`${gw.url}/console/`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('says how to build the console when it has not been built', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'console-unbuilt-'));
    const server = createServer((req, res) => void serveConsole(req, res, empty));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain('npm run console:build');
    } finally {
      server.close();
      await rm(empty, { recursive: true });
    }
  });
});
