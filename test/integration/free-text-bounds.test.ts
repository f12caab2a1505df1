// Free text is bounded where it enters: every field that routes, is stored or is
// reported on refuses over-long and odd values with BAD_USER_INPUT naming the
// field, and writes nothing. And a row that cannot be processed (legacy data
// written past these bounds) holds up no job: the sweeper goes on past it.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
let now = new Date('2026-06-10T12:00:00Z');
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }, { clock: () => now }), startSimulator()]);
});
afterAll(disposeAll);

async function graphql(token: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> };
}

/** What a refused call must not have written: ledger rows, providers, agent preferences, audit entries. */
async function rowsOf(workspaceId: string) {
  return gw.db.sql.query<{ ledger: bigint; providers: bigint; agents: bigint; audit: bigint }>(
    `SELECT (SELECT count(*) FROM usage_events WHERE workspace_id = $1) AS ledger, (SELECT count(*) FROM providers WHERE workspace_id = $1) AS providers,
      (SELECT count(*) FROM agent_preferences WHERE workspace_id = $1) AS agents, (SELECT count(*) FROM audit_entries WHERE workspace_id = $1) AS audit`,
    [workspaceId],
  );
}

/** The classes that broke or could break something: huge, just over a bound, control characters, blank. */
const HUGE = 'm'.repeat(3_000);
const BAD_MODELS = { huge: HUGE, 'just over 200': 'm'.repeat(201), 'a space': 'gpt 4o', 'a control character': 'gpt-4o\u0007', 'non-ASCII': 'gpt-4o-ünï', blank: '' };
const BAD_NAMES = { huge: HUGE, 'just over 64': 'a'.repeat(65), 'a control character': 'support\n', markup: '<script>', blank: '' };
const BAD_LABELS = { huge: HUGE, 'just over 100': 'l'.repeat(101), 'a control character': 'Main\u001b[31m', blank: '   ' };

type Case = { operation: string; field: string; query: string; variables: (value: string, ids: { provider: string }) => Record<string, unknown> };
const CHAT = 'mutation($input: ChatInput!) { chat(input: $input) { content } }';
const cases: Array<[Case, Record<string, string>]> = [
  [{ operation: 'chat', field: 'model', query: CHAT, variables: (model) => ({ input: { messages: userMessage(), model } }) }, BAD_MODELS],
  [{ operation: 'chat', field: 'agent', query: CHAT, variables: (agent) => ({ input: { messages: userMessage(), agent } }) }, BAD_NAMES],
  [{ operation: 'chat', field: 'operation', query: CHAT, variables: (operation) => ({ input: { messages: userMessage(), operation } }) }, BAD_NAMES],
  [
    { operation: 'resolveRoute', field: 'model', query: 'query($model: String) { resolveRoute(model: $model) { candidates { providerId } } }', variables: (model) => ({ model }) },
    BAD_MODELS,
  ],
  [
    {
      operation: 'addProvider',
      field: 'label',
      query: 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }',
      variables: (label) => ({ input: { kind: 'OLLAMA', apiKey: '', label, baseUrl: sim.baseUrls.openai, skipValidation: true } }),
    },
    BAD_LABELS,
  ],
  [
    {
      operation: 'addProvider',
      field: 'defaultModel',
      query: 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }',
      variables: (defaultModel) => ({ input: { kind: 'OLLAMA', apiKey: '', defaultModel, baseUrl: sim.baseUrls.openai, skipValidation: true } }),
    },
    BAD_MODELS,
  ],
  [
    {
      operation: 'updateProvider',
      field: 'label',
      query: 'mutation($id: ID!, $input: UpdateProviderInput!) { updateProvider(id: $id, input: $input) { id } }',
      variables: (label, ids) => ({ id: ids.provider, input: { label } }),
    },
    BAD_LABELS,
  ],
  ...(['defaultModel', 'fallbackModel', 'embeddingModel'] as const).map((field): [Case, Record<string, string>] => [
    {
      operation: 'updatePreferences',
      field,
      query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { timezone } }',
      variables: (value, ids) => ({ input: { [field.replace('Model', 'ProviderId')]: ids.provider, [field]: value } }),
    },
    BAD_MODELS,
  ]),
  [
    {
      operation: 'updatePreferences',
      field: 'timezone',
      query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { timezone } }',
      variables: (timezone) => ({ input: { timezone } }),
    },
    { huge: HUGE, 'not a zone': 'Mars/Olympus_Mons' },
  ],
  ...(['agentType', 'model', 'fallbackModel'] as const).map((field): [Case, Record<string, string>] => [
    {
      operation: 'setAgentModelPreference',
      field,
      query: 'mutation($input: AgentModelPreferenceInput!) { setAgentModelPreference(input: $input) { agentType } }',
      variables: (value, ids) => ({
        input: { agentType: 'support', providerId: ids.provider, model: 'gpt-4o-mini', fallbackProviderId: ids.provider, fallbackModel: 'gpt-4o-mini', [field]: value },
      }),
    },
    field === 'agentType' ? BAD_NAMES : BAD_MODELS,
  ]),
  [
    {
      operation: 'removeAgentModelPreference',
      field: 'agentType',
      query: 'mutation($agentType: String!) { removeAgentModelPreference(agentType: $agentType) }',
      variables: (agentType) => ({ agentType }),
    },
    BAD_NAMES,
  ],
  [{ operation: 'models', field: 'search', query: 'query($search: String) { models(search: $search) { totalCount } }', variables: (search) => ({ search }) }, { huge: HUGE }],
];

