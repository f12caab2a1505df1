// `npm run bench:chat`: what the gateway adds to a chat call. The same OpenAI
// SDK calls the simulator directly (the baseline) and through the gateway
// (GraphQL over HTTP for `chat`, graphql-ws for `chatStream`, and the same SDK
// through the OpenAI-compatible door at /v1), in one run, with
// every call metered into the ledger. Uses DATABASE_URL when set, else PGlite.
// With BENCH_BEFORE (another build's dist/server/main.js) it also measures that
// build and this one in alternating rounds, on the same database server.
import OpenAI from 'openai';
import { startBenchGateway } from './gateway.js';
import { closedLoop, openLoop, percentile, type Timing } from './measure.js';
import { type Child, startChild } from './processes.js';

const CONCURRENCY = [1, 16, 64];
const CALLS_PER_LEVEL = Number(process.env.BENCH_CALLS ?? 400);
const OPEN_LOOP_RPS = 200;
const OPEN_LOOP_SECONDS = Number(process.env.BENCH_OPEN_LOOP_SECONDS ?? 5);
const WARMUP_CALLS = Number(process.env.BENCH_WARMUP_CALLS ?? 5000);

const simulator = await startChild('src/cli/simulator.ts', ['0'], {}, /listening on (http:\/\/\S+)/);
const database = process.env.DATABASE_URL ? 'Postgres' : 'PGlite (embedded)';
const messages = [{ role: 'user' as const, content: 'Benchmark question' }];
const gatewayMessages = [{ role: 'USER', content: 'Benchmark question' }];
const sdk = new OpenAI({ apiKey: 'sk-bench-0123456789abcdef', baseURL: `${simulator.url}/openai/v1`, maxRetries: 0 });
const CHAT = 'mutation($input: ChatInput!) { chat(input: $input) { content usageEventId } }';
const STREAM = 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta } }';
const STREAM_TOOLS = 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta argumentsDelta } }';
// A tool the simulator's model calls when it is offered (src/simulator/model.ts): the stream is the call's pieces.
const TOOL = { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

interface Gateway {
  process: Child;
  /** A SERVICE gateway API key of the gateway's workspace. */
  apiKey: string;
  chat(): Promise<Timing>;
  stream(): Promise<Timing>;
  /** A stream that offers a tool and gets the call back in pieces. */
  streamTools(): Promise<Timing>;
  stop(): Promise<void>;
}

/** A gateway started from `bundle`, with its GraphQL calls timed. */
async function startGateway(bundle: string): Promise<Gateway> {
  const started = await startBenchGateway(bundle, `${simulator.url}/openai/v1`);
  return {
    process: started.process,
    apiKey: started.apiKey,
    chat: async () => {
      const begun = performance.now();
      await started.graphql(CHAT, { input: { messages: gatewayMessages } });
      return { totalMs: performance.now() - begun };
    },
    stream: () => started.stream(STREAM, { messages: gatewayMessages }),
    streamTools: () => started.stream(STREAM_TOOLS, { messages: gatewayMessages, tools: [TOOL] }),
    stop: () => started.stop(),
  };
}

const direct = sdkCalls(sdk, 'gpt-4o-mini');

// The gateway as `npm start` runs it: the bundle `npm run build` wrote (the npm script builds it first).
const gateway = await startGateway('dist/server/main.js');
// BENCH_BEFORE=<another checkout>/dist/server/main.js: that build too, measured in turns with this one.
const before = process.env.BENCH_BEFORE ? await startGateway(process.env.BENCH_BEFORE) : undefined;
// The same SDK calls as `direct`, through the OpenAI-compatible door, with what an agent holds: a gateway API key.
const door = sdkCalls(new OpenAI({ apiKey: gateway.apiKey, baseURL: `${gateway.process.url}/v1`, maxRetries: 0 }), 'auto');

/** An OpenAI SDK's chat, stream and tool-call stream, timed: to the simulator directly, or through the door. */
function sdkCalls(client: OpenAI, model: string) {
  const streamed = async (tools: OpenAI.ChatCompletionTool[]): Promise<Timing> => {
    const started = performance.now();
    let firstChunkMs: number | undefined;
    const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true }, ...(tools.length ? { tools } : {}) });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content || chunk.choices[0]?.delta.tool_calls) firstChunkMs ??= performance.now() - started;
    return { totalMs: performance.now() - started, firstChunkMs };
  };
  return {
    chat: async (): Promise<Timing> => {
      const started = performance.now();
      await client.chat.completions.create({ model, messages });
      return { totalMs: performance.now() - started };
    },
    stream: () => streamed([]),
    streamTools: () => streamed([{ type: 'function' as const, function: TOOL }]),
  };
}

