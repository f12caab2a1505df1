// The limits a call is reserved against, where they are counted, the refusal
// when one would be passed, and the alerts a reservation raises when it crosses
// the warning share or the limit.
import { AppError } from '../../errors.js';
import { microsToUsd } from '../../money.js';
import type { AlertDraft } from '../alerts/alerts.service.js';

export type LimitKey =
  | 'PROVIDER_DAILY_TOKENS'
  | 'PROVIDER_MONTHLY_BUDGET'
  | 'WORKSPACE_DAILY_TOKENS'
  | 'WORKSPACE_MONTHLY_BUDGET'
  | 'API_KEY_DAILY_TOKENS'
  | 'API_KEY_MONTHLY_BUDGET';
/** Every limit that can refuse a call: the counters a workspace sets, and the operator's monthly platform calls per workspace. */
export type RefusingLimit = LimitKey | 'PLATFORM_MONTHLY_REQUESTS';
export type LimitAlertKind = 'LIMIT_WARNING' | 'LIMIT_REACHED' | 'BUDGET_WARNING' | 'BUDGET_REACHED';

/** One limit as a reservation meets it: the counter it is kept on and the level after the reservation. */
export interface Guard {
  key: LimitKey;
  scope: string;
  period: string;
  /** null: no limit set. Tokens, or micro-dollars for budgets. */
  limit: bigint | null;
  /** What this reservation added (same unit). */
  added: bigint;
  /** The counter after it (same unit); null when the reservation was refused. */
  after: bigint | null;
}

/**
 * The limits a call meets, in the order their counters are locked: the provider's and the workspace's, then, for
 * a call made with a gateway API key, the key's. Every reservation locks in this one order, so none can deadlock.
 */
export function guardOrder(withApiKey: boolean): readonly LimitKey[] {
  return withApiKey ? WITH_API_KEY : WITHOUT_API_KEY;
}
const WITHOUT_API_KEY: readonly LimitKey[] = ['PROVIDER_DAILY_TOKENS', 'PROVIDER_MONTHLY_BUDGET', 'WORKSPACE_DAILY_TOKENS', 'WORKSPACE_MONTHLY_BUDGET'];
const WITH_API_KEY: readonly LimitKey[] = [...WITHOUT_API_KEY, 'API_KEY_DAILY_TOKENS', 'API_KEY_MONTHLY_BUDGET'];

export const LIMIT_DESCRIPTION: Record<LimitKey, string> = {
  PROVIDER_DAILY_TOKENS: "the provider's daily token limit",
  PROVIDER_MONTHLY_BUDGET: "the provider's monthly budget",
  WORKSPACE_DAILY_TOKENS: "the workspace's daily token limit",
  WORKSPACE_MONTHLY_BUDGET: "the workspace's monthly budget",
  API_KEY_DAILY_TOKENS: "the API key's daily token limit",
  API_KEY_MONTHLY_BUDGET: "the API key's monthly budget",
};

export const isBudget = (key: LimitKey) => key.endsWith('BUDGET');

/** An amount of a budget: to the cent, or to the micro-dollar under a cent. */
export const usdText = (micros: bigint) => `$${microsToUsd(micros).toFixed(micros >= 10_000n ? 2 : 6)}`;

/** A reservation that would pass a limit: nothing was written. */
export class LimitExceeded extends AppError {
  private constructor(
    readonly limit: RefusingLimit,
    message: string,
    /** The workspace's counter that refused (its level is unknown); null for the platform quota, which raises no alert. */
    readonly guard: Guard | null,
    details: Record<string, unknown>,
  ) {
    super('LIMIT_EXCEEDED', message, details);
  }

  static counter(guard: Guard): LimitExceeded {
    return new LimitExceeded(guard.key, `This call would go past ${LIMIT_DESCRIPTION[guard.key]}`, guard, { limit: guard.key });
  }

  /** Its error names no limit in its extensions, as before the platform quota was a LimitExceeded (the message says what to do). */
  static platform(monthlyRequests: number): LimitExceeded {
    return new LimitExceeded('PLATFORM_MONTHLY_REQUESTS', `This workspace has used its ${monthlyRequests} platform calls for the month: add a provider key of your own`, null, {});
  }
}

export interface LimitAlert {
  kind: LimitAlertKind;
  guard: Guard;
  /** The same crossing in the same period is one alert, however many calls race to it. */
  dedupeKey: string;
  message: string;
}

/**
 * The alerts one reservation raises: a guard whose counter went from under
 * `threshold` × limit to at or over it warns; one that refused the call says
 * its limit is reached. Each is deduplicated by (kind, counter, period).
 */
export function limitAlerts(guards: Guard[], threshold: number): LimitAlert[] {
  const alerts: LimitAlert[] = [];
  for (const guard of guards) {
    if (guard.limit === null) continue;
    const budget = isBudget(guard.key);
    const raise = (level: 'WARNING' | 'REACHED', message: string) => {
      const kind = `${budget ? 'BUDGET' : 'LIMIT'}_${level}` as LimitAlertKind;
      alerts.push({ kind, guard, dedupeKey: `${kind}:${guard.scope}:${guard.period}`, message });
    };
    const show = (value: bigint) => (budget ? usdText(value) : value.toLocaleString('en-US'));
    // Only a refusal says a limit is reached: a reservation may fill what is left (its output allowance
    // shrinks to fit), and its finalize gives back what the call did not use.
    if (guard.after === null) {
      raise(
        'REACHED',
        `${capitalize(LIMIT_DESCRIPTION[guard.key])} (${show(guard.limit)}) is reached for ${guard.period}: calls are refused until ${budget ? 'next month' : 'tomorrow'}`,
      );
      continue;
    }
    const warnAt = Number(guard.limit) * threshold;
    const before = guard.after - guard.added;
    if (Number(before) < warnAt && Number(guard.after) >= warnAt) {
      raise(
        'WARNING',
        `${capitalize(LIMIT_DESCRIPTION[guard.key])} is ${Math.floor((Number(guard.after) / Number(guard.limit)) * 100)}% used for ${guard.period} (${show(guard.after)} of ${show(guard.limit)})`,
      );
    }
  }
  return alerts;
}

/** The alerts of `limitAlerts`, worded for the provider the call went to. */
export function limitAlertDrafts(guards: Guard[], threshold: number, provider: { id: string; label: string }): AlertDraft[] {
  return limitAlerts(guards, threshold).map((alert) => {
    const ofProvider = alert.guard.key.startsWith('PROVIDER');
    return {
      kind: alert.kind,
      severity: alert.kind.endsWith('REACHED') ? 'CRITICAL' : 'WARNING',
      providerId: ofProvider ? provider.id : null,
      message: ofProvider ? `${provider.label}: ${alert.message}` : alert.message,
      data: { limit: alert.guard.key, period: alert.guard.period, ...(alert.guard.after === null ? {} : { used: Number(alert.guard.after) }), max: Number(alert.guard.limit) },
      dedupeKey: alert.dedupeKey,
    };
  });
}

export const capitalize = (text: string) => text[0].toUpperCase() + text.slice(1);
