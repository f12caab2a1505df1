// Every example in the README, run as a reader would run it, in order, against a
// test server and the simulator: shell commands through bash (curl for real,
// expected outputs compared), GraphQL operations executed, the TypeScript
// examples run with tsx (the agents' with the gateway API key the README creates, their calls found in the
// ledger under that key). A command the test does not know how to exercise fails it.
// The gateway is on an ephemeral port, not the README's 4000: the commands run
// unchanged with GATEWAY set to it, as a reader whose gateway is elsewhere would.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, type OperationDefinitionNode, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topics } from '../../src/pubsub/pubsub.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { Chat, Providers, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, startSimulator, startTestServer, TEST_JWT, type TestServer } from '../testkit/server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

interface Block {
  lang: string;
  line: number;
  code: string;
}

/** The README's fenced blocks, with the language each is tagged with. */
function readmeBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(fence)) {
    blocks.push({ lang: match[1]!, line: text.slice(0, match.index).split('\n').length, code: match[2]! });
  }
  return blocks;
}

interface Command {
  text: string;
  /** The `# ...` lines written under it: what it prints. */
  expected: string[];
}

/** Shell commands: continuation lines and multi-line quotes joined; trailing comments dropped; `# ` lines after a command are its output. */
function shellCommands(code: string): Command[] {
  const commands: Command[] = [];
  let pending = '';
  for (const line of code.split('\n')) {
    if (!pending && line.startsWith('# ')) {
      commands.at(-1)?.expected.push(line.slice(2));
      continue;
    }
    if (!pending && !line.trim()) continue;
    pending += `${pending ? '\n' : ''}${line}`;
    const quotes = (pending.match(/'/g) ?? []).length;
    if (line.endsWith('\\') || quotes % 2 === 1) continue;
    commands.push({ text: pending.replace(/\s+#[^'"]*$/, '').trim(), expected: [] });
    pending = '';
  }
  return commands;
}

/** `npm run` scripts the README names, and where each is exercised (a test that runs its entry point, or CI). */
const NPM_SCRIPTS_EXERCISED: Record<string, { by: string; entry: string }> = {
  start: { by: 'test/integration/process.test.ts', entry: 'spawnGateway' },
  test: { by: '.ci/run', entry: 'npm test' },
  demo: { by: 'test/integration/demo.test.ts', entry: 'src/cli/demo.ts' },
  token: { by: 'test/integration/readme.test.ts', entry: 'npm run --silent token' },
  simulator: { by: 'test/integration/readme.test.ts', entry: 'src/cli/simulator.ts' },
  'db:migrate': { by: '.ci/run', entry: 'npm run db:migrate' },
  // The diff the command writes as the next migration.
  'db:migration': { by: 'test/integration/drift.test.ts', entry: 'pendingSchemaDiff' },
};

const scriptOf = (command: string) => /^(?:npm ci && )?npm (?:run (?:--silent )?([\w:-]+)|(start|test))\b/.exec(command);

let gw: TestServer;
let sim: Simulator;
let workDir: string;
const env: Record<string, string> = {};
// The simulator's address, matched whole (the gateway's ephemeral port may itself begin with 4010).
const rewrite = (text: string) =>
  text
    .replace(/http:\/\/127\.0\.0\.1:4010(?!\d)/g, sim.url)
    // A workspace of this run's own (the suite shares one Postgres in CI's second phase).
    .replaceAll('--workspace acme', `--workspace ${env.WORKSPACE}`)
    .replaceAll('"workspaceId":"acme"', `"workspaceId":"${env.WORKSPACE}"`);

beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CHAT_RETRY_BASE_MS: '5' }), startSimulator()]);
  workDir = await mkdtemp(path.join(tmpdir(), 'readme-'));
  env.WORKSPACE = `acme-${randomUUID().slice(0, 8)}`;
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
  await disposeAll();
});

async function bash(command: string): Promise<string> {
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
    cwd: workDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TOKEN: env.TOKEN ?? '',
      GATEWAY: env.GATEWAY ?? '',
      GATEWAY_API_KEY: env.GATEWAY_API_KEY ?? '',
      // `npm run token` signs with the test server's secret, as it would with the gateway's.
      JWT_SECRET: TEST_JWT.secret,
      JWT_ISSUER: TEST_JWT.issuer,
      JWT_AUDIENCE: TEST_JWT.audience,
      DATA_DIR: workDir,
    },
    timeout: 60_000,
  });
  return stdout;
}

/** JSON equality where the README's "…" stands for any value. */
function matchesExample(actual: unknown, example: unknown): boolean {
  if (example === '…') return actual !== undefined;
  if (Array.isArray(example)) return Array.isArray(actual) && actual.length === example.length && example.every((item, i) => matchesExample(actual[i], item));
  if (example && typeof example === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    const keys = Object.keys(example);
    return keys.length === Object.keys(actual).length && keys.every((key) => matchesExample((actual as Record<string, unknown>)[key], (example as Record<string, unknown>)[key]));
  }
  return actual === example;
}

