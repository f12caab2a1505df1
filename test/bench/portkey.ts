// Portkey's open-source gateway (`@portkey-ai/gateway`), the peer `bench:peers`
// compares with: installed once, at a pinned version, into a cache outside the
// repository (BENCH_PORTKEY_DIR, default ~/.cache/gateway-bench/portkey-<version>),
// and started as its package's bin starts it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { type Child, freePort, startChild } from './processes.js';

export const PORTKEY_VERSION = '1.15.2';
// Portkey 1.15.2 streams only with the hono versions of its own lockfile: with newer ones (what its ^ ranges
// resolve to today) every streamed request fails with `TypeError: immutable`.
const PINNED = { hono: '4.9.7', '@hono/node-server': '1.13.5' };

const directory = process.env.BENCH_PORTKEY_DIR ?? path.join(homedir(), '.cache', 'gateway-bench', `portkey-${PORTKEY_VERSION}`);
const packageDir = path.join(directory, 'node_modules', '@portkey-ai', 'gateway');

const installedVersion = (dir: string) => {
  const manifest = path.join(dir, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
};

/** Installs the pinned Portkey (with its pinned hono) unless the cache holds it already; the npm registry is needed the first time. */
export function installPortkey(): void {
  const installed =
    installedVersion(packageDir) === PORTKEY_VERSION && Object.entries(PINNED).every(([name, version]) => installedVersion(path.join(directory, 'node_modules', name)) === version);
  if (installed) return void console.log(`Portkey ${PORTKEY_VERSION}: installed in ${directory}`);
  console.log(
    `Portkey ${PORTKEY_VERSION}: installing @portkey-ai/gateway@${PORTKEY_VERSION} with ${Object.entries(PINNED)
      .map(([name, version]) => `${name} ${version}`)
      .join(' and ')} (npm overrides) into ${directory} ...`,
  );
  mkdirSync(directory, { recursive: true });
  const manifest = { name: 'gateway-bench-portkey', private: true, dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION }, overrides: PINNED };
  writeFileSync(path.join(directory, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Its only install script is patch-package, and the published package ships no patches.
  const npm = spawnSync('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: directory, stdio: 'inherit' });
  if (npm.status !== 0) throw new Error(`npm install of Portkey ${PORTKEY_VERSION} in ${directory} failed (exit ${npm.status}); it needs the npm registry the first time`);
}

/**
 * Starts Portkey as its bin does (`build/start-server.js`), in production mode and headless (no console UI, no log
 * stream). It takes a port only as `--port=N` and announces localhost, so it is given a free one.
 */
export async function startPortkey(): Promise<Child> {
  const port = await freePort();
  const child = await startChild(
    path.join(packageDir, 'build', 'start-server.js'),
    [`--port=${port}`, '--headless'],
    // Its upstream calls would go through a proxy named in the environment.
    { NODE_ENV: 'production', HTTP_PROXY: undefined, HTTPS_PROXY: undefined },
    /(http:\/\/localhost:\d+)[\s\S]*Ready for connections/,
  );
  return { ...child, url: `http://127.0.0.1:${port}` };
}

/** The headers that make Portkey forward an OpenAI request to `baseUrl` (its `x-portkey-custom-host`) with `apiKey`. */
export function portkeyHeaders(baseUrl: string, apiKey: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': baseUrl, authorization: `Bearer ${apiKey}` };
}
