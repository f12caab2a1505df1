// The call soak's load, in a process of its own so that its requests and
// timings do not count in the gateway's memory: an open loop at SOAK_RATE calls
// a second for SOAK_SECONDS, taking turns between a GraphQL chat, a GraphQL
// chatStream over SSE, and the OpenAI door whole and streamed. Prints a
// progress line every 10 s and, once every call has answered, one "done" line
// of JSON: calls, failures by reason, and latency percentiles.
import { percentile } from '../bench/measure.js';
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

const latencies: number[] = [];
let sent = 0;
let answered = 0;
const total = RATE * SECONDS;
const started = performance.now();
const inFlight = new Set<Promise<void>>();

function send(i: number): void {
  const scheduled = started + (i * 1000) / RATE;
  const call = targets[i % targets.length]
    .call()
    .then(() => {
      latencies.push(performance.now() - scheduled);
      answered++;
    })
    .finally(() => inFlight.delete(call));
  inFlight.add(call);
}

const progress = setInterval(() => {
  const failed = targets.reduce((sum, target) => sum + target.failed, 0);
  console.log(`progress ${Math.round((performance.now() - started) / 1000)} s: sent ${sent}, answered ${answered}, failed ${failed}, in flight ${inFlight.size}`);
}, 10_000);
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) * RATE) / 1000));
  while (sent < due) send(sent++);
  await new Promise((resolve) => setTimeout(resolve, 2));
}
while (inFlight.size > 0) await Promise.all(inFlight);
clearInterval(progress);
console.log(
  `done ${JSON.stringify({
    seconds: (performance.now() - started) / 1000,
    calls: targets.map((target) => ({ name: target.name, calls: target.calls, failed: target.failed, failures: Object.fromEntries(target.failures) })),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  })}`,
);
