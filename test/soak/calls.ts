// `npm run soak:calls`: the gateway answering SOAK_RATE calls a second (default
// 200) for SOAK_SECONDS (default 600) — GraphQL chat and chatStream, the OpenAI
// door whole and streamed, every call metered — while its heap is read after a
// full GC every SOAK_SAMPLE_SECONDS (default 30). Reports the heap over time,
// the calls made and failed, their latency, and the ledger's rows; exits 1 when
// the heap at the end exceeds the heap after the first sample (the warm-up) by
// more than SOAK_MAX_GROWTH_MB (default 8), when a call failed, or when a row is
// left RESERVED. The gateway runs in this process (with --expose-gc); the
// simulator and the load each in a process of their own. DATABASE_URL/REDIS_URL
// as for the gateway; without DATABASE_URL an embedded database in a temporary directory.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { signToken } from '../../src/auth/dev-token.js';
import { startChild } from '../bench/processes.js';
import { mb, settledMemory, startSoakGateway } from './gateway.js';

const RATE = Number(process.env.SOAK_RATE ?? 200);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);
const MAX_GROWTH_MB = Number(process.env.SOAK_MAX_GROWTH_MB ?? 8);
const gateway = await startSoakGateway({ PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8' });
const { db, bus, url, config } = gateway;
const simulator = await startChild('src/cli/simulator.ts', ['0'], {}, /listening on (http:\/\/\S+)/);

const workspaceId = `soak-calls-${Date.now()}`;
const token = await signToken(config.jwt, { workspace: workspaceId, user: 'soak', role: 'owner' });
async function graphql<T>(query: string, variables?: unknown): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
await graphql('mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', {
  input: { kind: 'OPENAI', apiKey: 'sk-soak-0123456789abcdef', baseUrl: `${simulator.url}/openai/v1` },
});
const { createApiKey } = await graphql<{ createApiKey: { secret: string } }>('mutation { createApiKey(input: { name: "soak", principal: SERVICE }) { secret } }');

const settledHeap = () => settledMemory().heapUsed;

console.log(
  `soak:calls: ${RATE} calls/s for ${SECONDS} s on ${db.embedded ? 'PGlite' : 'Postgres'}, pub/sub ${bus.transport}; load average ${loadavg()[0].toFixed(2)}; heap ${mb(settledHeap())} MB at start`,
);
const load = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'callers.ts')], {
  env: { ...process.env, SOAK_URL: url, SOAK_TOKEN: token, SOAK_API_KEY: createApiKey.secret, SOAK_RATE: String(RATE), SOAK_SECONDS: String(SECONDS) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const started = performance.now();
const heaps: Array<{ at: number; heap: number }> = [];
const sampling = setInterval(() => heaps.push({ at: (performance.now() - started) / 1000, heap: settledHeap() }), SAMPLE_SECONDS * 1000);
let result: { seconds: number; calls: Array<{ name: string; calls: number; failed: number; failures: Record<string, number> }>; p50: number; p99: number } | undefined;
for await (const line of createInterface({ input: load.stdout! })) {
  if (line.startsWith('done ')) result = JSON.parse(line.slice(5));
  else console.log(`  ${line}`);
}
clearInterval(sampling);
if (!result) throw new Error('the load process ended without its result');
await new Promise((resolve) => setTimeout(resolve, 500));
heaps.push({ at: (performance.now() - started) / 1000, heap: settledHeap() });

const rows = await db.sql.query<{ status: string; n: bigint }>('SELECT status::text, count(*) AS n FROM usage_events WHERE workspace_id = $1 GROUP BY 1 ORDER BY 1', [workspaceId]);
const calls = result.calls.reduce((sum, target) => sum + target.calls, 0);
const failed = result.calls.reduce((sum, target) => sum + target.failed, 0);
const reserved = Number(rows.find((row) => row.status === 'RESERVED')?.n ?? 0);
console.log('\nseconds | heap after GC (MB)');
for (const { at, heap } of heaps) console.log(`${at.toFixed(0)} | ${mb(heap)}`);
for (const target of result.calls) console.log(`${target.name}: ${target.calls} calls, ${target.failed} failed ${JSON.stringify(target.failures)}`);
console.log(
  `${calls} calls in ${result.seconds.toFixed(0)} s (${(calls / result.seconds).toFixed(0)}/s), ${failed} failed; latency from the scheduled send p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`,
);
console.log(`ledger rows: ${rows.map((row) => `${row.status} ${row.n}`).join(', ')}`);
const growth = heaps.at(-1)!.heap - heaps[0].heap;
console.log(
  `heap at the end vs after ${heaps[0].at.toFixed(0)} s: ${growth >= 0 ? '+' : ''}${mb(growth)} MB (allowed ${MAX_GROWTH_MB} MB); load average ${loadavg()[0].toFixed(2)}`,
);

await simulator.stop();
await gateway.stop();
process.exit(growth > MAX_GROWTH_MB * 2 ** 20 || failed > 0 || reserved > 0 ? 1 : 0);
