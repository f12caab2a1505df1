// Secrets under fire: canary keys are stored (one the simulator refuses, so the
// failure paths run too), then at least 10,000 requests — random and malformed
// inputs across every operation, every role, HTTP and WebSocket — are sent.
// No response, log line or stored row may hold any 8-character piece of a
// canary, raw, base64 or URL-encoded; no response may carry a stack trace, no
// input may cause INTERNAL or an error log, and /metrics may not grow with the
// inputs (model names are caller text).
// The hostile classes: long and incompressible strings in every free-text
// field, huge and non-finite numbers, prototype-named keys and claims,
// authorization payloads that are not strings, and high-cardinality values.
import { randomBytes, randomUUID } from 'node:crypto';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { PROTOCOL_BASES } from '../testkit/chat.js';
import { AddProvider } from '../testkit/documents.js';
import { MessageType, openRawSocket } from '../testkit/raw-ws.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { take } from '../testkit/streams.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 8;

/** A canary: characters that base64 and URL encoding change, and a random core. */
const canary = (tag: string) => `sk-${tag}/${randomBytes(27).toString('base64url')}+=~`;
const CANARIES = { stored: canary('live'), refused: canary('dead'), anthropic: canary('ant'), rotatedTo: canary('rot'), offered: canary('new') };

/** Every 8-character piece of every canary, raw, base64 (at each alignment), base64url and URL-encoded. */
function needles(): Set<string> {
  const pieces = new Set<string>();
  for (const secret of Object.values(CANARIES)) {
    const forms = [secret, encodeURIComponent(secret)];
    for (let shift = 0; shift < 3; shift++) {
      const bytes = Buffer.from(secret.slice(shift));
      forms.push(bytes.toString('base64'), bytes.toString('base64url'));
    }
    for (const form of forms) for (let i = 0; i + 8 <= form.length; i++) pieces.add(form.slice(i, i + 8));
  }
  return pieces;
}
const NEEDLES = needles();

