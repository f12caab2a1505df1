// The seeder writes realistic, exactly priced ledger rows, and the rollup it
// rebuilds agrees with them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import type { ProviderKind } from '../../src/generated/prisma/enums.js';
import { createCatalog } from '../../src/modules/catalog/catalog.js';
import { costMicros } from '../../src/modules/catalog/pricing.js';
import { seedUsage } from '../../src/modules/usage/seed.js';
import { newWorkspace, openTestDatabase, testConfig } from '../testkit/server.js';
import { userRollupBeside } from '../testkit/usage.js';

let db: Database;
beforeAll(async () => {
  db = await openTestDatabase(testConfig());
});
afterAll(() => db.close());

describe('seed:usage', () => {
  it('writes N priced rows over a year across providers, models, agents and users, and rebuilds the rollup', async () => {
    const catalog = createCatalog();
    const workspace = newWorkspace().id;
    const until = new Date('2026-11-01T00:00:00Z');
    const progress: number[] = [];
    const result = await seedUsage(db.sql, catalog, { workspaceId: workspace, events: 5_000, batch: 2_000, until, onProgress: (n) => progress.push(n) });
    expect(result.written).toBe(5_000);
    expect(progress).toEqual([2_000, 4_000, 5_000]);

    const rows = await db.sql.query<{
      kind: ProviderKind;
      model: string;
      prompt_tokens: number;
      cached_prompt_tokens: number;
      completion_tokens: number;
      reasoning_tokens: number;
      cost_micros: bigint;
      created_at: Date;
      provider_id: string;
      agent: string | null;
      user_id: string;
      status: string;
    }>(
      'SELECT kind::text, model, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_micros, created_at, provider_id::text, agent, user_id, status::text FROM usage_events WHERE workspace_id = $1',
      [workspace],
    );
    expect(rows).toHaveLength(5_000);
    for (const row of rows) {
      expect(catalog.has(row.kind, row.model)).toBe(true);
      expect(row.cost_micros).toBe(
        costMicros(
          { promptTokens: row.prompt_tokens, cachedPromptTokens: row.cached_prompt_tokens, completionTokens: row.completion_tokens },
          catalog.price(row.kind, row.model, until),
        ),
      );
      expect(row.cached_prompt_tokens).toBeLessThanOrEqual(row.prompt_tokens);
      expect(row.reasoning_tokens).toBeLessThanOrEqual(row.completion_tokens);
      expect(row.created_at.getTime()).toBeLessThanOrEqual(until.getTime());
      expect(row.created_at.getTime()).toBeGreaterThan(until.getTime() - 366 * 86_400_000);
    }
    expect(new Set(rows.map((r) => r.provider_id)).size).toBe(4);
    expect(new Set(rows.map((r) => r.model)).size).toBeGreaterThanOrEqual(8);
    expect(new Set(rows.map((r) => r.agent)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(rows.map((r) => r.user_id)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']));

    const [ledger] = await db.sql.query<{ n: bigint; tokens: bigint; cost: bigint }>(
      'SELECT count(*) AS n, sum(total_tokens)::int8 AS tokens, sum(cost_micros)::int8 AS cost FROM usage_events WHERE workspace_id = $1',
      [workspace],
    );
    const [rollup] = await db.sql.query<{ n: bigint; tokens: bigint; cost: bigint }>(
      'SELECT sum(requests)::int8 AS n, sum(total_tokens)::int8 AS tokens, sum(cost_micros)::int8 AS cost FROM usage_daily WHERE workspace_id = $1',
      [workspace],
    );
    expect(rollup).toEqual(ledger);

    // Seeding again reuses the seed providers.
    await seedUsage(db.sql, catalog, { workspaceId: workspace, events: 10, until });
    const providers = await db.sql.query('SELECT id FROM providers WHERE workspace_id = $1', [workspace]);
    expect(providers).toHaveLength(4);
    // Each seeding rebuilds both rollups: the per-user one is usage_daily summed by day and user.
    const { byUser, summed } = await userRollupBeside(db, workspace);
    expect(byUser.length).toBeGreaterThan(300);
    expect(byUser).toEqual(summed);
  });
});