async function runShell(command: Command): Promise<void> {
  const text = rewrite(command.text);
  if (/^export GATEWAY=/.test(command.text)) {
    expect(command.text).toBe('export GATEWAY=http://localhost:4000');
    // What the reader sets it to: where their gateway listens, here not port 4000.
    env.GATEWAY = gw.url;
    expect(new URL(env.GATEWAY).port).not.toBe('4000');
    return;
  }
  expect(text, 'a command that names the gateway by its default port fails on another: use $GATEWAY').not.toMatch(/localhost:4000/);
  const tokenCommand = /^export TOKEN=\$\((npm run --silent token -- .+)\)$/.exec(text);
  if (tokenCommand) {
    env.TOKEN = (await bash(`cd ${JSON.stringify(ROOT)} && ${tokenCommand[1]}`)).trim();
    expect(env.TOKEN).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    return;
  }
  const keyCommand = /^export GATEWAY_API_KEY=\$\((curl [\s\S]+)\)$/.exec(text);
  if (keyCommand) {
    env.GATEWAY_API_KEY = (await bash(keyCommand[1]!)).trim();
    expect(env.GATEWAY_API_KEY).toMatch(/^gk_[0-9A-Za-z]{43}$/);
    await rememberKeyUser(env.GATEWAY_API_KEY);
    return;
  }
  const script = scriptOf(text);
  if (script) {
    const name = script[1] ?? script[2]!;
    const { scripts } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts[name], `npm run ${name} is not a script`).toBeDefined();
    const exercised = NPM_SCRIPTS_EXERCISED[name];
    expect(exercised, `the README's "npm run ${name}" is exercised by no test: add it to NPM_SCRIPTS_EXERCISED`).toBeDefined();
    expect(await readFile(path.join(ROOT, exercised!.by), 'utf8')).toContain(exercised!.entry);
    if (name === 'simulator') expect(await simulatorBaseUrls()).toContain('/openai/v1');
    return;
  }
  expect(text, `a README command this test cannot run: ${text}`).toMatch(/^curl /);
  const output = await bash(text);
  if (command.expected.length === 0) {
    expect(output).not.toContain('"errors"');
    return;
  }
  const expected = command.expected.map(rewrite);
  if (expected[0]!.startsWith('{')) {
    expect(matchesExample(JSON.parse(output), JSON.parse(expected.join(''))), `${output}\n≠ ${expected.join('')}`).toBe(true);
    return;
  }
  // A stream: the lines shown come first (SSE comment lines, which clients skip, aside), and "…" stands for the rest.
  const shown = expected.filter((line) => line !== '…');
  const events = output.split('\n').filter((line) => line && !line.startsWith(':'));
  expect(events.slice(0, shown.length)).toEqual(shown);
  expect(output).toContain('event: complete');
}

/** The ledger's user for the key the README created: a SERVICE key's calls are its own (`apikey:<id>`), so the agents' examples can be found. */
async function rememberKeyUser(secret: string): Promise<void> {
  const keys = await gw.db.prisma.apiKey.findMany({ where: { workspaceId: env.WORKSPACE } });
  const key = keys.find((row) => secret.startsWith(row.prefix));
  expect(key?.principal, "the agents' key is a SERVICE key").toBe('SERVICE');
  env.KEY_USER = `apikey:${key!.id}`;
}

/** `npm run simulator -- 0`'s entry, until it prints its base URLs. */
async function simulatorBaseUrls(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/simulator.ts', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  try {
    for await (const chunk of child.stdout) {
      printed += String(chunk);
      if (printed.includes('gemini')) break;
    }
  } finally {
    child.kill('SIGTERM');
  }
  return printed;
}

/** The README's way: saved in the repository's folder (its imports resolve from node_modules), run with `npx tsx` in the shell that set GATEWAY, TOKEN and GATEWAY_API_KEY. */
async function runTypeScript(code: string): Promise<string> {
  expect(await readFile(path.join(ROOT, 'README.md'), 'utf8')).toContain('run `npx tsx chat.ts`');
  // The reader's chat.ts, under a name of this run's own.
  const file = `.readme-chat-${process.pid}.ts`;
  await writeFile(path.join(ROOT, file), code);
  try {
    const { stdout } = await run('npx', ['tsx', file], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GATEWAY: env.GATEWAY, TOKEN: env.TOKEN, GATEWAY_API_KEY: env.GATEWAY_API_KEY ?? '' },
      timeout: 60_000,
    });
    return stdout;
  } finally {
    await rm(path.join(ROOT, file), { force: true });
  }
}

/**
 * A TypeScript example prints the simulator's answer: the echo of its "Hello", or, when it offers a tool, what
 * the simulator says once the tool has answered (it calls it once, then repeats the result). An example that
 * uses the gateway API key makes one call through it, or the tool loop's two, each ending SUCCEEDED in the
 * ledger under the key (a call's rows are chained by fallbackFrom when the gateway retried it before its
 * first token, as a slow machine's provider timeout can make it do).
 */
