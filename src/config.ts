// Every environment variable the gateway reads, parsed once. Nothing else reads
// process.env. All problems are collected and reported together.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { ProviderKind } from './generated/prisma/enums.js';
import { KINDS } from './modules/providers/kinds.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** RS256/ES256 keys from a JWKS endpoint. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  host: string;
  dataDir: string;
  /** Unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Postgres: connections per instance, and how long a statement waits for one before SERVICE_UNAVAILABLE. */
  databasePool: { size: number; timeoutMs: number };
  /** Unset: in-process pub/sub (one instance). */
  redisUrl?: string;
  jwt: JwtConfig;
  /** `id:base64key,...`; the first encrypts, all decrypt. */
  encryptionKeys: string;
  logLevel: LogLevel;
  /** Apply pending migrations at start (default: on for the embedded database, off for DATABASE_URL). */
  migrateOnStart: boolean;
  /** Serve the console at /console/ (default on; operators who do not want it turn it off). */
  consoleEnabled: boolean;
  /** How long a start waits for another instance that is applying migrations. */
  migrateLockTimeoutMs: number;
  maxRequestBodyBytes: number;
  wsMaxPayloadBytes: number;
  /** A WebSocket that has not sent connection_init by then is closed with 4408. */
  wsConnectionInitTimeoutMs: number;
  /** Operations one WebSocket may hold open at once. */
  wsMaxOperationsPerConnection: number;
  /** Operations one user may hold open on this instance: WebSocket operations and SSE subscriptions together. */
  maxOperationsPerUser: number;
  /** Bounds every operation on every transport (see src/graphql/operation-limits.ts). */
  operationLimits: OperationLimits;
  /** on: anyone; admin: ADMIN and OWNER tokens only; off: nobody. */
  introspection: 'on' | 'admin' | 'off';
  /** Origins allowed by CORS; empty: no CORS headers (same origin only); ['*']: any. */
  corsOrigins: string[];
  /** No single line of a provider's answer (one SSE event, or a whole JSON body) may be longer. */
  upstreamMaxLineBytes: number;
  shutdownTimeoutMs: number;
  /** Where provider keys may be sent besides public addresses (see src/net/egress.ts). */
  egress: { allowLoopback: boolean; allowedHosts: Set<string>; allowedCidrs: string[] };
  /** Time limit for one provider call (validation, model lists, a chat answer, a stream's first event). */
  providerTimeoutMs: number;
  /** Longest silence between two events of a streamed answer. */
  streamIdleTimeoutMs: number;
  /** Key additions, rotations and deletions a user may make per hour. */
  credentialChangesPerHour: number;
  /** Operator-configured providers for workspaces without keys of their own. */
  platformProviders: PlatformProviderConfig[];
  /** Calls per workspace per month through platform providers. */
  platformMonthlyRequests: number;
  /** Where OpenRouter's public, priced model list is read (no key is sent). */
  openRouterCatalogUrl: string;
  /** A RESERVED ledger row older than this belongs to a call that died: the sweeper abandons it. */
  reservationTimeoutMs: number;
  sweepIntervalMs: number;
  /** Alert channel delivery: how often due deliveries are sent, the tries per alert and channel, the first retry's wait (doubled each time), one try's time limit. */
  alertDelivery: { everyMs: number; attempts: number; backoffMs: number; timeoutMs: number };
  /** How often monthly budgets are checked against the month's run rate (BUDGET_FORECAST). */
  budgetForecastIntervalMs: number;
  /** How often every stored key is validated again. */
  keyRevalidationIntervalMs: number;
  /** Provider health from the calls of the last window (see modules/health). */
  health: { windowMs: number; minCalls: number; degradedErrorRate: number };
  /** Retries of a failed upstream call before the first token (then the next provider). */
  chatRetry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  /** Notes for the operator about defaults that were filled in (printed once at start). */
  notices: string[];
}

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  maxCharacters: number;
}

