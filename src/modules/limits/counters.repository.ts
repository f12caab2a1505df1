// Reading the limit counters (they are written by the ledger's reserve and finalize statements).
import type { Sql } from '../../db/sql.js';

export interface CounterLevel {
  tokens: bigint;
  costMicros: bigint;
  /** Calls counted (what the platform quota limits). */
  requests: number;
}

/** The counters of these scopes in these periods, keyed `scope|period`; a counter not written yet is absent (zero). */
export async function readCounters(sql: Sql, scopes: string[], periods: string[]): Promise<Map<string, CounterLevel>> {
  const rows = await sql.query<{ scope: string; period: string; tokens: bigint; cost_micros: bigint; requests: number }>(
    'SELECT scope, period, tokens, cost_micros, requests FROM usage_counters WHERE scope = ANY($1::text[]) AND period = ANY($2::text[])',
    [scopes, periods],
  );
  return new Map(rows.map((row) => [`${row.scope}|${row.period}`, { tokens: row.tokens, costMicros: row.cost_micros, requests: row.requests }]));
}