function findCanary(text: string): string | undefined {
  for (let i = 0; i + 8 <= text.length; i++) if (NEEDLES.has(text.slice(i, i + 8))) return text.slice(i, i + 8);
  return undefined;
}
const STACK_TRACE = /\n\s+at \S|\bat (?:async )?[\w.<>$]+ \((?:file:|node:|\/)|"stack"\s*:/;

/** Deterministic randomness, so a failure can be replayed (FUZZ_SEED). */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
let state = SEED;
const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

let gw: TestServer;
let sim: Simulator;
const ids: Record<string, string> = {};
const tokens: string[] = [];

/** Random text Postgres cannot compress under an index's row size (a long model name once froze a budget). */
const LONG_TEXT = randomBytes(2_400).toString('base64');
/** A value never seen before: model names and agents that would grow a metric or a report without a bound. */
const distinct = () => `fuzz-${Math.floor(random() * 1e9)}`;

/** Odd values of every shape; ids and strings that exist, and ones that do not. */
const junk = (): unknown =>
  pick([
    null,
    '',
    ' ',
    0,
    -1,
    1.5,
    2 ** 53,
    'NaN',
    true,
    [],
    {},
    [null],
    { nested: { deep: [1, 'two'] } },
    'x'.repeat(5_000),
    LONG_TEXT,
    '\u0000\u202e\ud83d\ude00',
    1e13,
    -1e13,
    2 ** 63,
    Number.MAX_VALUE,
    '__proto__',
    'constructor',
    "'; DROP TABLE providers; --",
    '{{7*7}}',
    '../../etc/passwd',
    'http://169.254.169.254/latest',
    randomUUID(),
    'not-a-uuid',
    ids.provider,
    ids.refused,
    ids.session,
    ids.alert,
    'OPENAI',
    'GEMINI',
    'NOPE',
    '2026-13-45T99:99:99Z',
    '2026-01-01T00:00:00Z',
  ]);
/** A value that is mostly right, sometimes junk. */
const maybe = <T>(value: T): unknown => (random() < 0.25 ? junk() : value);

const RANGE = () => maybe({ from: maybe('2026-01-01T00:00:00Z'), to: maybe('2027-01-01T00:00:00Z') });
const MESSAGES = () => maybe([{ role: maybe('USER'), content: maybe('hello fuzz') }]);

/** Every operation of the API, with variables drawn at random. */
const OPERATIONS: Array<() => { query: string; variables: unknown }> = [
  () => ({ query: '{ viewer { userId workspaceId role } }', variables: {} }),
  () => ({
    query: 'query($first: Int, $after: String) { alerts(first: $first, after: $after) { edges { node { id message kind } } } }',
    variables: { first: maybe(5), after: maybe(null) },
  }),
  () => ({ query: 'query($first: Int) { auditLog(first: $first) { edges { node { action targetId } } } }', variables: { first: maybe(10) } }),
  () => ({ query: '{ providers { id label maskedKey baseUrl health { lastError } } }', variables: {} }),
  () => ({
    query: 'query($id: ID!) { provider(id: $id) { id label maskedKey health { lastError } } }',
    variables: { id: maybe(pick([ids.provider, ids.refused, ids.anthropic])) },
  }),
  () => ({
    query: 'query($kind: ProviderKind, $search: String, $first: Int) { models(kind: $kind, search: $search, first: $first) { totalCount edges { node { id } } } }',
    variables: { kind: maybe('OPENAI'), search: maybe('gpt'), first: maybe(3) },
  }),
  () => ({
    query:
      'query($range: DateRangeInput!, $groupBy: [UsageDimension!], $bucket: TimeBucket, $filter: UsageFilter) { usage(range: $range, groupBy: $groupBy, bucket: $bucket, filter: $filter) { totals { requests costUsd } } }',
    variables: { range: RANGE(), groupBy: maybe(['PROVIDER']), bucket: maybe('DAY'), filter: maybe({ providerIds: maybe([ids.provider]) }) },
  }),
  () => ({
    query: 'query($range: DateRangeInput!, $first: Int) { usageEvents(range: $range, first: $first) { edges { node { id errorCode model } } } }',
    variables: { range: RANGE(), first: maybe(5) },
  }),
  () => ({
    query: 'query($agent: String, $providerId: ID, $model: String) { resolveRoute(agent: $agent, providerId: $providerId, model: $model) { candidates { model reason } } }',
    variables: { agent: maybe('coder'), providerId: maybe(null), model: maybe(null) },
  }),
  () => ({ query: 'query($first: Int) { sessions(first: $first) { edges { node { id model } } } }', variables: { first: maybe(5) } }),
  () => ({ query: 'query($id: ID!) { session(id: $id) { id title model messageCount } }', variables: { id: maybe(ids.session) } }),
  () => ({ query: '{ preferences { defaultProviderId timezone agentPreferences { agentType } } }', variables: {} }),
  () => ({ query: 'mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }', variables: { id: maybe(ids.alert) } }),
  () => ({
    query: 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id maskedKey } }',
    variables: {
      input: maybe({
        kind: maybe(pick(['OPENAI', 'ANTHROPIC'])),
        apiKey: CANARIES.offered,
        baseUrl: maybe(pick([sim.baseUrls.openai, 'ftp://nope', 'http://10.0.0.1/'])),
        label: maybe('fuzz'),
        bogus: random() < 0.3 ? 1 : undefined,
      }),
    },
  }),
  () => ({
    query: 'mutation($id: ID!, $input: UpdateProviderInput!) { updateProvider(id: $id, input: $input) { id maskedKey } }',
    variables: {
      id: maybe(ids.provider),
      input: maybe({
        apiKey: maybe(pick([CANARIES.rotatedTo, CANARIES.stored])),
        label: maybe('renamed'),
        priority: maybe(5),
        bogus: random() < 0.3 ? CANARIES.offered : undefined,
      }),
    },
  }),
  () => ({ query: 'mutation($id: ID!) { deleteProvider(id: $id) }', variables: { id: maybe(randomUUID()) } }),
  () => ({ query: 'mutation($id: ID!) { testProvider(id: $id) { ok errorCode message } }', variables: { id: maybe(pick([ids.provider, ids.refused, ids.anthropic])) } }),
  () => ({
    query: 'mutation($input: ChatInput!) { chat(input: $input) { content providerId } }',
    variables: {
      input: maybe({
        messages: MESSAGES(),
        providerId: maybe(pick([ids.provider, ids.refused, ids.anthropic])),
        maxTokens: maybe(16),
        allowFallback: maybe(false),
        model: random() < 0.3 ? distinct() : maybe(null),
        agent: maybe(distinct()),
        operation: maybe(distinct()),
      }),
    },
  }),
  () => ({
    query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { timezone } }',
    variables: {
      input: maybe({
        timezone: maybe('Europe/Paris'),
        defaultProviderId: maybe(null),
        quotaWarningThreshold: maybe(0.8),
        workspaceMonthlyBudgetUsd: maybe(null),
        workspaceDailyTokenLimit: maybe(null),
        maxTokensPerRequest: maybe(null),
        defaultModel: maybe(null),
      }),
    },
  }),
  () => ({
    query: 'mutation($input: AgentModelPreferenceInput!) { setAgentModelPreference(input: $input) { agentType } }',
    variables: { input: maybe({ agentType: maybe('coder'), providerId: maybe(ids.provider), model: maybe('gpt-4o-mini') }) },
  }),
  () => ({ query: 'mutation($agentType: String!) { removeAgentModelPreference(agentType: $agentType) }', variables: { agentType: maybe('coder') } }),
];

