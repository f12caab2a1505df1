// The workspace's share of the operator's platform providers: calls this month,
// in the workspace's time zone, against PLATFORM_MONTHLY_REQUESTS (the ledger
// counts them when it reserves a platform call).
import type { Viewer } from '../../auth/viewer.js';
import type { Sql } from '../../db/sql.js';
import { platformQuotaScope } from './counter-scopes.js';
import { readCounters } from './counters.repository.js';
import { monthKey } from './periods.js';

export interface PlatformQuota {
  /** "2026-11": the calendar month counted, in the workspace's time zone. */
  month: string;
  monthlyRequests: number;
  requestsThisMonth: number;
}

export interface PlatformQuotaDeps {
  sql: Sql;
  /** False when the operator configured no platform providers: there is no quota to show. */
  offered: boolean;
  monthlyRequests: number;
  timezone: (workspaceId: string) => Promise<string>;
  clock: () => Date;
}

export function createPlatformQuotaService(deps: PlatformQuotaDeps) {
  return {
    async read(viewer: Viewer): Promise<PlatformQuota | null> {
      if (!deps.offered) return null;
      const month = monthKey(deps.clock(), await deps.timezone(viewer.workspaceId));
      const scope = platformQuotaScope(viewer.workspaceId);
      const counter = (await readCounters(deps.sql, [scope], [month])).get(`${scope}|${month}`);
      return { month, monthlyRequests: deps.monthlyRequests, requestsThisMonth: counter?.requests ?? 0 };
    },
  };
}

export type PlatformQuotaService = ReturnType<typeof createPlatformQuotaService>;
