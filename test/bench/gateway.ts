// The gateway as benchmarks run it: a bundle started as `npm start` runs it,
// with a workspace of its own whose one provider is the simulator, its owner's
// JWT, a gateway API key (what an agent holds) and a graphql-ws client.
// Uses DATABASE_URL when set (inherited), else an embedded database.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/dev-token.js';
import { START_V8_FLAGS } from '../testkit/start-flags.js';
import type { Timing } from './measure.js';
import { type Child, startChild } from './processes.js';

export interface BenchGateway {
  process: Child;
  workspaceId: string;
  /** The workspace owner's JWT. */
  token: string;
  /** A SERVICE gateway API key of the workspace. */
  apiKey: string;
  /** A GraphQL call over HTTP as the owner; GraphQL errors throw. */
  graphql(query: string, variables?: unknown): Promise<unknown>;
  /** A `chatStream` subscription over graphql-ws, timed to its first TEXT or TOOL_CALL chunk. */
  stream(query: string, input: unknown): Promise<Timing>;
  stop(): Promise<void>;
}

/** Starts `bundle` (dist/server/main.js as `npm run build` writes it, or another checkout's) with a provider at `openAiBaseUrl`. */
export async function startBenchGateway(bundle: string, openAiBaseUrl: string): Promise<BenchGateway> {
  const jwtSecret = randomBytes(32).toString('base64url');
  const child = await startChild(
    bundle,
    [],
    {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'bench-gateway-')),
      MIGRATE_ON_START: 'true',
      JWT_SECRET: jwtSecret,
      ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8',
      LOG_LEVEL: 'info',
      // BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of the gateway process.
      PROFILE_DIR: process.env.BENCH_PROFILE_DIR,
    },
    /"url":"(http:\/\/[^"]+)\/graphql"/,
    // The V8 flags `npm start` gives the gateway (startChild adds source maps where the bundle has them).
    START_V8_FLAGS,
  );
  const workspaceId = `bench-${randomUUID()}`;
  const token = await signToken({ secret: jwtSecret }, { workspace: workspaceId, user: `bench-${randomUUID()}`, role: 'owner' });
  const graphql = async (query: string, variables?: unknown) => {
    const response = await fetch(`${child.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  await graphql('mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', {
    input: { kind: 'OPENAI', apiKey: 'sk-bench-0123456789abcdef', baseUrl: openAiBaseUrl },
  });
  const { createApiKey } = (await graphql('mutation { createApiKey(input: { name: "bench", principal: SERVICE }) { secret } }')) as {
    createApiKey: { secret: string };
  };
  const ws = createClient({
    url: `${child.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
  });
  return {
    process: child,
    workspaceId,
    token,
    apiKey: createApiKey.secret,
    graphql,
    stream: async (query, input) => {
      const started = performance.now();
      let firstChunkMs: number | undefined;
      for await (const result of ws.iterate({ query, variables: { input } })) {
        const chunk = (result.data as { chatStream: { type: string } }).chatStream;
        if (chunk.type === 'TEXT' || chunk.type === 'TOOL_CALL') firstChunkMs ??= performance.now() - started;
        if (chunk.type === 'ERROR') throw new Error(JSON.stringify(chunk));
      }
      return { totalMs: performance.now() - started, firstChunkMs };
    },
    stop: async () => {
      await ws.dispose();
      await child.stop();
    },
  };
}
