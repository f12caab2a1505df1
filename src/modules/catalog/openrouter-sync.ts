// OpenRouter's public model list carries prices per token. When a workspace
// connects an OpenRouter key, the gateway reads that list from
// OPENROUTER_CATALOG_URL (no key is sent: the list is public, and a workspace's
// own base URL cannot set prices for everyone), stores it for every instance,
// and prices OpenRouter calls with it from then on. Instances reload the stored
// list when they start and every few minutes.
import type { Sql } from '../../db/sql.js';
import type { Logger } from '../../logging/logger.js';
import { type Catalog, type ListedModel, type OpenRouterModel, parseOpenRouterList } from './catalog.js';

/** At most one refresh an hour per instance, however often keys are added or tested. */
const REFRESH_EVERY_MS = 3_600_000;

export interface OpenRouterSyncDeps {
  sql: Sql;
  catalog: Catalog;
  fetch: typeof fetch;
  url: string;
  timeoutMs: number;
  clock: () => Date;
  logger: Logger;
}

export function createOpenRouterSync(deps: OpenRouterSyncDeps) {
  let lastRefresh = -Infinity;
  let inFlight = false;
  /** The latest refresh: how many models it read (0 when it failed). */
  let latest: Promise<number> = Promise.resolve(0);

  async function refresh(): Promise<number> {
    const response = await deps.fetch(`${deps.url.replace(/\/$/, '')}/models`, { signal: AbortSignal.timeout(deps.timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`OpenRouter model list answered ${response.status}`);
    const body = (await response.json()) as { data?: OpenRouterModel[] };
    const listed = parseOpenRouterList(Array.isArray(body.data) ? body.data : []);
    if (listed.length === 0) throw new Error('OpenRouter model list had no priced models');
    const now = deps.clock();
    await deps.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM catalog_models WHERE kind = 'OPENROUTER'`);
      await tx.query(
        `INSERT INTO catalog_models (kind, model, display_name, context_window, input_micros, cached_input_micros, output_micros, refreshed_at, capabilities)
        SELECT 'OPENROUTER', model, display_name, context_window, input, cached_input, output, $7::timestamptz, string_to_array(capabilities, ',')
        FROM unnest($1::text[], $2::text[], $3::int[], $4::int8[], $5::int8[], $6::int8[], $8::text[])
          AS m(model, display_name, context_window, input, cached_input, output, capabilities)`,
        [
          listed.map((m) => m.model),
          listed.map((m) => m.displayName),
          listed.map((m) => m.contextWindow),
          ...(['input', 'cachedInput', 'output'] as const).map((k) => listed.map((m) => m.price[k].toString())),
          now,
          // Null where the list did not say.
          listed.map((m) => m.capabilities?.join(',') ?? null),
        ],
      );
    });
    deps.catalog.applyOpenRouter(listed, now);
    return listed.length;
  }

  return {
    /** Called when a workspace's OpenRouter key is added or tested: refreshes in the background, at most hourly. */
    refreshSoon(): void {
      if (inFlight || deps.clock().getTime() - lastRefresh < REFRESH_EVERY_MS) return;
      lastRefresh = deps.clock().getTime();
      inFlight = true;
      latest = refresh()
        .then((count) => {
          deps.logger.info({ models: count }, 'OpenRouter prices refreshed');
          return count;
        })
        .catch((error: unknown) => {
          deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'OpenRouter prices not refreshed; the shipped prices stay in force');
          return 0;
        })
        .finally(() => (inFlight = false));
    },

    /** The latest refresh's outcome, once it is done. */
    settled: () => latest,

    /** Puts the stored list in force on this instance. */
    async load(): Promise<void> {
      const rows = await deps.sql.query<{
        model: string;
        display_name: string;
        context_window: number | null;
        input_micros: bigint;
        cached_input_micros: bigint;
        output_micros: bigint;
        refreshed_at: Date;
        capabilities: string[] | null;
      }>(`SELECT model, display_name, context_window, input_micros, cached_input_micros, output_micros, refreshed_at, capabilities FROM catalog_models WHERE kind = 'OPENROUTER'`);
      if (rows.length === 0) return;
      const listed: ListedModel[] = rows.map((r) => ({
        model: r.model,
        displayName: r.display_name,
        contextWindow: r.context_window,
        price: { input: r.input_micros, cachedInput: r.cached_input_micros, output: r.output_micros },
        capabilities: r.capabilities,
      }));
      deps.catalog.applyOpenRouter(listed, rows[0].refreshed_at);
    },
  };
}

export type OpenRouterSync = ReturnType<typeof createOpenRouterSync>;