async function runExample(code: string): Promise<void> {
  const offersTools = /\btools\b/.test(code);
  const usesKey = code.includes('process.env.GATEWAY_API_KEY');
  if (usesKey) expect(env.KEY_USER, 'an example uses GATEWAY_API_KEY before the README creates it').toBeDefined();
  const keyRows = () => gw.db.prisma.usageEvent.findMany({ where: { workspaceId: env.WORKSPACE, userId: env.KEY_USER }, orderBy: { createdAt: 'asc' } });
  const earlier = new Set(usesKey ? (await keyRows()).map((row) => row.id) : []);
  expect(await runTypeScript(code)).toMatch(offersTools ? /^Tool said: / : /^Echo: Hello/);
  if (!usesKey) return;
  const calls = offersTools ? 2 : 1;
  const rows = await eventually(async () => {
    const made = (await keyRows()).filter((row) => !earlier.has(row.id));
    return made.length >= calls && made.every((row) => row.status !== 'RESERVED') ? made : undefined;
  });
  const retried = new Set(rows.map((row) => row.fallbackFromId));
  const ends = rows.filter((row) => !retried.has(row.id));
  const seen = rows.map((row) => `${row.status} ${row.errorCode ?? ''} ${row.fallbackFromId ? 'retrying' : 'first'}`).join(', ');
  expect(
    ends.map((row) => row.status),
    seen,
  ).toEqual(Array(calls).fill('SUCCEEDED'));
}

/** The topic of each subscription whose event `provoke` causes (a chatStream needs nothing). */
const PROVOKED_TOPICS: Partial<Record<string, keyof Topics>> = { usageTicks: 'usage:tick', alerts: 'alert:raised' };

/** Something for a subscription to report: a finished call (usage tick), or a refused one (limit alert). */
async function provoke(field: string): Promise<void> {
  const { data } = await gw.execute(Providers, {}, { token: env.TOKEN });
  const provider = data!.providers[0]!;
  if (field === 'usageTicks') await gw.execute(Chat, { input: { messages: [{ role: 'USER', content: 'tick' }] } }, { token: env.TOKEN });
  if (field === 'alerts') {
    await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 10 } }, { token: env.TOKEN });
    await gw.execute(Chat, { input: { providerId: provider.id, allowFallback: false, maxTokens: 100, messages: [{ role: 'USER', content: 'over' }] } }, { token: env.TOKEN });
    await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: null } }, { token: env.TOKEN });
  }
}

async function runOperation(operation: OperationDefinitionNode): Promise<void> {
  const query = print(operation);
  const field = (operation.selectionSet.selections[0] as { name: { value: string } }).name.value;
  // A webhook URL the egress policy lets through here (the simulator's address); the channel the example adds; the simulator's OpenAI base URL.
  const variables = { alertId: env.ALERT_ID, webhookUrl: `${sim.url}/alerts-hook`, channelId: env.CHANNEL_ID, openaiBaseUrl: sim.baseUrls.openai };
  if (operation.operation !== 'subscription') {
    const response = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env.TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const result = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
    expect(result.errors, query).toBeUndefined();
    expect(result.data?.[field]).toBeDefined();
    if (field === 'addAlertChannel') env.CHANNEL_ID = (result.data![field] as { channel: { id: string } }).channel.id;
    return;
  }
  const client = gw.ws(env.TOKEN);
  const topic = PROVOKED_TOPICS[field];
  const subscribed = topic && gw.nextSubscriber(topic, env.WORKSPACE);
  const events = client.iterate({ query, variables })[Symbol.asyncIterator]();
  const first = events.next();
  if (subscribed) {
    await subscribed; // subscribed before the event happens
    await provoke(field);
  }
  const { value } = await first;
  expect(value?.errors, query).toBeUndefined();
  expect(value?.data?.[field]).toBeDefined();
  if (field === 'alerts') env.ALERT_ID = String((value!.data!.alerts as { id: string }).id);
  await events.return?.();
}

describe('the README', async () => {
  const blocks = readmeBlocks(await readFile(path.join(ROOT, 'README.md'), 'utf8'));

  it('tags every block with what it is', () => {
    expect(blocks.length).toBeGreaterThan(10);
    for (const block of blocks) expect(['sh', 'graphql', 'ts', 'text'], `README line ${block.line}`).toContain(block.lang);
    for (const { by } of Object.values(NPM_SCRIPTS_EXERCISED)) expect(existsSync(path.join(ROOT, by)), by).toBe(true);
  });

  // In order: the token and the key the first examples create are what the later ones use.
  it.each(blocks.filter((block) => block.lang !== 'text').map((block) => [`${block.lang} at line ${block.line}`, block] as const))(
    'runs the %s',
    async (_name, block) => {
      if (block.lang === 'sh') for (const command of shellCommands(block.code)) await runShell(command);
      if (block.lang === 'ts') await runExample(block.code);
      if (block.lang === 'graphql') {
        for (const definition of parse(block.code).definitions) {
          expect(definition.kind).toBe(Kind.OPERATION_DEFINITION);
          await runOperation(definition as OperationDefinitionNode);
        }
      }
    },
    60_000,
  );

  it('exported the CSV the curl example asked for', async () => {
    expect((await readFile(path.join(workDir, 'usage.csv'), 'utf8')).split('\r\n')[0]).toMatch(/^id,created_at,/);
  });
});