/** Requests that are wrong before they are GraphQL. */
const MALFORMED: Array<() => { body: string; contentType: string }> = [
  () => ({ body: `{"query": "{ viewer { userId } }", "variables": {"key": "${CANARIES.offered}"`, contentType: 'application/json' }),
  () => ({ body: `query=${encodeURIComponent('{ viewer { userId } }')}`, contentType: 'application/x-www-form-urlencoded' }),
  () => ({ body: '{ viewer { userId } }', contentType: 'text/plain' }),
  () => ({
    body: JSON.stringify({
      query: pick(['{', '{ viewer { ', 'mutation { addProvider }', '{ __schema { types { name } } }', `{ viewer(apiKey: "${CANARIES.offered}") { userId } }`]),
    }),
    contentType: 'application/json',
  }),
  () => ({ body: JSON.stringify({ query: 123, variables: 'nope' }), contentType: 'application/json' }),
  () => ({ body: JSON.stringify([{ query: '{ viewer { userId } }' }]), contentType: 'application/json' }),
  // Numbers JSON.parse turns into Infinity, and prototype-named keys, where a JSON encoder would not put them.
  () => ({
    body: `{"query": "mutation($input: PreferencesInput!) { updatePreferences(input: $input) { timezone } }", "variables": {"input": {"${pick(['workspaceMonthlyBudgetUsd', 'workspaceDailyTokenLimit', 'maxTokensPerRequest', 'quotaWarningThreshold'])}": ${pick(['1e400', '-1e400', '1e13', '9007199254740993'])}}}}`,
    contentType: 'application/json',
  }),
  () => ({
    body: `{"query": "{ viewer { userId } }", "variables": {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}}`,
    contentType: 'application/json',
  }),
  () => ({
    body: `{"query": "mutation($input: ChatInput!) { chat(input: $input) { content } }", "variables": {"input": {"__proto__": {"maxTokens": 1}, "messages": [{"role": "USER", "content": "hi"}], "maxTokens": 1e400}}}`,
    contentType: 'application/json',
  }),
];

/** connection_init payloads whose authorization is not a string, or not a token. */
const ODD_AUTHORIZATIONS: unknown[] = [
  { bearer: 'x' },
  42,
  ['Bearer', 'x'],
  null,
  true,
  'Basic Zm9vOmJhcg==',
  'Bearer',
  `Bearer ${'x'.repeat(10_000)}`,
  { __proto__: { authorization: 'Bearer x' } },
];

interface Observed {
  requests: number;
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  leaks: string[];
  traces: string[];
  oddCloses: string[];
}

function observe(observed: Observed, where: string, text: string): void {
  const piece = findCanary(text);
  if (piece) observed.leaks.push(`${where}: …${piece.slice(0, 2)}… in ${text.slice(0, 300)}`);
  // Logs may carry a bug's stack for the operator; responses never.
  if (where !== 'log' && STACK_TRACE.test(text)) observed.traces.push(`${where}: ${text.slice(0, 300)}`);
  for (const match of text.matchAll(/"(?:code|errorCode)"\s*:\s*"([A-Z_]+)"/g)) observed.byCode[match[1]] = (observed.byCode[match[1]] ?? 0) + 1;
}

