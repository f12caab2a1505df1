// The call soak's load, in a process of its own so that its requests and
// timings do not count in the gateway's memory: the benchmarks' open loop at
// SOAK_RATE calls a second for SOAK_SECONDS, taking turns between a GraphQL chat, a GraphQL
// chatStream over SSE, and the OpenAI door whole and streamed. Prints a
// progress line every 10 s and, once every call has answered, one "done" line
// of JSON: calls, failures by reason, and latency percentiles.
import { openLoop, percentile } from '../bench/measure.js';
import { httpTarget } from '../bench/targets.js';

const url = process.env.SOAK_URL!;
const RATE = Number(process.env.SOAK_RATE ?? 200);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const owner = { authorization: `Bearer ${process.env.SOAK_TOKEN!}` };
const agent = { authorization: `Bearer ${process.env.SOAK_API_KEY!}` };
const messages = [{ role: 'user', content: 'Soak question' }];
const input = { messages: [{ role: 'USER', content: 'Soak question' }] };

const targets = [
  httpTarget(
    'GraphQL chat',
    `${url}/graphql`,
    owner,
    { query: 'mutation($input: ChatInput!) { chat(input: $input) { content } }', variables: { input } },
    { answer: /"content"/ },
    [],
  ),
  httpTarget(
    'GraphQL chatStream (SSE)',
    `${url}/graphql`,
    { ...owner, accept: 'text/event-stream' },
    { query: 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta } }', variables: { input } },
    { token: /"type":"TEXT"/ },
    [],
  ),
  httpTarget('/v1/chat/completions', `${url}/v1/chat/completions`, agent, { model: 'auto', messages }, { answer: /"choices":\[\{/ }, []),
  httpTarget('/v1/chat/completions, streamed', `${url}/v1/chat/completions`, agent, { model: 'auto', messages, stream: true }, { token: /"content":"[^"]/ }, []),
];

let answered = 0;
const started = performance.now();
const progress = setInterval(() => {
  const sent = targets.reduce((sum, target) => sum + target.calls, 0);
  const failed = targets.reduce((sum, target) => sum + target.failed, 0);
  console.log(`progress ${Math.round((performance.now() - started) / 1000)} s: sent ${sent}, answered ${answered}, failed ${failed}, in flight ${sent - answered}`);
}, 10_000);
let next = 0;
const { latencies } = await openLoop(
  async () => {
    await targets[next++ % targets.length].call();
    answered++;
  },
  RATE,
  SECONDS,
);
clearInterval(progress);
console.log(
  `done ${JSON.stringify({
    seconds: (performance.now() - started) / 1000,
    calls: targets.map((target) => ({ name: target.name, calls: target.calls, failed: target.failed, failures: Object.fromEntries(target.failures) })),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  })}`,
);