const gatewayCpu = () => gateway.process.cpuSeconds();

const LOOP_PROBE_MS = 10; // prom-client's default eventLoopMonitoringPrecision
/**
 * What the gateway's own runtime did, from its Prometheus metrics: garbage-collection pauses so far, and
 * the event loop's delay since the last scrape (prom-client resets that histogram on every scrape). It
 * tells a tail the gateway caused from one the machine or the load generator caused.
 */
async function gatewayRuntime() {
  const text = await (await fetch(`${gateway.process.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const gc = (kind: 'minor' | 'major') => ({
    count: value(`nodejs_gc_duration_seconds_count\\{kind="${kind}"\\}`),
    ms: value(`nodejs_gc_duration_seconds_sum\\{kind="${kind}"\\}`) * 1000,
  });
  // The delay is sampled by a timer every LOOP_PROBE_MS, and includes that interval.
  const stallMs = (name: string) => Math.max(0, value(name) * 1000 - LOOP_PROBE_MS);
  return {
    scavenges: gc('minor'),
    markCompacts: gc('major'),
    loopStallP99Ms: stallMs('nodejs_eventloop_lag_p99_seconds'),
    loopStallMaxMs: stallMs('nodejs_eventloop_lag_max_seconds'),
  };
}

const ms = (value: number | undefined) => (value === undefined ? '     -' : value.toFixed(2).padStart(7));
const stats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });

if (before) {
  const rounds = Number(process.env.BENCH_COMPARE_ROUNDS ?? 8);
  const median = (values: number[]) => percentile(values, 50);
  console.log(
    `\nthis build vs BENCH_BEFORE (${process.env.BENCH_BEFORE}): ${rounds} rounds of ${CALLS_PER_LEVEL} calls at 16 clients each, taken in turns (which goes first alternates); median of the rounds (lowest–highest), ratio after/before of the medians`,
  );
  for (const mode of ['chat', 'stream'] as const) {
    // Both builds get the same history: the same warm-up, then the rounds, before anything else runs.
    for (const subject of [before, gateway]) await closedLoop(subject[mode], 16, WARMUP_CALLS);
    const rows = { before: [] as Array<Awaited<ReturnType<typeof closedLoop>>>, after: [] as Array<Awaited<ReturnType<typeof closedLoop>>> };
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        const subject = side === 'before' ? before : gateway;
        rows[side].push(await closedLoop(subject[mode], 16, CALLS_PER_LEVEL, () => subject.process.cpuSeconds()));
      }
    }
    const spread = (values: number[]) => `${median(values).toFixed(0)} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
    const cpu = (side: 'before' | 'after') => rows[side].map((r) => r.cpuPerCallUs);
    const p50 = (side: 'before' | 'after') =>
      rows[side].map((r) =>
        percentile(
          r.timings.map((t) => t.totalMs),
          50,
        ),
      );
    const first = (side: 'before' | 'after') =>
      rows[side].map((r) =>
        percentile(
          r.timings.map((t) => t.firstChunkMs ?? 0),
          50,
        ),
      );
    const ratio = (a: number[], b: number[]) => (median(b) / median(a)).toFixed(3);
    console.log(`  ${mode === 'chat' ? 'non-streamed chat (HTTP)' : 'streamed chat (graphql-ws)'}`);
    console.log(`    gateway CPU µs/call      before ${spread(cpu('before'))}   after ${spread(cpu('after'))}   ×${ratio(cpu('before'), cpu('after'))}`);
    console.log(`    p50 ms                   before ${spread(p50('before'))}   after ${spread(p50('after'))}   ×${ratio(p50('before'), p50('after'))}`);
    if (mode === 'stream')
      console.log(`    first chunk p50 ms       before ${spread(first('before'))}   after ${spread(first('after'))}   ×${ratio(first('before'), first('after'))}`);
  }
  await before.stop();
}

console.log(`\nbench:chat: gateway vs the same SDK direct to the simulator; ${database}; ledger rows written and finalized for every gateway call`);
for (const [mode, base, gw] of [
  ['non-streamed chat (HTTP)', direct.chat, gateway.chat],
  ['streamed chat (graphql-ws)', direct.stream, gateway.stream],
  ['streamed tool call (graphql-ws): a tool offered, its call streamed in pieces', direct.streamTools, gateway.streamTools],
  ['non-streamed chat (the OpenAI door, /v1/chat/completions, a gateway API key)', direct.chat, door.chat],
  ['streamed chat (the OpenAI door, SSE, a gateway API key)', direct.stream, door.stream],
] as const) {
  // Warm up both paths (JIT, connection pools). V8 takes thousands of calls to settle on this much code:
  // the gateway's CPU per call falls from about 3.2 ms over the first 1,000 calls to about 1.9 ms after 5,000.
  await closedLoop(base, 16, WARMUP_CALLS / 4);
  await closedLoop(gw, 16, WARMUP_CALLS);
  console.log(`\n${mode}`);
  console.log(
    '  clients   direct rps  gateway rps   direct p50/p99 ms     gateway p50/p99 ms    added p50 ms  ×p50   added p99 ms   first chunk direct/gateway p50 ms   gateway CPU µs/call',
  );
  for (const concurrency of CONCURRENCY) {
    const a = await closedLoop(base, concurrency, CALLS_PER_LEVEL);
    const b = await closedLoop(gw, concurrency, CALLS_PER_LEVEL, gatewayCpu);
    const da = stats(a.timings.map((t) => t.totalMs));
    const db = stats(b.timings.map((t) => t.totalMs));
    const fa = a.timings.some((t) => t.firstChunkMs !== undefined)
      ? percentile(
          a.timings.map((t) => t.firstChunkMs ?? 0),
          50,
        )
      : undefined;
    const fb = b.timings.some((t) => t.firstChunkMs !== undefined)
      ? percentile(
          b.timings.map((t) => t.firstChunkMs ?? 0),
          50,
        )
      : undefined;
    console.log(
      `  ${String(concurrency).padStart(7)}  ${a.rps.toFixed(0).padStart(11)}  ${b.rps.toFixed(0).padStart(11)}   ${ms(da.p50)} / ${ms(da.p99)}     ${ms(db.p50)} / ${ms(db.p99)}    ${ms(db.p50 - da.p50)}   ${(db.p50 / da.p50).toFixed(2).padStart(5)}  ${ms(db.p99 - da.p99)}        ${ms(fa)} / ${ms(fb)}              ${b.cpuPerCallUs.toFixed(0).padStart(6)}`,
    );
  }
}

console.log(`\nopen loop: non-streamed chat at ${OPEN_LOOP_RPS} requests/s for ${OPEN_LOOP_SECONDS} s (latency from the scheduled send)`);
const openDirect = await openLoop(direct.chat, OPEN_LOOP_RPS, OPEN_LOOP_SECONDS);
const runtimeBefore = await gatewayRuntime();
const openGateway = await openLoop(gateway.chat, OPEN_LOOP_RPS, OPEN_LOOP_SECONDS, gatewayCpu);
const runtimeAfter = await gatewayRuntime();
const od = stats(openDirect.latencies);
const og = stats(openGateway.latencies);
console.log(`  direct   p50 ${ms(od.p50)} ms  p99 ${ms(od.p99)} ms`);
console.log(
  `  gateway  p50 ${ms(og.p50)} ms  p99 ${ms(og.p99)} ms   added p50 ${ms(og.p50 - od.p50)} ms (×${(og.p50 / od.p50).toFixed(2)})  added p99 ${ms(og.p99 - od.p99)} ms   gateway CPU ${openGateway.cpuPerCallUs.toFixed(0)} µs/call`,
);
const pauses = (kind: 'scavenges' | 'markCompacts') => {
  const count = runtimeAfter[kind].count - runtimeBefore[kind].count;
  const total = runtimeAfter[kind].ms - runtimeBefore[kind].ms;
  return `${count} ${kind === 'scavenges' ? 'scavenges' : 'mark-compacts'} (${total.toFixed(0)} ms, ${count ? (total / count).toFixed(1) : '-'} ms each)`;
};
console.log(
  `  the gateway meanwhile: event loop held up p99 ${ms(runtimeAfter.loopStallP99Ms)} ms, max ${ms(runtimeAfter.loopStallMaxMs)} ms; GC ${pauses('scavenges')}, ${pauses('markCompacts')}`,
);

await Promise.all([gateway.stop(), simulator.stop()]);