/** The key failure paths, sent once each before the random ones (random deletes may remove the refused provider early). */
async function sendFailurePaths(observed: Observed): Promise<void> {
  const owner = tokens[0];
  const calls: Array<[string, Record<string, unknown>]> = [
    ['mutation($id: ID!) { testProvider(id: $id) { ok errorCode message } }', { id: ids.refused }],
    ['mutation($input: ChatInput!) { chat(input: $input) { content } }', { input: { messages: [{ role: 'USER', content: 'hi' }], providerId: ids.refused, allowFallback: false } }],
    [
      'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }',
      { input: { kind: 'OPENAI', apiKey: `${CANARIES.offered}#status=401`, baseUrl: sim.baseUrls.openai } },
    ],
    [
      'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }',
      { input: { kind: 'ANTHROPIC', apiKey: `${CANARIES.offered}#status=403`, baseUrl: sim.baseUrls.anthropic } },
    ],
  ];
  // Calls that reach the provider with model names never seen before (each once, as an attacker would send them).
  for (let i = 0; i < 100; i++) {
    calls.push([
      'mutation($input: ChatInput!) { chat(input: $input) { content } }',
      { input: { messages: [{ role: 'USER', content: 'hi' }], providerId: ids.provider, model: distinct(), maxTokens: 16 } },
    ]);
  }
  for (const [query, variables] of calls) {
    const response = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
      body: JSON.stringify({ query, variables }),
    });
    observed.requests++;
    observe(observed, `HTTP ${response.status}`, await response.text());
  }
}

async function send(observed: Observed): Promise<void> {
  const token = pick(tokens);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let init: RequestInit;
  let url = gw.graphqlUrl;
  if (random() < 0.1) {
    const { body, contentType } = pick(MALFORMED)();
    init = { method: 'POST', headers: { ...headers, 'content-type': contentType }, body };
  } else {
    const { query, variables } = pick(OPERATIONS)();
    if (random() < 0.05 && !query.startsWith('mutation')) {
      url = `${gw.graphqlUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;
      init = { headers };
    } else {
      init = { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) };
    }
  }
  const response = await fetch(url, init);
  const text = await response.text();
  observed.requests++;
  observed.byStatus[response.status] = (observed.byStatus[response.status] ?? 0) + 1;
  observe(observed, `HTTP ${response.status}`, `${[...response.headers].join('\n')}\n${text}`);
}

/** A share of the operations over graphql-ws, one socket per token. */
async function sendOverWs(observed: Observed, count: number): Promise<void> {
  for (const token of tokens.filter(Boolean)) {
    const client = gw.ws(token);
    for (let i = 0; i < count; i++) {
      const { query, variables } = pick(OPERATIONS)();
      try {
        for (const result of await take(client.iterate({ query, variables: variables as Record<string, unknown> }), 1)) observe(observed, 'ws', JSON.stringify(result));
      } catch (errors) {
        // graphql-ws rejects an operation refused before execution with its errors.
        observe(observed, 'ws', JSON.stringify(errors));
      }
      observed.requests++;
    }
  }
}

/** WebSockets whose connection_init carries an odd authorization: each must close 4403 with a reason, nothing else. */
async function sendOddAuthorizations(observed: Observed): Promise<void> {
  for (const authorization of ODD_AUTHORIZATIONS) {
    const socket = await openRawSocket(gw.wsUrl);
    socket.send({ type: MessageType.ConnectionInit, payload: { authorization } });
    const { code, reason } = await socket.closed;
    observed.requests++;
    observe(observed, 'ws close', reason);
    if (code !== 4403) observed.oddCloses.push(`${JSON.stringify(authorization).slice(0, 40)}: ${code} ${reason}`);
  }
}

const scrapeMetrics = async () => (await fetch(`${gw.url}/metrics`)).text();

beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '100000', PROVIDER_TIMEOUT_MS: '2000' }), startSimulator()]);
  const workspace = newWorkspace();
  const owner = await gw.token(workspace.claims('owner'));
  const add = async (kind: 'OPENAI' | 'ANTHROPIC', apiKey: string, skipValidation = false) => {
    const result = await gw.execute(AddProvider, { input: { kind, apiKey, baseUrl: PROTOCOL_BASES[kind](sim), skipValidation } }, { token: owner });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!.addProvider.id;
  };
  ids.provider = await add('OPENAI', CANARIES.stored);
  ids.anthropic = await add('ANTHROPIC', CANARIES.anthropic);
  // Refused by the simulator on every call (its 401 echoes part of the key, as OpenAI's does).
  ids.refused = await add('OPENAI', `${CANARIES.refused}#status=401`, true);
  const chat = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
    body: JSON.stringify({
      query: 'mutation($input: ChatInput!) { chat(input: $input) { sessionId } }',
      variables: { input: { messages: [{ role: 'USER', content: 'hi' }], providerId: ids.provider } },
    }),
  });
  ids.session = ((await chat.json()) as { data: { chat: { sessionId: string } } }).data.chat.sessionId;
  ids.alert = randomUUID();
  // Role claims named like Object properties are refused like any unknown role.
  const prototypeRoles = await Promise.all(['__proto__', 'constructor', 'toString'].map((role) => gw.token({ ...workspace.claims('owner'), role: role as never })));
  tokens.push(
    owner,
    await gw.token(workspace.claims('admin')),
    await gw.token(workspace.claims('member')),
    await gw.token(newWorkspace().claims('owner')),
    '',
    'not-a-token',
    `${owner.slice(0, -4)}AAAA`,
    ...prototypeRoles,
  );
});
afterAll(disposeAll);

