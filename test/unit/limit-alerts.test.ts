// Which alerts one reservation raises.
import { describe, expect, it } from 'vitest';
import { type Guard, limitAlerts } from '../../src/modules/limits/guards.js';

const guard = (overrides: Partial<Guard>): Guard => ({
  key: 'PROVIDER_DAILY_TOKENS',
  scope: 'provider:p1',
  period: '2026-06-10',
  limit: 1000n,
  added: 100n,
  after: 500n,
  ...overrides,
});
const kinds = (guards: Guard[], threshold = 0.8) => limitAlerts(guards, threshold).map((a) => `${a.kind} ${a.dedupeKey}`);

describe('limit alerts', () => {
  it.each([
    ['no limit set', guard({ limit: null, after: 10_000n }), []],
    ['under the warning share', guard({ after: 799n }), []],
    ['crossing the warning share', guard({ after: 800n }), ['LIMIT_WARNING LIMIT_WARNING:provider:p1:2026-06-10']],
    ['already past the warning share', guard({ after: 950n, added: 100n }), []],
    ['filling the limit exactly (finalize gives back what the call does not use)', guard({ after: 1000n, added: 100n }), []],
    ['refused (no level known)', guard({ after: null }), ['LIMIT_REACHED LIMIT_REACHED:provider:p1:2026-06-10']],
    ['a budget crossing', guard({ key: 'WORKSPACE_MONTHLY_BUDGET', scope: 'workspace:w', period: '2026-06', after: 850n }), ['BUDGET_WARNING BUDGET_WARNING:workspace:w:2026-06']],
  ] as const)('%s', (_what, input, expected) => {
    expect(kinds([input])).toEqual(expected);
  });

  it('follows the workspace threshold', () => {
    expect(kinds([guard({ after: 500n })], 0.5)).toEqual(['LIMIT_WARNING LIMIT_WARNING:provider:p1:2026-06-10']);
  });
});
