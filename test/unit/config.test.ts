import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, encryptionKeysProblem, loadConfig } from '../../src/config.js';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const dataDir = () => mkdtempSync(path.join(tmpdir(), 'config-'));

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults for development and creates its secrets once', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first).toMatchObject({ port: 4000, host: '127.0.0.1', nodeEnv: 'development', migrateOnStart: true, databaseUrl: undefined });
    expect(first.notices).toHaveLength(1);
    const file = path.join(dir, 'dev-secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(encryptionKeysProblem(first.encryptionKeys)).toBeUndefined();

    const second = loadConfig({ DATA_DIR: dir });
    expect(second.notices).toEqual([]);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    expect(JSON.parse(readFileSync(file, 'utf8')).jwtSecret).toBe(first.jwt.secret);
  });

  it('reports every bad variable at once', () => {
    expect(
      problems({
        DATA_DIR: dataDir(),
        PORT: '70000',
        LOG_LEVEL: 'chatty',
        NODE_ENV: 'staging',
        REDIS_URL: 'http://localhost',
        MIGRATE_ON_START: 'maybe',
        JWT_SECRET: 'short',
        ENCRYPTION_KEYS: 'k1:dG9vLXNob3J0',
      }),
    ).toEqual([
      'NODE_ENV: expected one of development, production, test, got "staging"',
      'JWT_SECRET: expected at least 32 bytes (HS256 needs a key as long as its hash)',
      'ENCRYPTION_KEYS: key "k1" must be 32 bytes, base64-encoded',
      'PORT: expected an integer from 0 to 65535, got "70000"',
      'REDIS_URL: expected a redis or rediss URL',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "chatty"',
      'MIGRATE_ON_START: expected true or false, got "maybe"',
    ]);
  });

  it('never echoes a URL that may hold a password', () => {
    expect(problems({ DATA_DIR: dataDir(), DATABASE_URL: 'mysql://user:hunter2@db/x' }).join()).not.toContain('hunter2');
  });

  it('requires explicit secrets in production and uses them as given', () => {
    expect(problems({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toEqual([
      'JWT_SECRET or JWKS_URL: required when NODE_ENV=production',
      'ENCRYPTION_KEYS: required when NODE_ENV=production',
    ]);
    const config = loadConfig({ NODE_ENV: 'production', JWKS_URL: 'https://id.example/jwks.json', ENCRYPTION_KEYS: `a:${key(1)},b:${key(2)}`, DATABASE_URL: 'postgres://db/gw' });
    expect(config).toMatchObject({ production: true, migrateOnStart: false, encryptionKeys: `a:${key(1)},b:${key(2)}`, notices: [] });
  });

  it('refuses JWT_SECRET and JWKS_URL together', () => {
    expect(problems({ DATA_DIR: dataDir(), JWT_SECRET: 'x'.repeat(32), JWKS_URL: 'https://id.example/jwks' })).toEqual(['JWT_SECRET and JWKS_URL: set one of them, not both']);
  });
});

describe('PLATFORM_PROVIDERS', () => {
  it('parses valid entries', () => {
    const config = loadConfig({ DATA_DIR: dataDir(), PLATFORM_PROVIDERS: JSON.stringify([{ kind: 'GROQ', apiKey: 'gsk_secret' }]), PLATFORM_MONTHLY_REQUESTS: '5' });
    expect(config.platformProviders).toEqual([{ kind: 'GROQ', apiKey: 'gsk_secret' }]);
    expect(config.platformMonthlyRequests).toBe(5);
  });

  it('names each bad entry and field, and never echoes a key', () => {
    const found = problems({
      DATA_DIR: dataDir(),
      PLATFORM_PROVIDERS: JSON.stringify([
        { kind: 'NOPE', apiKey: 'sk-leak-1234567890' },
        { kind: 'OPENAI' },
        { kind: 'OPENAI_COMPATIBLE', apiKey: 'sk-leak-1234567890' },
        { kind: 'OPENAI', apiKey: 'sk-leak-1234567890', label: 7 },
      ]),
    });
    expect(found).toEqual([
      expect.stringContaining('PLATFORM_PROVIDERS[0].kind: expected one of OPENAI'),
      'PLATFORM_PROVIDERS[1].apiKey: expected a key',
      'PLATFORM_PROVIDERS[2].baseUrl: required for OPENAI_COMPATIBLE',
      'PLATFORM_PROVIDERS[3]: label must be strings',
    ]);
    expect(found.join()).not.toContain('leak');
    expect(problems({ DATA_DIR: dataDir(), PLATFORM_PROVIDERS: '{not json' })).toEqual([
      'PLATFORM_PROVIDERS: expected a JSON array of {kind, apiKey, baseUrl?, defaultModel?, label?}',
    ]);
  });
});

describe('encryptionKeysProblem', () => {
  it.each([
    ['', 'expected "id:base64key'],
    ['nokey', 'expected "id:base64key'],
    [`a:${key(1)},a:${key(2)}`, 'appears twice'],
    [`bad id:${key(1)}`, 'expected "id:base64key'],
    [`a:${Buffer.alloc(16).toString('base64')}`, 'must be 32 bytes'],
  ])('refuses %j', (value, message) => {
    expect(encryptionKeysProblem(value)).toContain(message);
  });

  it('accepts a list of 32-byte keys', () => {
    expect(encryptionKeysProblem(`new:${key(3)}, old:${key(4)}`)).toBeUndefined();
  });
});