describe('secrets under fire', () => {
  it('draws from templates that are all valid operations, so the fuzz reaches the resolvers', () => {
    for (const operation of OPERATIONS) expect(validate(schema, parse(operation().query))).toEqual([]);
  });

  it(`${REQUESTS} random and malformed requests: no canary piece in any response, log line or stored row, no stack trace`, async () => {
    const observed: Observed = { requests: 0, byStatus: {}, byCode: {}, leaks: [], traces: [], oddCloses: [] };
    const metricsBefore = (await scrapeMetrics()).length;
    await sendFailurePaths(observed);
    await sendOddAuthorizations(observed);
    const wsShare = Math.ceil((REQUESTS * 0.05) / tokens.filter(Boolean).length);
    await sendOverWs(observed, wsShare);
    const httpCount = REQUESTS - observed.requests;
    let issued = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (issued < httpCount) {
          issued++;
          await send(observed);
        }
      }),
    );

    for (const line of gw.logs) observe(observed, 'log', line);
    // Every log line is a JSON line (no raw stack on stdout), and no input made the gateway log an error.
    const logErrors = gw.logs.filter((line) => {
      try {
        return (JSON.parse(line) as { level: number }).level >= 50;
      } catch {
        return true;
      }
    });
    const metrics = await scrapeMetrics();
    const metricsGrowth = metrics.length - metricsBefore;
    const tables = await gw.db.sql.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    let storedRows = 0;
    for (const { name } of tables) {
      const rows = await gw.db.sql.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
      storedRows += rows.length;
      for (const { row } of rows) {
        const piece = findCanary(row);
        if (piece) observed.leaks.push(`table ${name}: …${piece.slice(0, 2)}…`);
      }
    }

    console.info(
      `secrets fuzz (seed ${SEED}): ${observed.requests} requests, ${gw.logs.length} log lines, ${storedRows} stored rows in ${tables.length} tables scanned for ${NEEDLES.size} canary pieces; ` +
        `statuses ${JSON.stringify(observed.byStatus)}; codes ${JSON.stringify(observed.byCode)}; leaks ${observed.leaks.length}, stack traces ${observed.traces.length}; ` +
        `/metrics grew ${metricsGrowth} bytes; error log lines ${logErrors.length}`,
    );
    expect(observed.requests).toBeGreaterThanOrEqual(REQUESTS);
    expect(observed.leaks.slice(0, 5)).toEqual([]);
    expect(observed.traces.slice(0, 5)).toEqual([]);
    expect(observed.oddCloses).toEqual([]);
    expect(logErrors.slice(0, 3)).toEqual([]);
    // Thousands of distinct model, agent and operation names: no label carries one, so the metrics do not grow with them.
    expect(metrics.match(/fuzz-\d+/)?.[0]).toBeUndefined();
    expect(metricsGrowth).toBeLessThan(64 * 1024);
    // Bad input is the client's error, never INTERNAL.
    expect(observed.byCode.INTERNAL ?? 0).toBe(0);
    // The failure paths ran: refused keys, bad input, missing objects, refused roles and tokens.
    for (const code of ['INVALID_CREDENTIALS', 'BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED']) expect(observed.byCode[code] ?? 0, code).toBeGreaterThan(0);
  }, 600_000);
});