describe('free text is bounded where it enters', () => {
  it.each(cases.map(([c, values]) => [`${c.operation} ${c.field}`, c, values] as const))(
    '%s: BAD_USER_INPUT naming the field, nothing written, the value never echoed',
    async (_name, c, values) => {
      const { workspace, token } = await newOwner(gw);
      const provider = await addSimProvider(gw, sim, token);
      const before = await rowsOf(workspace.id);
      for (const [what, value] of Object.entries(values)) {
        const result = await graphql(token, c.query, c.variables(value, { provider: provider.id }));
        expect(result.errors?.[0]?.extensions, `${what}: ${result.errors?.[0]?.message}`).toMatchObject({ code: 'BAD_USER_INPUT', field: c.field });
        if (value.length > 8) expect(result.errors![0].message, what).not.toContain(value.slice(0, 64));
      }
      expect(await rowsOf(workspace.id)).toEqual(before);
      expect(sim.requests.filter((r) => r.key === provider.key && r.method === 'POST')).toEqual([]);
    },
  );

  it('still takes the names providers really use', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    for (const model of ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B-Instruct-Turbo', 'llama3.1:8b', 'models/gemini-2.0-flash', 'm'.repeat(200)]) {
      const result = await graphql(token, 'query($model: String) { resolveRoute(model: $model) { candidates { model } } }', { model });
      expect(result.errors, model).toBeUndefined();
    }
    for (const agent of ['support', 'research/deep dive', 'a'.repeat(64)]) {
      expect((await graphql(token, CHAT, { input: { messages: userMessage(), agent, maxTokens: 20 } })).errors, agent).toBeUndefined();
    }
  });
});

describe('a row no job can process', () => {
  it('holds up no other: the sweeper sweeps the rest, reports it, and goes on every run', async () => {
    // The sweeper is global: on CI's shared Postgres, a date no other test uses keeps it off their rows.
    const started = now;
    now = new Date('2023-01-15T12:00:00Z');
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    // Two calls that died between reserve and finalize; one was written before the bounds (a 3 KB model,
    // too long for the rollup's key), so sweeping it fails.
    const reserved = (id: string, model: string) =>
      gw.db.sql.query(
        `INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, user_id, status, reserved_tokens, reserved_micros, created_at)
         VALUES ($1::uuid, $2, $3::uuid, 'OPENAI', $4, 'ghost', 'RESERVED', 100, 7, $5)`,
        [id, workspace.id, provider.id, model, now],
      );
    const [bad, good] = [randomUUID(), randomUUID()];
    // Random text: Postgres would compress a repeated one under the index's row size.
    await reserved(bad, randomBytes(2_400).toString('base64'));
    await reserved(good, 'gpt-4o-mini');
    await gw.db.sql.query(
      `INSERT INTO usage_counters (scope, period, workspace_id, tokens, cost_micros, requests) VALUES ($1, '2023-01-15', $3, 200, 14, 0), ($1, '2023-01', $3, 200, 14, 0), ($2, '2023-01-15', $3, 200, 14, 0), ($2, '2023-01', $3, 200, 14, 0)`,
      [`provider:${provider.id}`, `workspace:${workspace.id}`, workspace.id],
    );
    now = new Date(now.getTime() + gw.config.reservationTimeoutMs + 60_000);
    try {
      const sweep = gw.app.jobs.list.find((job) => job.name === 'sweep-reservations')!;
      for (let run = 0; run < 2; run++) {
        const summary = await gw.app.jobs.scheduler.runOnce(sweep);
        expect(summary).toEqual(run === 0 ? { swept: 1, failed: 1 } : { swept: 0, failed: 1 });
      }
      const rows = await gw.db.sql.query<{ id: string; status: string }>('SELECT id::text, status::text FROM usage_events WHERE workspace_id = $1 ORDER BY status', [workspace.id]);
      expect(rows).toEqual([
        { id: good, status: 'ABANDONED' },
        { id: bad, status: 'RESERVED' },
      ]);
      const counters = await gw.db.sql.query<{ tokens: bigint }>('SELECT tokens FROM usage_counters WHERE workspace_id = $1', [workspace.id]);
      expect(counters.map((c) => c.tokens)).toEqual([100n, 100n, 100n, 100n]);
      expect(gw.logs.filter((line) => line.includes('job item failed') && line.includes(bad))).toHaveLength(2);
    } finally {
      now = started;
      await gw.db.sql.query('DELETE FROM usage_events WHERE id = $1::uuid', [bad]);
    }
  });
});
