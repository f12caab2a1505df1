// The app on an ephemeral port against a fresh database, with clients for every
// transport. Every server and client goes on a leftovers list that disposeAll() empties.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type ExecutionResult, print } from 'graphql';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { type ClientOptions, createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../../src/app.js';
import { signToken } from '../../src/auth/dev-token.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Database, type DatabaseOptions, databaseSource, openDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPubSubBus, type PubSubBus } from '../../src/pubsub/pubsub.js';
import { type Simulator, startSimulator as startSimulatorServer } from '../../src/simulator/simulator.js';

export const TEST_JWT = {
  secret: 'test-jwt-secret-that-is-at-least-32-bytes-long',
  issuer: 'https://issuer.test',
  audience: 'byok-gateway-test',
};
export const TEST_ENCRYPTION_KEYS = `test1:${Buffer.alloc(32, 7).toString('base64')}`;

const leftovers: Array<() => Promise<unknown> | unknown> = [];

/** Disposes everything the kit created, newest first. Call it in afterAll. */
export async function disposeAll(): Promise<void> {
  while (leftovers.length > 0) await leftovers.pop()!();
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: path.join(tmpdir(), 'gateway-test-data'),
    JWT_SECRET: TEST_JWT.secret,
    JWT_ISSUER: TEST_JWT.issuer,
    JWT_AUDIENCE: TEST_JWT.audience,
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    SHUTDOWN_TIMEOUT_MS: '2000',
    // The simulator runs on loopback; tests of the egress policy override this.
    PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
    PROVIDER_TIMEOUT_MS: '3000',
    // Tests share one Postgres in CI's second phase and move their clocks: the sweeper and the budget forecasts
    // (which read every workspace's budgets) run only when a test asks.
    SWEEP_INTERVAL_MS: '86400000',
    BUDGET_FORECAST_INTERVAL_MS: '86400000',
    // On that shared Postgres any server's delivery job may send another test's alert (one runs at a time across
    // them): every server retries alike, soon, and as often.
    ALERT_DELIVERY_BACKOFF_MS: '100',
    ALERT_DELIVERY_ATTEMPTS: '3',
    ...env,
  });
}

/** A fresh, migrated database: a PGlite copy of the run's template, or the run's Postgres. */
export async function openTestDatabase(config: Config, options: DatabaseOptions = {}): Promise<Database> {
  if (config.databaseUrl) return openDatabase(databaseSource(config), options);
  const template = await readFile(inject('pgliteTemplate'));
  return openDatabase({ kind: 'pglite', instance: await PGlite.create({ loadDataDir: new Blob([template]) }) }, options);
}

export interface Claims {
  workspace: string;
  user: string;
  role: 'owner' | 'admin' | 'member';
}

/** A workspace of this test's own, so tests never see each other's rows. */
export function newWorkspace(): { id: string; claims(role: Claims['role'], user?: string): Claims } {
  const id = `ws-${randomUUID().slice(0, 8)}`;
  return { id, claims: (role, user = `${role}-${randomUUID().slice(0, 6)}`) => ({ workspace: id, user, role }) };
}

/** A new workspace and its owner's token, on `server`. */
export async function newOwner(server: TestServer): Promise<{ workspace: ReturnType<typeof newWorkspace>; token: string }> {
  const workspace = newWorkspace();
  return { workspace, token: await server.token(workspace.claims('owner')) };
}

export interface TestServer {
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  app: App;
  db: Database;
  config: Config;
  /** Every log line the server wrote, for assertions (and for secret scans). */
  logs: string[];
  token(claims: Claims, ttl?: string | number): Promise<string>;
  execute<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables?: TVariables, options?: { token?: string }): Promise<ExecutionResult<TResult>>;
  ws(token?: string, options?: Partial<ClientOptions>): WsClient;
  sse(token?: string): SseClient;
  /**
   * Resolves when the next subscriber to a topic of this server's bus is listening (with Redis, once Redis has it):
   * ask before subscribing, await before publishing. graphql-ws acknowledges no subscribe.
   */
  nextSubscriber: PubSubBus['nextSubscriber'];
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Share a database with another test server (it stays open until disposeAll). */
  db?: Database;
  /** For the database the server opens: see StatementRecorder. */
  onStatement?: DatabaseOptions['onStatement'];
  clock?: () => Date;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const config = testConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const db = options.db ?? (await openTestDatabase(config, { onStatement: options.onStatement }));
  if (!options.db) leftovers.push(() => db.close());
  const bus = await createPubSubBus(config.redisUrl, logger);
  leftovers.push(() => bus.close());
  const app = buildApp({ config, db, bus, logger, clock: options.clock });
  const { url } = await app.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  leftovers.push(stop);

  const graphqlUrl = `${url}/graphql`;
  return {
    url,
    graphqlUrl,
    wsUrl: graphqlUrl.replace(/^http/, 'ws'),
    app,
    db,
    config,
    logs,
    token: (claims, ttl) => signToken(config.jwt, claims, ttl),
    async execute(document, variables, options = {}) {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: JSON.stringify({ query: print(document), variables }),
      });
      return (await response.json()) as never;
    },
    ws(token, options = {}) {
      const client = createWsClient({
        url: graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        ...options,
      });
      leftovers.push(() => client.dispose());
      return client;
    },
    sse(token) {
      const client = createSseClient({
        url: graphqlUrl,
        retryAttempts: 0,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      leftovers.push(() => client.dispose());
      return client;
    },
    nextSubscriber: bus.nextSubscriber,
    stop,
  };
}

/** The provider simulator on an ephemeral loopback port, stopped by disposeAll(). */
export async function startSimulator(): Promise<Simulator> {
  const simulator = await startSimulatorServer(0);
  leftovers.push(() => simulator.stop());
  return simulator;
}

/** Fails when `text` holds `secret` or any 8-character piece of it. */
export function expectNoSecret(text: string, secret: string): void {
  for (let i = 0; i + 8 <= secret.length; i++) {
    const piece = secret.slice(i, i + 8);
    if (text.includes(piece)) throw new Error(`secret piece "${piece.slice(0, 2)}…" (offset ${i}) found in output`);
  }
}

/** Polls until `probe` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