export interface PlatformProviderConfig {
  kind: ProviderKind;
  apiKey: string;
  baseUrl?: string;
  defaultModel?: string;
  label?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export const DEFAULT_MIGRATE_LOCK_TIMEOUT_MS = 300_000;

/** Reads one variable at a time, remembering every problem instead of throwing at the first. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }

  list(name: string): string[] {
    return (this.string(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }

  cidrs(name: string): string[] {
    const cidrs = this.list(name);
    for (const cidr of cidrs) {
      const [address, bits, ...rest] = cidr.split('/');
      const family = isIP(address);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || rest.length > 0 || (bits !== undefined && !(Number.isInteger(Number(bits)) && Number(bits) >= 0 && Number(bits) <= max))) {
        this.problems.push(`${name}: "${cidr}" is not an address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
      }
    }
    return cidrs;
  }

  /** A JSON array of providers; problems name the entry and field, never a key. */
  platformProviders(name: string): PlatformProviderConfig[] {
    const raw = this.string(name);
    if (raw === undefined) return [];
    let entries: unknown;
    try {
      entries = JSON.parse(raw);
    } catch {
      this.problems.push(`${name}: expected a JSON array of {kind, apiKey, baseUrl?, defaultModel?, label?}`);
      return [];
    }
    if (!Array.isArray(entries)) {
      this.problems.push(`${name}: expected a JSON array`);
      return [];
    }
    const valid: PlatformProviderConfig[] = [];
    entries.forEach((entry: Record<string, unknown>, i) => {
      const kind = entry?.kind as ProviderKind;
      const optional = ['baseUrl', 'defaultModel', 'label'].filter((field) => entry?.[field] !== undefined && typeof entry[field] !== 'string');
      if (!(kind in KINDS)) this.problems.push(`${name}[${i}].kind: expected one of ${Object.keys(KINDS).join(', ')}`);
      else if (typeof entry.apiKey !== 'string' || (KINDS[kind].requiresKey && !entry.apiKey)) this.problems.push(`${name}[${i}].apiKey: expected a key`);
      else if (!entry.baseUrl && !KINDS[kind].defaultBaseUrl) this.problems.push(`${name}[${i}].baseUrl: required for ${kind}`);
      else if (optional.length > 0) this.problems.push(`${name}[${i}]: ${optional.join(', ')} must be strings`);
      else valid.push(entry as unknown as PlatformProviderConfig);
    });
    return valid;
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (protocols.includes(parsed.protocol)) return raw;
    } catch {
      // reported below
    }
    // The value may hold a password: name the variable, never echo it.
    this.problems.push(`${name}: expected a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`);
    return undefined;
  }
}

/** Checks `id:base64key,...` without keeping anything; the keyring parses it for use. */
export function encryptionKeysProblem(value: string): string | undefined {
  const ids = new Set<string>();
  for (const entry of value.split(',')) {
    const [id, key, ...rest] = entry.trim().split(':');
    if (!id || !key || rest.length > 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      return 'expected "id:base64key[,id:base64key...]" with ids of letters, digits, _ or -';
    }
    if (ids.has(id)) return `key id "${id}" appears twice`;
    ids.add(id);
    if (Buffer.from(key, 'base64').length !== 32) return `key "${id}" must be 32 bytes, base64-encoded`;
  }
  return undefined;
}

interface DevSecrets {
  jwtSecret: string;
  encryptionKeys: string;
}

/** Creates DATA_DIR and its parents when missing; a problem when it cannot be created or written. */
function dataDirProblem(dataDir: string): string | undefined {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK);
    return undefined;
  } catch (error) {
    return `DATA_DIR: cannot create or write "${dataDir}" (${(error as Error).message})`;
  }
}

