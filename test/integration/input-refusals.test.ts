// Input the API cannot take, in every class the audit found: each is a clear
// BAD_USER_INPUT (the contract's code, whatever the transport) that states what
// would be accepted, echoes nothing of a rejected value, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { disposeAll, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

interface Body {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(), startSimulator()]);
});
afterAll(disposeAll);

/** JSON can carry a number too large for a double: the parser reads it as Infinity. */
const INFINITE = '__infinite__';

async function post(server: TestServer, token: string, query: string, variables: Record<string, unknown> = {}): Promise<Body> {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }).replaceAll(`"${INFINITE}"`, '1e400'),
  });
  return (await response.json()) as Body;
}

describe('requests that are not GraphQL requests', () => {
  it('answer BAD_USER_INPUT (a code of the contract) on POST, SSE and GET alike', async () => {
    const { token } = await newOwner(gw);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const cases: Array<[string, RequestInit & { url?: string }, number]> = [
      ['invalid JSON', { method: 'POST', headers, body: '{"query": "{ viewer { role } }"' }, 400],
      // An event stream has begun (200) before its one event says what went wrong.
      ['invalid JSON, over SSE', { method: 'POST', headers: { ...headers, accept: 'text/event-stream' }, body: '{"query": ' }, 200],
      ['a batch', { method: 'POST', headers, body: JSON.stringify([{ query: '{ viewer { role } }' }, { query: '{ viewer { userId } }' }]) }, 400],
      ['a body that is not an object', { method: 'POST', headers, body: '"{ viewer { role } }"' }, 400],
      ['a mutation over GET', { url: `${gw.graphqlUrl}?query=${encodeURIComponent('mutation { updatePreferences(input: { timezone: "UTC" }) { timezone } }')}`, headers }, 405],
    ];
    for (const [name, { url, ...init }, status] of cases) {
      const response = await fetch(url ?? gw.graphqlUrl, init);
      const text = await response.text();
      // An SSE answer is one `next` event carrying the result.
      const body = JSON.parse(response.headers.get('content-type')?.startsWith('text/event-stream') ? /^data: (.*)$/m.exec(text)![1] : text) as Body;
      expect({ name, status: response.status, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({ name, status, codes: ['BAD_USER_INPUT'] });
    }
  });
});

describe('enum-typed variables', () => {
  // Keys pasted into the wrong field: one of each provider's shapes, with and without dashes.
  const KEYS = ['sk_live_51HqAbCdEfGhIjKlMnOpQrStUvWx', 'AIzaSyD3moK3yWith39CharactersAbCdEfGh', 'sk-ant-api03-AbCdEfGhIjKlMnOpQr', 'gsk_AbCdEfGhIjKlMnOpQrStUvWxYz012345'];
  const POSITIONS: Array<[string, string, (value: string) => Record<string, unknown>]> = [
    ['a top-level enum argument', 'query($kind: ProviderKind) { models(kind: $kind) { totalCount } }', (value) => ({ kind: value })],
    ['an enum field of an input', 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', (value) => ({ input: { kind: value, apiKey: 'k' } })],
    [
      'an enum in a list',
      'query($groupBy: [UsageDimension!]) { usage(range: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }, groupBy: $groupBy) { groups { key } } }',
      (value) => ({ groupBy: ['MODEL', value] }),
    ],
  ];

  it.each(POSITIONS)('never echo the rejected value (%s)', async (_name, query, variables) => {
    const { token } = await newOwner(gw);
    for (const key of KEYS) {
      const body = await post(gw, token, query, variables(key));
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/got an invalid value.*"(ProviderKind|UsageDimension)" enum/);
      expectNoSecret(JSON.stringify(body), key);
    }
  });

  it('get no "Did you mean" suggestion in production, and one in development', async () => {
    const production = await startTestServer({ NODE_ENV: 'production' });
    const query = 'query($kind: ProviderKind) { models(kind: $kind) { totalCount } }';
    const refused = await post(production, (await newOwner(production)).token, query, { kind: 'OPENAl' });
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(refused.errors?.[0]?.message).not.toMatch(/did you mean|OPENAI/i);
    const helped = await post(gw, (await newOwner(gw)).token, query, { kind: 'OPENAl' });
    expect(helped.errors?.[0]?.message).toContain('Did you mean the enum value "OPENAI"?');
  });
});

describe('numbers out of range', () => {
  const HUGE = 1e13;
  // [field, values]: huge, negative, past a double (Infinity once parsed), past 2^53, out of the field's own bounds.
  const PREFERENCES: Array<[string, unknown[]]> = [
    ['workspaceMonthlyBudgetUsd', [HUGE, -1, INFINITE, 1e9 + 1]],
    ['workspaceDailyTokenLimit', [-1, 2 ** 53, INFINITE, 1.5]],
    ['maxTokensPerRequest', [0, -1, HUGE, INFINITE]],
    ['quotaWarningThreshold', [0, 1.5, -1, INFINITE]],
  ];
  const PROVIDER: Array<[string, unknown[]]> = [
    ['monthlyBudgetUsd', [HUGE, -1, INFINITE]],
    ['dailyTokenLimit', [-1, 2 ** 53, INFINITE]],
    ['priority', [-1, 10_001, HUGE, INFINITE]],
  ];
  const CHAT: Array<[string, unknown[]]> = [
    ['maxTokens', [0, -1, HUGE, INFINITE]],
    ['temperature', [-1, 3, INFINITE]],
  ];

  /** A clear refusal: the contract's code, the field named, a bound stated (a number, "finite" or "positive"). */
  function expectRefused(body: Body, field: string, value: unknown): void {
    const error = body.errors?.[0];
    expect({ field, value, code: error?.extensions?.code }).toEqual({ field, value, code: 'BAD_USER_INPUT' });
    expect(`${error?.message} ${String(error?.extensions?.field ?? '')}`).toContain(field);
    expect(error?.message).toMatch(/\d|finite|positive/);
  }

  it('in preferences: BAD_USER_INPUT naming the field and its bound, nothing stored', async () => {
    const { token } = await newOwner(gw);
    const read = '{ preferences { maxTokensPerRequest quotaWarningThreshold workspaceDailyTokenLimit workspaceMonthlyBudgetUsd } }';
    const before = await post(gw, token, read);
    for (const [field, values] of PREFERENCES) {
      for (const value of values) {
        const body = await post(gw, token, 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { timezone } }', { input: { [field]: value } });
        expectRefused(body, field, value);
      }
    }
    expect(await post(gw, token, read)).toEqual(before);
  });

  it('in a provider: BAD_USER_INPUT naming the field and its bound, nothing stored', async () => {
    const { workspace, token } = await newOwner(gw);
    for (const [field, values] of PROVIDER) {
      for (const value of values) {
        const input = { kind: 'OPENAI', apiKey: 'sk-bounds', baseUrl: sim.baseUrls.openai, [field]: value };
        expectRefused(await post(gw, token, 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', { input }), field, value);
      }
    }
    expect(await gw.db.prisma.provider.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it('in a chat: BAD_USER_INPUT naming the field and its bound', async () => {
    const { token } = await newOwner(gw);
    for (const [field, values] of CHAT) {
      for (const value of values) {
        const input = { messages: [{ role: 'USER', content: 'hi' }], [field]: value };
        expectRefused(await post(gw, token, 'mutation($input: ChatInput!) { chat(input: $input) { content } }', { input }), field, value);
      }
    }
  });

  it('in a page size: BAD_USER_INPUT naming first and its bound', async () => {
    const { token } = await newOwner(gw);
    for (const connection of ['models', 'auditLog', 'sessions', 'alerts']) {
      for (const value of [0, -1, 201, HUGE, INFINITE]) {
        expectRefused(await post(gw, token, `query($first: Int) { ${connection}(first: $first) { edges { cursor } } }`, { first: value }), 'first', value);
      }
    }
  });
});

describe('cursors', () => {
  const cursor = (text: string) => Buffer.from(text).toString('base64url');
  const MALFORMED = [
    cursor('2026-01-01T00:00:00.000Z|not-a-uuid'),
    cursor("2026-01-01T00:00:00.000Z|' OR 1=1 --"),
    cursor('2026-01-01T00:00:00.000Z|00000000-0000-0000-0000-00000000000g'),
    cursor(`2026-01-01T00:00:00.000Z|${'a'.repeat(10_000)}`),
    cursor('not a date|00000000-0000-4000-8000-000000000000'),
    cursor('|'),
    '%%%',
  ];

  it.each(['auditLog', 'sessions', 'alerts'])('a malformed cursor is BAD_USER_INPUT on after (%s)', async (connection) => {
    const { token } = await newOwner(gw);
    for (const after of MALFORMED) {
      const body = await post(gw, token, `query($after: String) { ${connection}(after: $after) { edges { cursor } } }`, { after });
      expect(body.errors?.[0]).toMatchObject({ message: 'after is not a cursor this API gave out', extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    }
  });

  it('a malformed cursor is BAD_USER_INPUT on usageEvents', async () => {
    const { token } = await newOwner(gw);
    for (const after of MALFORMED) {
      const body = await post(
        gw,
        token,
        'query($after: String) { usageEvents(range: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }, after: $after) { edges { cursor } } }',
        { after },
      );
      expect(body.errors?.[0]).toMatchObject({ message: 'after is not a cursor this API gave out', extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    }
  });
});
