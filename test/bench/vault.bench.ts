// `npm run bench:vault`: the cost of sealing and opening keys, and of
// addProvider end to end against the simulator, each as a ratio to a baseline
// measured in the same run.
import { createCipheriv, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns';
import { PGlite } from '@electric-sql/pglite';
import { buildApp } from '../../src/app.js';
import { signToken } from '../../src/auth/dev-token.js';
import { loadConfig } from '../../src/config.js';
import { parseKeyring } from '../../src/crypto/keyring.js';
import { open, rowAad, seal } from '../../src/crypto/seal.js';
import { openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logging/logger.js';
import { createOpenAiCompatibleAdapter } from '../../src/modules/providers/adapters/openai-compatible.adapter.js';
import { createHttpClient } from '../../src/net/http-fetch.js';
import { createPubSubBus } from '../../src/pubsub/pubsub.js';
import { startSimulator } from '../../src/simulator/simulator.js';
import { measure, report } from './measure.js';

const keyring = parseKeyring(`bench:${randomBytes(32).toString('base64')}`);
const aad = rowAad('workspace-bench', '6f1c2a9e-0000-4000-8000-000000000000');
const apiKey = `sk-proj-${randomBytes(36).toString('base64url')}`;
const rawKey = keyring.key('bench')!;

// 1. Crypto: our envelope (key id, AAD, fixed tag) against bare AES-256-GCM of the same bytes.
const bare = await measure('bare AES-256-GCM encrypt (no AAD, no envelope)', 50_000, () => {
  const cipher = createCipheriv('aes-256-gcm', rawKey, randomBytes(12));
  Buffer.concat([cipher.update(apiKey, 'utf8'), cipher.final(), cipher.getAuthTag()]);
});
const envelope = seal(keyring, apiKey, aad);
report('Key vault crypto (per operation)', bare, [
  await measure('seal (envelope + AAD + fresh IV)', 50_000, () => seal(keyring, apiKey, aad)),
  await measure('open (parse + authenticate + decrypt)', 50_000, () => open(keyring, envelope, aad)),
]);

// 2. addProvider end to end: GraphQL over HTTP → validate with the SDK against the simulator → seal → insert + audit,
//    against the same SDK validation call made directly (the part the gateway cannot avoid).
const simulator = await startSimulator(0);
const pglite = new PGlite();
const db = await openDatabase({ kind: 'pglite', instance: pglite });
await migrate(db);
const config = loadConfig({
  NODE_ENV: 'test',
  PORT: '0',
  JWT_SECRET: 'bench-secret-bench-secret-bench-secret-1234',
  ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8',
  CREDENTIAL_CHANGES_PER_HOUR: '100000',
  DATA_DIR: '/tmp/bench-data',
});
const logger = createLogger('silent');
const bus = await createPubSubBus(undefined, logger);
const app = buildApp({ config, db, bus, logger });
const { url } = await app.start();
const token = await signToken(config.jwt, { workspace: 'bench', user: 'owner', role: 'owner' });
const adapter = createOpenAiCompatibleAdapter({ http: createHttpClient({ lookup, maxLineBytes: 1 << 20 }), timeoutMs: 5_000, idleTimeoutMs: 5_000 });
const target = { kind: 'OPENAI' as const, baseUrl: simulator.baseUrls.openai, apiKey, credentialType: 'API_KEY' as const };
const body = JSON.stringify({
  query: 'mutation($input: AddProviderInput!) { addProvider(input: $input) { id maskedKey } }',
  variables: { input: { kind: 'OPENAI', apiKey, baseUrl: simulator.baseUrls.openai } },
});
const direct = await measure('SDK validation call direct to the simulator', 300, () => adapter.validate(target, new AbortController().signal), 30);
const gateway = await measure(
  'addProvider over HTTP (validate, seal, insert, audit)',
  300,
  async () => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const result = (await response.json()) as { errors?: unknown };
    if (result.errors) throw new Error(JSON.stringify(result.errors));
  },
  30,
);
report('addProvider end to end (embedded PGlite, in-process simulator)', direct, [gateway]);

await app.stop();
await Promise.all([bus.close(), db.close(), simulator.stop()]);
