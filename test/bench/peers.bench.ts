// `npm run bench:peers`: this gateway beside the gateway people compare it with
// (Portkey OSS, pinned, installed into a cache outside the repository) and
// beside the floor (a minimal Node proxy), in one run on one machine, against
// the same instant OpenAI-compatible mock (the simulator), with the same Node
// HTTP client for every target. Every figure is also taken directly against
// the mock: the baseline of what a target adds. The gateway runs as `npm start`
// runs it, on Postgres (DATABASE_URL, required), metering every call, and the
// run ends by checking one ledger row per call. Targets are measured in rounds
// (each round every target in turn) after a warm-up; a figure is the median of
// its rounds. Prints each figure with its ratio to Portkey and to the floor,
// and the issue's targets as met or not.
import { cpus, loadavg, totalmem } from 'node:os';
import pg from 'pg';
import { type BenchGateway, startBenchGateway } from './gateway.js';
import { type CpuMeter, closedLoop, openLoop, percentile } from './measure.js';
import { installPortkey, PORTKEY_VERSION, portkeyHeaders, startPortkey } from './portkey.js';
import { postgresCpu, startChild } from './processes.js';
import { httpTarget, streamTarget, type Target } from './targets.js';

const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL) {
  console.error(
    'bench:peers runs the gateway on Postgres, metering every call: set DATABASE_URL to a database it may migrate and write to, e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench npm run bench:peers',
  );
  process.exit(1);
}

