// The demo's story, told through the public GraphQL API only: set a workspace up,
// stream an answer, fail over, report usage, and run into the daily limit while
// the admin's alert subscription reports it.
import type { Simulator } from '../simulator/simulator.js';
import { type DemoClient, GraphQLRequestError } from './client.js';

export interface Terminal {
  heading(text: string): void;
  line(text?: string): void;
  write(text: string): void;
}

/** The daily token limit the demo sets on its workspace: small enough to reach in a few calls. */
export const DEMO_DAILY_TOKEN_LIMIT = 500;
const ALERT_WAIT_MS = 5_000;

interface Provider {
  id: string;
  label: string;
  maskedKey: string;
}

type Alert = { kind: string; severity: string; message: string };

export async function tellStory(client: DemoClient, simulator: Simulator, out: Terminal): Promise<void> {
  out.heading('1. A workspace connects three providers (each key is checked with the provider before it is stored)');
  const openai = await addProvider(client, out, { kind: 'OPENAI', label: 'OpenAI', apiKey: 'sk-demo-openai-4f9a7c21e8b3d605', baseUrl: simulator.baseUrls.openai, priority: 1 });
  // The simulator reads its script from the part of the key after '#': this one streams slowly, so the answer is seen arriving.
  const claude = await addProvider(client, out, {
    kind: 'ANTHROPIC',
    label: 'Claude',
    apiKey: 'sk-ant-demo-0b1c2d3e4f5a6b7c#slow=60&chunks=20&chunk-size=5',
    baseUrl: simulator.baseUrls.anthropic,
    priority: 2,
  });
  const gemini = await addProvider(client, out, { kind: 'GEMINI', label: 'Gemini', apiKey: 'AIza-demo-9e8d7c6b5a4f3e2d1c0b', baseUrl: simulator.baseUrls.gemini, priority: 3 });

  out.heading('2. Preferences: a default, a fallback, two agents, a daily limit');
  await client.request(`mutation($input: PreferencesInput!) { updatePreferences(input: $input) { defaultProviderId } }`, {
    input: { defaultProviderId: openai.id, fallbackProviderId: claude.id, autoFailover: true, workspaceDailyTokenLimit: DEMO_DAILY_TOKEN_LIMIT, quotaWarningThreshold: 0.8 },
  });
  out.line(`default ${openai.label}, fallback ${claude.label}, workspace limit ${DEMO_DAILY_TOKEN_LIMIT.toLocaleString('en-US')} tokens a day (warning at 80%)`);
  for (const [agentType, provider, model] of [
    ['support', claude, 'claude-3-5-haiku-latest'],
    ['research', gemini, 'gemini-2.0-flash'],
  ] as const) {
    await client.request(`mutation($input: AgentModelPreferenceInput!) { setAgentModelPreference(input: $input) { agentType } }`, {
      input: { agentType, providerId: provider.id, model },
    });
    out.line(`agent "${agentType}" → ${provider.label} · ${model}`);
  }

  // The admin's alert feed, open for the rest of the story.
  const alerts: Alert[] = [];
  let alertArrived = () => {};
  const feed = client.subscribe<{ alerts: Alert }>(`subscription { alerts { kind severity message } }`, {}, ({ alerts: alert }) => {
    alerts.push(alert);
    out.line(`  🔔 alert ${alert.kind} (${alert.severity}): ${alert.message}`);
    alertArrived();
  });
  feed.catch((error: unknown) => out.line(`  alert feed ended: ${(error as Error).message}`));

  out.heading('3. The "support" agent answers, streamed chunk by chunk over graphql-ws');
  out.write('  ');
  let route = '';
  let usage = '';
  await client.subscribe<{ chatStream: Chunk }>(
    `subscription($input: ChatInput!) { chatStream(input: $input) { type delta providerId model errorCode message usage { promptTokens completionTokens } } }`,
    { input: { agent: 'support', messages: [{ role: 'USER', content: 'How do I rotate an API key?' }], maxTokens: 200 } },
    ({ chatStream: chunk }) => {
      if (chunk.type === 'START') route = `${labelOf(chunk.providerId, [openai, claude, gemini])} · ${chunk.model}`;
      if (chunk.type === 'TEXT') out.write(chunk.delta ?? '');
      if (chunk.type === 'USAGE') usage = `${chunk.usage?.promptTokens} prompt + ${chunk.usage?.completionTokens} completion tokens`;
      if (chunk.type === 'ERROR') out.write(` [${chunk.errorCode}: ${chunk.message}]`);
    },
  );
  out.line();
  out.line(`  (${route}; ${usage})`);

  out.heading(`4. The default provider's upstream goes down: ${openai.label} answers 503`);
  simulator.setOutage('openai', 503);
  const started = performance.now();
  const { chat } = await client.request<{ chat: { content: string; providerId: string; fellBack: boolean } }>(
    `mutation($input: ChatInput!) { chat(input: $input) { content providerId fellBack } }`,
    { input: { messages: [{ role: 'USER', content: 'Summarise our usage policy.' }], maxTokens: 200 } },
  );
  simulator.setOutage('openai');
  out.line(
    `answered by ${labelOf(chat.providerId, [openai, claude, gemini])} in ${Math.round(performance.now() - started)} ms (fellBack: ${chat.fellBack}): "${chat.content.slice(0, 60)}…"`,
  );
  const { usageEvents } = await client.request<{ usageEvents: { edges: Array<{ node: LedgerRow }> } }>(
    `query($range: DateRangeInput!) { usageEvents(range: $range, first: 10) { edges { node { id providerId status errorCode fallbackFrom } } } }`,
    { range: today() },
  );
  out.line('the ledger has one row per attempt, each pointing at the one before (fallbackFrom):');
  // This call's rows: the newest row and the chain it points back along.
  const rows = usageEvents.edges.map(({ node }) => node);
  const chain = [rows[0]!];
  while (chain.at(-1)!.fallbackFrom) chain.push(rows.find((row) => row.id === chain.at(-1)!.fallbackFrom)!);
  table(
    out,
    ['attempt', 'provider', 'status', 'error'],
    chain
      .reverse()
      .map((row, index, all) => [
        index === 0 ? 'first' : row.providerId === all[index - 1]!.providerId ? 'retry' : 'fallback',
        labelOf(row.providerId, [openai, claude, gemini]),
        row.status,
        row.errorCode ?? '',
      ]),
  );

  out.heading('5. Usage today, by provider and model');
  const { usage: report } = await client.request<{ usage: Report }>(
    `query($range: DateRangeInput!) { usage(range: $range, groupBy: [PROVIDER, MODEL], bucket: DAY) {
      totals { requests failedRequests totalTokens costUsd }
      groups { label totals { requests failedRequests totalTokens costUsd } } } }`,
    { range: today() },
  );
  table(
    out,
    ['provider / model', 'requests', 'failed', 'tokens', 'cost (USD)'],
    [...report.groups.map((group) => [group.label, ...totalsRow(group.totals)]), ['total', ...totalsRow(report.totals)]],
  );

  out.heading(`6. The "research" agent works until the workspace's daily limit (${DEMO_DAILY_TOKEN_LIMIT.toLocaleString('en-US')} tokens) stops it`);
  const reached = new Promise<void>((resolve) => {
    alertArrived = () => alerts.some((alert) => alert.kind === 'LIMIT_REACHED') && resolve();
  });
  for (let call = 1; call <= 30; call++) {
    try {
      await client.request(`mutation($input: ChatInput!) { chat(input: $input) { usage { totalTokens } } }`, {
        input: { agent: 'research', messages: [{ role: 'USER', content: `Research question ${call}` }], maxTokens: 200 },
      });
      out.line(`call ${call}: answered`);
    } catch (error) {
      if (!(error instanceof GraphQLRequestError) || error.code !== 'LIMIT_EXCEEDED') throw error;
      out.line(`call ${call}: refused before any upstream request: ${error.message}`);
      break;
    }
  }
  await Promise.race([reached, new Promise((resolve) => setTimeout(resolve, ALERT_WAIT_MS).unref())]);
  if (!alerts.some((alert) => alert.kind === 'LIMIT_REACHED')) out.line(`  (no LIMIT_REACHED alert within ${ALERT_WAIT_MS / 1000} s)`);
}

