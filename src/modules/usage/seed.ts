// Realistic ledger rows in bulk, for dashboards, demos and benchmarks: several
// providers (created DISABLED and keyless when the workspace has none), models
// of their kinds priced from the catalog, and a year of timestamps. Calls are
// made as a workspace makes them: tens of people, a handful of agents, each
// agent's operations on the model it is set up with, and people calling models
// themselves (no agent); each person works with a few of those workloads, some
// people far more than others. Rows are generated inside the database, a batch
// per statement, then the workspace's daily rollup is rebuilt.
import type { Sql } from '../../db/sql.js';
import type { ProviderKind } from '../../generated/prisma/enums.js';
import type { Catalog } from '../catalog/catalog.js';
import { rebuildRollup } from './rollup.js';

const SEED_PROVIDERS: Array<{ kind: ProviderKind; label: string; models: string[] }> = [
  { kind: 'OPENAI', label: 'Seed OpenAI', models: ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'gpt-4.1-mini'] },
  { kind: 'ANTHROPIC', label: 'Seed Anthropic', models: ['claude-sonnet-4-0', 'claude-3-5-haiku-latest'] },
  { kind: 'GEMINI', label: 'Seed Gemini', models: ['gemini-2.5-flash', 'gemini-2.5-pro'] },
  { kind: 'DEEPSEEK', label: 'Seed DeepSeek', models: ['deepseek-chat', 'deepseek-reasoner'] },
];
/** What calls are made for: an agent's operation on its model, or a person calling a model directly (no agent). */
const WORKLOADS: Array<{ agent: string | null; operation: string | null; model: string }> = [
  { agent: null, operation: null, model: 'gpt-4o' },
  { agent: null, operation: 'chat', model: 'claude-sonnet-4-0' },
  { agent: 'planner', operation: 'chat', model: 'gpt-4o' },
  { agent: 'planner', operation: 'classify', model: 'gpt-4o-mini' },
  { agent: 'coder', operation: 'chat', model: 'claude-sonnet-4-0' },
  { agent: 'coder', operation: 'extract', model: 'gpt-4.1-mini' },
  { agent: 'coder', operation: null, model: 'o3-mini' },
  { agent: 'reviewer', operation: 'summarize', model: 'claude-sonnet-4-0' },
  { agent: 'reviewer', operation: 'classify', model: 'gemini-2.5-flash' },
  { agent: null, operation: 'chat', model: 'deepseek-reasoner' },
  { agent: 'support-bot', operation: 'chat', model: 'gpt-4o-mini' },
  { agent: 'support-bot', operation: 'draft-email', model: 'claude-3-5-haiku-latest' },
  { agent: 'support-bot', operation: 'translate', model: 'gemini-2.5-flash' },
  { agent: 'summarizer', operation: 'summarize', model: 'gemini-2.5-pro' },
  { agent: 'summarizer', operation: 'extract', model: 'deepseek-chat' },
  { agent: null, operation: 'chat', model: 'gemini-2.5-pro' },
  { agent: null, operation: null, model: 'o3-mini' },
  { agent: null, operation: 'translate', model: 'deepseek-chat' },
];
/** Each person works with this many workloads, in a run of WORKLOADS (a team's agents) starting WORKLOAD_STRIDE further on than the person before. */
const WORKLOADS_PER_USER = 5;
const WORKLOAD_STRIDE = 3;

export interface SeedOptions {
  workspaceId: string;
  events: number;
  /** Rows per statement. */
  batch?: number;
  /** The year of timestamps ends here. */
  until?: Date;
  days?: number;
  users?: number;
  onProgress?: (written: number) => void;
}

export async function seedUsage(sql: Sql, catalog: Catalog, options: SeedOptions): Promise<{ written: number; seconds: number; rollupRows: number }> {
  const started = performance.now();
  const { workspaceId, events } = options;
  const batch = options.batch ?? 50_000;
  const until = options.until ?? new Date();
  const days = options.days ?? 365;
  await sql.query('INSERT INTO workspaces (id) VALUES ($1) ON CONFLICT DO NOTHING', [workspaceId]);
  const providers = await seedProviders(sql, workspaceId);

  // One row per (provider, model): the menu each generated row picks from, with its price in force at `until`.
  const menu = providers.flatMap((p) => p.models.map((model) => ({ provider: p.id, kind: p.kind, model, price: catalog.price(p.kind, model, until) })));
  const users = Array.from({ length: options.users ?? 40 }, (_, i) => `user-${i + 1}`);
  const menuIndex = (model: string) => 1 + menu.findIndex((m) => m.model === model);
  const values = [
    workspaceId,
    menu.map((m) => m.provider),
    menu.map((m) => m.kind),
    menu.map((m) => m.model),
    menu.map((m) => m.price.input.toString()),
    menu.map((m) => m.price.cachedInput.toString()),
    menu.map((m) => m.price.output.toString()),
    menu.map((m) => m.price.version),
    WORKLOADS.map((w) => w.agent),
    WORKLOADS.map((w) => w.operation),
    WORKLOADS.map((w) => menuIndex(w.model)),
    users,
    until,
    days,
    WORKLOADS_PER_USER,
    WORKLOAD_STRIDE,
  ];
  let written = 0;
  while (written < events) {
    const size = Math.min(batch, events - written);
    await sql.query(SEED_BATCH, [...values, size]);
    written += size;
    options.onProgress?.(written);
  }
  const rollupRows = await rebuildRollup(sql, workspaceId);
  return { written, seconds: (performance.now() - started) / 1000, rollupRows };
}

