// Who a caller is once a credential is accepted, and what their role allows.
export type Role = 'OWNER' | 'ADMIN' | 'MEMBER';

export interface Viewer {
  userId: string;
  workspaceId: string;
  role: Role;
  /** Epoch milliseconds when the credential stops being valid (every accepted token has an `exp`). */
  expiresAt: number;
  /** Set when the caller authenticated with a gateway API key: what the key adds to its principal. */
  apiKey?: ApiKeyGrant;
}

export interface ApiKeyGrant {
  id: string;
  /** Calls default to this agent type. */
  agent: string | null;
  /** Empty: any model the route allows. */
  allowedModels: string[];
  dailyTokenLimit: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** Model calls a minute at most; null: no bound. */
  requestsPerMinute: number | null;
}

/** A SERVICE API key's user id is `apikey:<key id>`: no person's (a token's `sub` may not start so). */
const SERVICE_USER_PREFIX = 'apikey:';

export function serviceUserId(apiKeyId: string): string {
  return `${SERVICE_USER_PREFIX}${apiKeyId}`;
}

export function isServiceUserId(userId: string): boolean {
  return userId.startsWith(SERVICE_USER_PREFIX);
}

/** The agent a call is made as: the one it names, else its API key's (a key made for an agent tags its calls). */
export function callAgent(viewer: Viewer, named: string | null | undefined): string | undefined {
  return named ?? viewer.apiKey?.agent ?? undefined;
}

/** A Map, not an object literal: a claim such as "__proto__" or "constructor" must not find a property of every object. */
const ROLE_CLAIMS = new Map<string, Role>([
  ['owner', 'OWNER'],
  ['admin', 'ADMIN'],
  ['member', 'MEMBER'],
]);
const ROLE_RANK: Record<Role, number> = { MEMBER: 0, ADMIN: 1, OWNER: 2 };

/** A role claim as tokens write it (owner, admin, member, any case); undefined for anything else. */
export function roleFromClaim(claim: unknown): Role | undefined {
  return typeof claim === 'string' ? ROLE_CLAIMS.get(claim.toLowerCase()) : undefined;
}

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[minimum];
}