type Chunk = {
  type: string;
  delta?: string;
  providerId?: string;
  model?: string;
  errorCode?: string;
  message?: string;
  usage?: { promptTokens: number; completionTokens: number };
};
type LedgerRow = { id: string; providerId: string; status: string; errorCode?: string; fallbackFrom?: string };
type Totals = { requests: number; failedRequests: number; totalTokens: number; costUsd: number };
type Report = { totals: Totals; groups: Array<{ label: string; totals: Totals }> };

async function addProvider(client: DemoClient, out: Terminal, input: Record<string, unknown>): Promise<Provider> {
  const { addProvider: provider } = await client.request<{ addProvider: Provider & { health: { status: string } } }>(
    `mutation($input: AddProviderInput!) { addProvider(input: $input) { id label maskedKey health { status } } }`,
    { input },
  );
  out.line(`${provider.label.padEnd(8)} ${String(input.kind).padEnd(10)} key ${provider.maskedKey}  ${provider.health.status}`);
  return provider;
}

function labelOf(id: string | undefined, providers: Provider[]): string {
  return providers.find((provider) => provider.id === id)?.label ?? String(id);
}

function totalsRow(totals: Totals): string[] {
  return [String(totals.requests), String(totals.failedRequests), totals.totalTokens.toLocaleString('en-US'), totals.costUsd.toFixed(6)];
}

/** Today in UTC, the demo workspace's time zone. */
function today(): { from: string; to: string } {
  const midnight = new Date();
  midnight.setUTCHours(0, 0, 0, 0);
  return { from: midnight.toISOString(), to: new Date(midnight.getTime() + 86_400_000).toISOString() };
}

function table(out: Terminal, header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (row: string[]) => `  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`;
  out.line(format(header));
  out.line(`  ${widths.map((width) => '─'.repeat(width)).join('  ')}`);
  for (const row of rows) out.line(format(row));
}