async function seedProviders(sql: Sql, workspaceId: string) {
  const existing = await sql.query<{ id: string; kind: ProviderKind; label: string }>(
    `SELECT id::text, kind::text, label FROM providers WHERE workspace_id = $1 AND label LIKE 'Seed %' ORDER BY label`,
    [workspaceId],
  );
  return Promise.all(
    SEED_PROVIDERS.map(async (seed) => {
      const found = existing.find((p) => p.label === seed.label);
      if (found) return { ...seed, id: found.id };
      const [row] = await sql.query<{ id: string }>(
        `INSERT INTO providers (id, workspace_id, kind, label, status, updated_at) VALUES (gen_random_uuid(), $1, $2::"ProviderKind", $3, 'DISABLED', now()) RETURNING id::text`,
        [workspaceId, seed.kind, seed.label],
      );
      return { ...seed, id: row.id };
    }),
  );
}

/**
 * $1 workspace, $2..$8 the menu (provider, kind, model, prices in µ$/MTok, price version), $9..$11 the workloads (agent,
 * operation, menu entry), $12 users, $13 end of the period, $14 its days, $15 workloads per user, $16 the stride between
 * users' workloads, $17 rows. Costs are integer micro-dollars computed exactly as the ledger does (one rounding, half up).
 */
const SEED_BATCH = `
  INSERT INTO usage_events (id, workspace_id, provider_id, kind, model, agent, operation, user_id, status, streamed, prompt_tokens, cached_prompt_tokens,
    completion_tokens, reasoning_tokens, total_tokens, usage_source, cost_micros, price_version, reserved_tokens, duration_ms, ttft_ms, error_code, created_at, finished_at)
  SELECT gen_random_uuid(), $1, ($2::uuid[])[c], (($3::text[])[c])::"ProviderKind", ($4::text[])[c], ($9::text[])[w], ($10::text[])[w], ($12::text[])[u], status, streamed,
    prompt, cached, completion, reasoning, prompt + completion, 'PROVIDER',
    ((prompt - cached)::int8 * ($5::int8[])[c] + cached::int8 * ($6::int8[])[c] + completion::int8 * ($7::int8[])[c] + 500000) / 1000000,
    ($8::text[])[c], prompt + 1024, duration, LEAST(duration, 150 + (r1 * 900)::int), CASE WHEN status = 'FAILED' THEN 'PROVIDER_UNAVAILABLE' END,
    at, at + duration * interval '1 millisecond'
  FROM (
    SELECT ($11::int[])[w] AS c, w, u, streamed, at, r1, prompt, completion,
      CASE WHEN r2 < 0.3 THEN (prompt * r3 * 0.6)::int ELSE 0 END AS cached,
      CASE WHEN r2 > 0.85 THEN (completion * r3 * 0.7)::int ELSE 0 END AS reasoning,
      CASE WHEN r4 < 0.05 THEN 'FAILED' WHEN r4 < 0.08 THEN 'CANCELLED' ELSE 'SUCCEEDED' END::"UsageStatus" AS status,
      (300 + r1 * r1 * 12000)::int AS duration
    FROM (
      SELECT 1 + ((u - 1) * $16::int + floor(random() * $15::int)::int) % cardinality($9::text[]) AS w, *
      FROM (
        SELECT 1 + floor(power(random(), 2) * cardinality($12::text[]))::int AS u,
          random() < 0.6 AS streamed, $13::timestamptz - random() * $14::int * interval '1 day' AS at,
          random() AS r1, random() AS r2, random() AS r3, random() AS r4,
          (40 + power(random(), 3) * 12000)::int AS prompt, (20 + power(random(), 2) * 2500)::int AS completion
        FROM generate_series(1, $17::int)
      ) AS person
    ) AS drawn
  ) AS rows`;