/** Development only: secrets created once and kept in DATA_DIR so tokens and keys survive restarts. */
function loadOrCreateDevSecrets(dataDir: string, notices: string[]): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  const secrets: DevSecrets = {
    jwtSecret: randomBytes(32).toString('base64url'),
    encryptionKeys: `dev1:${randomBytes(32).toString('base64')}`,
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  notices.push(`Created development JWT secret and encryption key in ${file} (set JWT_SECRET and ENCRYPTION_KEYS to use your own).`);
  return secrets;
}

export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const production = nodeEnv === 'production';
  const dataDir = path.resolve(read.string('DATA_DIR') ?? './data');
  const databaseUrl = read.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const jwt: JwtConfig = {
    secret: read.string('JWT_SECRET'),
    jwksUrl: read.url('JWKS_URL', ['https:', 'http:']),
    issuer: read.string('JWT_ISSUER'),
    audience: read.string('JWT_AUDIENCE'),
  };
  if (jwt.secret !== undefined && Buffer.byteLength(jwt.secret) < 32) {
    read.problems.push('JWT_SECRET: expected at least 32 bytes (HS256 needs a key as long as its hash)');
  }
  if (jwt.secret && jwt.jwksUrl) read.problems.push('JWT_SECRET and JWKS_URL: set one of them, not both');

  let encryptionKeys = read.string('ENCRYPTION_KEYS');
  if (encryptionKeys !== undefined) {
    const problem = encryptionKeysProblem(encryptionKeys);
    if (problem) read.problems.push(`ENCRYPTION_KEYS: ${problem}`);
  }

  if (production) {
    if (!jwt.secret && !jwt.jwksUrl) read.problems.push('JWT_SECRET or JWKS_URL: required when NODE_ENV=production');
    if (!encryptionKeys) read.problems.push('ENCRYPTION_KEYS: required when NODE_ENV=production');
  }

  const config = {
    nodeEnv,
    production,
    port: read.int('PORT', 4000, 0, 65535),
    host: read.string('HOST') ?? '127.0.0.1',
    dataDir,
    databaseUrl,
    databasePool: { size: read.int('DATABASE_POOL_SIZE', 10, 1, 1000), timeoutMs: read.int('DATABASE_POOL_TIMEOUT_MS', 5_000, 100, 600_000) },
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    jwt,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    migrateOnStart: read.bool('MIGRATE_ON_START', databaseUrl === undefined),
    consoleEnabled: read.bool('CONSOLE_ENABLED', true),
    migrateLockTimeoutMs: read.int('MIGRATE_LOCK_TIMEOUT_MS', DEFAULT_MIGRATE_LOCK_TIMEOUT_MS, 1_000, 86_400_000),
    maxRequestBodyBytes: read.int('MAX_REQUEST_BODY_BYTES', 1_048_576, 1024, 104_857_600),
    wsMaxPayloadBytes: read.int('WS_MAX_PAYLOAD_BYTES', 1_048_576, 1024, 104_857_600),
    wsConnectionInitTimeoutMs: read.int('WS_CONNECTION_INIT_TIMEOUT_MS', 3_000, 100, 60_000),
    wsMaxOperationsPerConnection: read.int('WS_MAX_OPERATIONS_PER_CONNECTION', 100, 1, 100_000),
    maxOperationsPerUser: read.int('MAX_OPERATIONS_PER_USER', 200, 1, 1_000_000),
    operationLimits: {
      maxDepth: read.int('GRAPHQL_MAX_DEPTH', 10, 1, 100),
      maxAliases: read.int('GRAPHQL_MAX_ALIASES', 15, 0, 1000),
      maxTokens: read.int('GRAPHQL_MAX_TOKENS', 2000, 10, 100_000),
      maxDirectives: read.int('GRAPHQL_MAX_DIRECTIVES', 20, 0, 1000),
      maxCost: read.int('GRAPHQL_MAX_COST', 5000, 10, 1_000_000),
      maxCharacters: read.int('GRAPHQL_MAX_CHARACTERS', 15_000, 100, 1_000_000),
    },
    introspection: read.oneOf('GRAPHQL_INTROSPECTION', ['on', 'admin', 'off'] as const, production ? 'off' : 'on'),
    corsOrigins: read.list('CORS_ORIGINS'),
    upstreamMaxLineBytes: read.int('UPSTREAM_MAX_LINE_BYTES', 4_194_304, 1024, 1_073_741_824),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    egress: {
      allowLoopback: nodeEnv === 'development',
      allowedHosts: new Set(read.list('PROVIDER_ALLOWED_HOSTS').map((host) => host.toLowerCase())),
      allowedCidrs: read.cidrs('PROVIDER_ALLOWED_CIDRS'),
    },
    providerTimeoutMs: read.int('PROVIDER_TIMEOUT_MS', 15_000, 100, 600_000),
    streamIdleTimeoutMs: read.int('STREAM_IDLE_TIMEOUT_MS', 60_000, 100, 600_000),
    credentialChangesPerHour: read.int('CREDENTIAL_CHANGES_PER_HOUR', 10, 1, 100_000),
    platformProviders: read.platformProviders('PLATFORM_PROVIDERS'),
    platformMonthlyRequests: read.int('PLATFORM_MONTHLY_REQUESTS', 50, 0, 100_000_000),
    openRouterCatalogUrl: read.url('OPENROUTER_CATALOG_URL', ['https:', 'http:']) ?? 'https://openrouter.ai/api/v1',
    reservationTimeoutMs: read.int('RESERVATION_TIMEOUT_MS', 15 * 60_000, 10_000, 86_400_000),
    sweepIntervalMs: read.int('SWEEP_INTERVAL_MS', 60_000, 1_000, 86_400_000),
    alertDelivery: {
      everyMs: read.int('ALERT_DELIVERY_INTERVAL_MS', 2_000, 50, 3_600_000),
      attempts: read.int('ALERT_DELIVERY_ATTEMPTS', 8, 1, 100),
      backoffMs: read.int('ALERT_DELIVERY_BACKOFF_MS', 5_000, 10, 3_600_000),
      timeoutMs: read.int('ALERT_DELIVERY_TIMEOUT_MS', 5_000, 100, 120_000),
    },
    budgetForecastIntervalMs: read.int('BUDGET_FORECAST_INTERVAL_MS', 900_000, 1_000, 86_400_000),
    keyRevalidationIntervalMs: read.int('KEY_REVALIDATION_INTERVAL_MS', 86_400_000, 60_000, 30 * 86_400_000),
    health: {
      windowMs: read.int('HEALTH_WINDOW_MS', 300_000, 1_000, 86_400_000),
      minCalls: read.int('HEALTH_MIN_CALLS', 10, 1, 100_000),
      degradedErrorRate: read.int('HEALTH_DEGRADED_ERROR_PERCENT', 50, 1, 100) / 100,
    },
    chatRetry: {
      maxRetries: read.int('CHAT_MAX_RETRIES', 3, 0, 10),
      baseDelayMs: read.int('CHAT_RETRY_BASE_MS', 250, 1, 60_000),
      maxDelayMs: read.int('CHAT_RETRY_MAX_DELAY_MS', 8_000, 1, 300_000),
    },
    notices: [] as string[],
  };
  const devSecretsNeeded = !production && (!(jwt.secret || jwt.jwksUrl) || !encryptionKeys);
  if (databaseUrl === undefined || devSecretsNeeded) {
    const problem = dataDirProblem(dataDir);
    if (problem) read.problems.push(problem);
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);

  if (devSecretsNeeded) {
    const dev = loadOrCreateDevSecrets(dataDir, config.notices);
    if (!jwt.secret && !jwt.jwksUrl) jwt.secret = dev.jwtSecret;
    encryptionKeys ??= dev.encryptionKeys;
  }
  return { ...config, encryptionKeys: encryptionKeys! };
}