const CONNECTIONS = 16;
const OPEN_LOOP_RPS = 200;
const CALLS = Number(process.env.BENCH_CALLS ?? 3_000);
// Time to first token is taken one stream at a time: at 16 connections it would be mostly queueing, a second throughput figure.
const STREAM_CALLS = Number(process.env.BENCH_STREAM_CALLS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const OPEN_LOOP_SECONDS = Number(process.env.BENCH_OPEN_LOOP_SECONDS ?? 10);
// V8 takes thousands of calls to settle on the gateway's code (see bench:chat); every target gets as many.
const WARMUP_CALLS = Number(process.env.BENCH_WARMUP_CALLS ?? 5_000);

const MOCK_KEY = 'sk-bench-0123456789abcdef';
const MESSAGES = [{ role: 'user', content: 'Benchmark question' }];
const STREAMED = { stream: true, stream_options: { include_usage: true } };
const GRAPHQL_INPUT = { messages: [{ role: 'USER', content: 'Benchmark question' }] };
const CHAT = 'mutation($input: ChatInput!) { chat(input: $input) { content usageEventId } }';
const CHAT_STREAM = 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta } }';
// A whole answer, or a stream's first piece of content, in each protocol.
const OPENAI_ANSWER = /"choices":\[\{/;
const OPENAI_TOKEN = /"content":"[^"]/;
const GRAPHQL_ANSWER = /^\{"data":\{"chat":\{"content"/;
const GRAPHQL_TOKEN = /"type":"TEXT"/;
const ANTHROPIC_TOKEN = /"type":"text_delta"/;

const begun = performance.now();
const running: Array<{ stop(): Promise<void> }> = [];
const started = async <T extends { stop(): Promise<void> }>(child: Promise<T>) => {
  running.push(await child);
  return running.at(-1) as T;
};
const db = new pg.Client({ connectionString: DATABASE_URL });
try {
  installPortkey();
  await db.connect();
  const { rows } = await db.query<{ pid: number; version: string }>('SELECT pg_backend_pid() AS pid, current_setting($1) AS version', ['server_version']);
  const postgres = postgresCpu(rows[0].pid);
  console.log(
    `\nbench:peers on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Postgres ${rows[0].version}; load average ${loadavg()[0].toFixed(2)} at the start`,
  );
  if (!postgres) console.log("  Postgres's processes are not visible from here (another machine or container): its CPU is not counted");

  const mock = await started(startChild('src/cli/simulator.ts', ['0'], {}, /listening on (http:\/\/\S+)/));
  const floor = await started(startChild('test/bench/floor-proxy.ts', [mock.url], {}, /listening on (http:\/\/\S+)/));
  const portkey = await started(startPortkey());
  const gateway: BenchGateway = await started(startBenchGateway('dist/server/main.js', `${mock.url}/openai/v1`));

  // The GraphQL `chat` mutation as a gateway's owner.
  const graphqlChat = (name: string, target: BenchGateway, cpu: CpuMeter[]) =>
    httpTarget(
      name,
      `${target.process.url}/graphql`,
      { authorization: `Bearer ${target.token}` },
      { query: CHAT, variables: { input: GRAPHQL_INPUT } },
      { answer: GRAPHQL_ANSWER },
      cpu,
    );
  // The same OpenAI request, whole and streamed, to an endpoint; the gateway's door routes `auto` by the workspace's preferences.
  const openAi = (name: string, url: string, headers: Record<string, string>, cpu: CpuMeter[], model = 'gpt-4o-mini') => ({
    chat: httpTarget(name, url, headers, { model, messages: MESSAGES }, { answer: OPENAI_ANSWER }, cpu),
    stream: httpTarget(name, url, headers, { model, messages: MESSAGES, ...STREAMED }, { token: OPENAI_TOKEN }, cpu),
  });
  const gatewayCpu = [gateway.process.cpuSeconds, ...(postgres ? [postgres] : [])];
  const owner = { authorization: `Bearer ${gateway.token}` };
  const direct = openAi('direct to the mock', `${mock.url}/openai/v1/chat/completions`, { authorization: `Bearer ${MOCK_KEY}` }, []);
  const proxy = openAi('floor: minimal Node proxy', `${floor.url}/openai/v1/chat/completions`, { authorization: `Bearer ${MOCK_KEY}` }, [floor.cpuSeconds]);
  const peer = openAi(`Portkey ${PORTKEY_VERSION}`, `${portkey.url}/v1/chat/completions`, portkeyHeaders(`${mock.url}/openai/v1`, MOCK_KEY), [portkey.cpuSeconds]);
  const door = openAi('gateway: /v1/chat/completions', `${gateway.process.url}/v1/chat/completions`, { authorization: `Bearer ${gateway.apiKey}` }, gatewayCpu, 'auto');
  const graphql = {
    chat: graphqlChat('gateway: GraphQL chat', gateway, gatewayCpu),
    sse: httpTarget(
      'gateway: GraphQL over SSE',
      `${gateway.process.url}/graphql`,
      { ...owner, accept: 'text/event-stream' },
      { query: CHAT_STREAM, variables: { input: GRAPHQL_INPUT } },
      { token: GRAPHQL_TOKEN },
      gatewayCpu,
    ),
    ws: streamTarget('gateway: GraphQL over graphql-ws', () => gateway.stream(CHAT_STREAM, GRAPHQL_INPUT), gatewayCpu),
  };
  const messagesDoor = httpTarget(
    'gateway: /v1/messages',
    `${gateway.process.url}/v1/messages`,
    { 'x-api-key': gateway.apiKey, 'anthropic-version': '2023-06-01' },
    { model: 'auto', max_tokens: 200, messages: MESSAGES, stream: true },
    { token: ANTHROPIC_TOKEN },
    gatewayCpu,
  );
  // BENCH_BEFORE=<checkout>/dist/server/main.js: another build's non-streamed calls, GraphQL and the door, in the same rounds (before and after a change).
  const before = process.env.BENCH_BEFORE ? await started(startBenchGateway(process.env.BENCH_BEFORE, `${mock.url}/openai/v1`)) : undefined;
  const beforeCpu = before ? [before.process.cpuSeconds, ...(postgres ? [postgres] : [])] : [];
  const beforeTargets = before
    ? [
        graphqlChat('before: GraphQL chat', before, beforeCpu),
        openAi('before: /v1/chat/completions', `${before.process.url}/v1/chat/completions`, { authorization: `Bearer ${before.apiKey}` }, beforeCpu, 'auto').chat,
      ]
    : [];
  const whole = [direct.chat, proxy.chat, peer.chat, graphql.chat, door.chat, ...beforeTargets];
  const streamed = [direct.stream, proxy.stream, peer.stream, graphql.sse, graphql.ws, door.stream, messagesDoor];
  const gatewayTargets = [graphql.chat, door.chat, graphql.sse, graphql.ws, door.stream, messagesDoor];
  // A call's first attempt is its row; a retry or fallback after a failed attempt adds a row that points back to it.
  const ledgerRows = async () =>
    (
      await db.query<{ calls: number; retries: number; open: number }>(
        `SELECT count(*) FILTER (WHERE fallback_from_id IS NULL)::int AS calls, count(*) FILTER (WHERE fallback_from_id IS NOT NULL)::int AS retries,
           count(*) FILTER (WHERE status = 'RESERVED')::int AS open FROM usage_events WHERE workspace_id = $1`,
        [gateway.workspaceId],
      )
    ).rows[0];
  const rowsBefore = await ledgerRows();

  console.log(
    `warm-up: ${count(WARMUP_CALLS)} calls per target at ${CONNECTIONS} connections; then ${ROUNDS} round${ROUNDS === 1 ? '' : 's'} per figure, each target in turn (the first one moves along each round)`,
  );
  for (const target of [...whole, ...streamed]) await closedLoop(target.call, CONNECTIONS, WARMUP_CALLS);

  const closed = await inRounds(whole, async (target) => {
    const cpuBefore = target.cpu.map((meter) => meter());
    const result = await closedLoop(target.call, CONNECTIONS, CALLS);
    return { rps: result.rps, cpuUs: target.cpu.map((meter, i) => ((meter() - cpuBefore[i]) / CALLS) * 1e6) };
  });
  const open = await inRounds(whole, async (target) => {
    const { latencies } = await openLoop(target.call, OPEN_LOOP_RPS, OPEN_LOOP_SECONDS);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  });
  const streams = await inRounds(streamed, async (target) => {
    const { timings } = await closedLoop(target.call, 1, STREAM_CALLS);
    return {
      ttft: percentile(
        timings.map((t) => t.firstChunkMs ?? Number.POSITIVE_INFINITY),
        50,
      ),
    };
  });

  // Figures: per target, one value per round; what a target adds is against `direct` in the same round.
  const per = <R>(results: Map<Target, R[]>, value: (r: R) => number) => new Map([...results].map(([target, rounds]) => [target, rounds.map(value)]));
  const added = <R>(results: Map<Target, R[]>, value: (r: R) => number, base: Target) =>
    new Map([...results].filter(([target]) => target !== base).map(([target, rounds]) => [target, rounds.map((r, i) => value(r) - value(results.get(base)![i]))]));
  const throughput = per(closed.results, (r) => r.rps);
  const cpuParts = (i: number) => per(closed.results, (r) => r.cpuUs[i] ?? 0);
  const cpuTotal = new Map([...per(closed.results, (r) => r.cpuUs.reduce((a, b) => a + b, 0))].filter(([target]) => target.cpu.length > 0));
  const addedP50 = added(open.results, (r) => r.p50, direct.chat);
  const addedP99 = added(open.results, (r) => r.p99, direct.chat);
  const addedTtft = added(streams.results, (r) => r.ttft, direct.stream);

  const ratios = { portkey: { whole: peer.chat, streamed: peer.stream }, floor: { whole: proxy.chat, streamed: proxy.stream } };
  // One figure: per target its median over the rounds, lowest and highest, the median's ratio to Portkey's and to the floor's, and the calls that failed.
  const figure = (title: string, values: Map<Target, number[]>, show: (value: number) => string, from: Rounds<unknown>, detail?: (target: Target) => string) => {
    const key = from === streams ? 'streamed' : 'whole';
    const of = (target: Target) => median(values.get(target)!);
    console.log(
      `\n${title}\n  ${''.padEnd(34)} ${'median'.padStart(10)}  ${'lowest–highest'.padEnd(22)} ${'×Portkey'.padStart(9)} ${'×floor'.padStart(9)} ${'failed'.padStart(7)}`,
    );
    for (const [target, rounds] of values) {
      const spread = `${show(Math.min(...rounds))}–${show(Math.max(...rounds))}`;
      const line = `  ${target.name.padEnd(34)} ${show(of(target)).padStart(10)}  ${spread.padEnd(22)} ${ratio(of(target), of(ratios.portkey[key])).padStart(9)} ${ratio(of(target), of(ratios.floor[key])).padStart(9)} ${count(from.failed.get(target)!).padStart(7)}`;
      console.log(`${line}${detail ? `  ${detail(target)}` : ''}`);
    }
  };
  const plus = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
  const ms = (value: number) => `${plus(value)} ms`;
  const rounds = `${ROUNDS} round${ROUNDS === 1 ? '' : 's'}`;
  figure(`non-streamed, ${CONNECTIONS} connections, closed loop: requests/s (${rounds} of ${count(CALLS)} calls)`, throughput, count, closed);
  figure(`CPU per call at ${CONNECTIONS} connections, µs (the gateway: its process plus the Postgres server's)`, cpuTotal, count, closed, (target) =>
    target.cpu.length > 1 ? `= ${count(median(cpuParts(0).get(target)!))} gateway + ${count(median(cpuParts(1).get(target)!))} Postgres` : '',
  );
  const openDirect = open.results.get(direct.chat)!;
  console.log(
    `\nopen loop, non-streamed at ${OPEN_LOOP_RPS} requests/s for ${OPEN_LOOP_SECONDS} s (latency from the scheduled send): direct p50 ${median(openDirect.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(openDirect.map((r) => r.p99)).toFixed(2)} ms`,
  );
  figure(`added p50, ms (${rounds})`, addedP50, plus, open);
  figure(`added p99, ms (${rounds})`, addedP99, plus, open);
  console.log(
    `\nstreamed, one stream at a time (${rounds} of ${count(STREAM_CALLS)} streams): direct time to first token p50 ${median(streams.results.get(direct.stream)!.map((r) => r.ttft)).toFixed(2)} ms`,
  );
  figure('added time to first token p50, ms', addedTtft, plus, streams);

  // The issue's table, in Markdown: the gateway's figures with their ratio to Portkey's.
  const m = (values: Map<Target, number[]>, target: Target) => median(values.get(target)!);
  const cell = (text: string, value: number, portkeyValue: number) => `${text} (${ratio(value, portkeyValue)})`;
  const throughputCell = (t: Target) => cell(`${count(m(throughput, t))} req/s`, m(throughput, t), m(throughput, peer.chat));
  const cpuCell = (t: Target) =>
    cell(
      t.cpu.length > 1 ? `${count(m(cpuParts(0), t))} µs gateway + ${count(m(cpuParts(1), t))} µs Postgres` : `${count(m(cpuTotal, t))} µs`,
      m(cpuTotal, t),
      m(cpuTotal, peer.chat),
    );
  const openCell = (t: Target) =>
    `${plus(m(addedP50, t))} / ${ms(m(addedP99, t))} (${ratio(m(addedP50, t), m(addedP50, peer.chat))} / ${ratio(m(addedP99, t), m(addedP99, peer.chat))})`;
  const ttftCell = (t: Target, label: string) => `${label} ${cell(ms(m(addedTtft, t)), m(addedTtft, t), m(addedTtft, peer.stream))}`;
  console.log(`\nsummary (Markdown; ratios to Portkey in brackets):\n`);
  console.log(`| | this gateway, GraphQL | this gateway, /v1/chat/completions (and /v1/messages) | Portkey ${PORTKEY_VERSION} | floor (minimal Node proxy) |`);
  console.log('| --- | --- | --- | --- | --- |');
  console.log(
    `| non-streamed, ${CONNECTIONS} connections | ${throughputCell(graphql.chat)} | ${throughputCell(door.chat)} | ${count(m(throughput, peer.chat))} req/s | ${count(m(throughput, proxy.chat))} req/s |`,
  );
  console.log(
    `| CPU per call at ${CONNECTIONS} connections | ${cpuCell(graphql.chat)} | ${cpuCell(door.chat)} | ${count(m(cpuTotal, peer.chat))} µs | ${count(m(cpuTotal, proxy.chat))} µs |`,
  );
  console.log(
    `| open loop ${OPEN_LOOP_RPS} req/s, added p50 / p99 | ${openCell(graphql.chat)} | ${openCell(door.chat)} | ${plus(m(addedP50, peer.chat))} / ${ms(m(addedP99, peer.chat))} | ${plus(m(addedP50, proxy.chat))} / ${ms(m(addedP99, proxy.chat))} |`,
  );
  console.log(
    `| streamed, added time to first token p50 | ${ttftCell(graphql.sse, 'SSE')}, ${ttftCell(graphql.ws, 'graphql-ws')} | ${ttftCell(door.stream, '/v1/chat/completions')}, ${ttftCell(messagesDoor, '/v1/messages')} | ${ms(m(addedTtft, peer.stream))} | ${ms(m(addedTtft, proxy.stream))} |`,
  );

  // The issue's targets, as ratios to Portkey in this run.
  const target = (text: string, parts: Array<[label: string, value: number, portkeyValue: number]>, bound: number, atMost: boolean) => {
    const judged = parts.map(([label, value, portkeyValue]) => {
      // An added time Portkey does not add (zero or less) leaves no ratio: then the gateway must add no more.
      const met = portkeyValue > 0 ? (atMost ? value / portkeyValue <= bound : value / portkeyValue >= bound) : value <= portkeyValue;
      return { met, text: `${label} ${ratio(value, portkeyValue)}${met ? '' : ' (not met)'}` };
    });
    console.log(`  ${(judged.every((part) => part.met) ? 'met' : 'not met').padEnd(8)} ${text}: ${judged.map((part) => part.text).join(', ')}`);
  };
  const both = (values: Map<Target, number[]>, base: Target): Array<[string, number, number]> => [
    ['GraphQL', m(values, graphql.chat), m(values, base)],
    ['/v1/chat/completions', m(values, door.chat), m(values, base)],
  ];
  console.log('\ntargets (issue 22), against Portkey in this run:');
  target(`non-streamed throughput at ${CONNECTIONS} connections ≥ 1.0× Portkey`, both(throughput, peer.chat), 1, false);
  target(`CPU per call, gateway plus Postgres${postgres ? '' : ' (not counted)'}, ≤ 1.0× Portkey's`, both(cpuTotal, peer.chat), 1, true);
  target(`open loop at ${OPEN_LOOP_RPS} req/s, added p50 ≤ 1.0× Portkey's`, both(addedP50, peer.chat), 1, true);
  target(`open loop at ${OPEN_LOOP_RPS} req/s, added p99 ≤ 1.0× Portkey's`, both(addedP99, peer.chat), 1, true);
  target(
    "streamed added time to first token ≤ 0.1× Portkey's",
    [graphql.sse, graphql.ws, door.stream, messagesDoor].map((t) => [t.name.replace('gateway: ', ''), m(addedTtft, t), m(addedTtft, peer.stream)]),
    0.1,
    true,
  );

  // Every gateway call reserved and finalized: one ledger row each, none left open (a stream's finalize may trail its last chunk).
  let ledger = await ledgerRows();
  for (let wait = 0; ledger.open > 0 && wait < 50; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    ledger = await ledgerRows();
  }
  const gatewayCalls = gatewayTargets.reduce((sum, t) => sum + t.calls, 0);
  const callRows = ledger.calls - rowsBefore.calls;
  const verdict =
    callRows === gatewayCalls && ledger.open === 0
      ? 'every call metered'
      : `NOT every call metered: ${count(gatewayCalls - callRows)} calls without a row, ${count(ledger.open)} rows still RESERVED 10 s after the last call`;
  console.log(
    `\nledger: ${count(gatewayCalls)} gateway calls (warm-ups included), ${count(callRows)} rows for them and ${count(ledger.retries - rowsBefore.retries)} for retries after a failed attempt: ${verdict}`,
  );
  const failures = [...whole, ...streamed].filter((t) => t.failed > 0);
  console.log(
    failures.length === 0
      ? 'failed calls: none (every answer 200 with content)'
      : `failed calls (warm-ups included): ${failures
          .map((t) => `${t.name} ${count(t.failed)} of ${count(t.calls)} (${[...t.failures].map(([reason, n]) => `${reason}: ${count(n)}`).join(', ')})`)
          .join('; ')}`,
  );
  console.log(`load average ${loadavg()[0].toFixed(2)} at the end`);
} finally {
  await Promise.all(running.map((child) => child.stop()));
  await db.end();
  console.log(`bench:peers took ${((performance.now() - begun) / 1000).toFixed(0)} s`);
}

/** Measures every target `ROUNDS` times, each round every target in turn, the first one a step further along each round. */
async function inRounds<R>(targets: Target[], measure: (target: Target) => Promise<R>): Promise<Rounds<R>> {
  const results = new Map(targets.map((target) => [target, [] as R[]]));
  const failedBefore = new Map(targets.map((target) => [target, target.failed]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(round + i) % targets.length];
      target.reconnect();
      results.get(target)!.push(await measure(target));
    }
  }
  return { results, failed: new Map(targets.map((target) => [target, target.failed - failedBefore.get(target)!])) };
}

interface Rounds<R> {
  /** Per target, one result a round. */
  results: Map<Target, R[]>;
  /** Per target, the calls that failed in these rounds. */
  failed: Map<Target, number>;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function ratio(value: number, base: number): string {
  if (!(base > 0) || !Number.isFinite(value)) return '-';
  const times = value / base;
  return `${Math.abs(times) < 0.01 ? times.toPrecision(1) : times.toFixed(Math.abs(times) < 10 ? 2 : 0)}×`;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
