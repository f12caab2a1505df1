import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyring } from '../../src/crypto/keyring.js';
import { rotateKeys } from '../../src/crypto/rotate-keys.js';
import { open, rowAad } from '../../src/crypto/seal.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { AddAlertChannel, AddProvider, AuditLog, DeleteProvider, Providers, TestAlertChannel, TestProvider, UpdateProvider } from '../testkit/documents.js';
import { startReceiver } from '../testkit/receiver.js';
import { disposeAll, expectNoSecret, newWorkspace, openTestDatabase, startSimulator, startTestServer, type TestServer, testConfig } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer(), startSimulator()]);
});
afterAll(disposeAll);

const canary = () => `sk-canary-${randomUUID().replaceAll('-', '')}`;

async function ownerToken() {
  return gw.token(newWorkspace().claims('owner'));
}

/** Every row of every table, as text (bytea as hex), for scanning. */
async function dumpDatabase(server: TestServer): Promise<string> {
  const tables = await server.db.prisma.$queryRaw<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await server.db.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${table_name}" t`);
    for (const r of rows) parts.push(r.row);
  }
  return parts.join('\n');
}

describe('keys at rest', () => {
  it('the database holds no plaintext key, in text or in bytes', async () => {
    const token = await ownerToken();
    const keys = [canary(), canary(), canary()];
    const bases = [sim.baseUrls.openai, sim.baseUrls.anthropic, sim.baseUrls.gemini];
    const kinds = ['OPENAI', 'ANTHROPIC', 'GEMINI'] as const;
    for (const [i, key] of keys.entries()) {
      const result = await gw.execute(AddProvider, { input: { kind: kinds[i], apiKey: key, baseUrl: bases[i] } }, { token });
      expect(result.errors).toBeUndefined();
    }
    const dump = await dumpDatabase(gw);
    for (const key of keys) {
      expectNoSecret(dump, key);
      expectNoSecret(dump, Buffer.from(key).toString('hex'));
    }
  });

  it('a ciphertext moved onto another row does not open there, and the error names the key id', async () => {
    const token = await ownerToken();
    const a = (await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token })).data!.addProvider.id;
    const b = (await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token })).data!.addProvider.id;
    const rowA = await gw.db.prisma.provider.findUniqueOrThrow({ where: { id: a } });
    await gw.db.prisma.provider.update({ where: { id: b }, data: { sealedKey: rowA.sealedKey } });
    const requestsBefore = sim.requests.length;
    const result = await gw.execute(TestProvider, { id: b }, { token });
    expect(result.data?.testProvider).toMatchObject({ ok: false, errorCode: 'INTERNAL' });
    expect(result.data?.testProvider.message).toContain('master key "test1"');
    // Nothing was sent upstream with a key that did not open.
    expect(sim.requests.length).toBe(requestsBefore);
  });

  it('a truncated envelope fails clearly instead of decrypting to garbage', async () => {
    const token = await ownerToken();
    const id = (await gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: canary(), baseUrl: sim.baseUrls.openai } }, { token })).data!.addProvider.id;
    const row = await gw.db.prisma.provider.findUniqueOrThrow({ where: { id } });
    await gw.db.prisma.provider.update({ where: { id }, data: { sealedKey: row.sealedKey!.subarray(0, row.sealedKey!.length - 20) } });
    const result = await gw.execute(TestProvider, { id }, { token });
    expect(result.data?.testProvider).toMatchObject({ ok: false, errorCode: 'INTERNAL' });
    expect(result.data?.testProvider.message).toMatch(/master key "test1"/);
  });
});

describe('keys:rotate', () => {
  it('re-seals every key online while the gateway answers, and a second run changes nothing', async () => {
    const oldKey = `old:${randomBytes(32).toString('base64')}`;
    const newKey = `new:${randomBytes(32).toString('base64')}`;
    const db = await openTestDatabase(testConfig());
    const before = await startTestServer({ ENCRYPTION_KEYS: oldKey, CREDENTIAL_CHANGES_PER_HOUR: '100' }, { db });
    const workspace = newWorkspace();
    const token = await before.token(workspace.claims('owner'));
    const plaintexts = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const key = canary();
      const { data } = await before.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: key, baseUrl: sim.baseUrls.openai, skipValidation: true } }, { token });
      plaintexts.set(data!.addProvider.id, key);
    }
    // An alert channel's URL and signing secret are sealed the same way.
    const receiver = await startReceiver();
    const added = await before.execute(AddAlertChannel, { input: { type: 'WEBHOOK', name: 'rotated', url: `${receiver.url}/rotated` } }, { token });
    const channelId = added.data!.addAlertChannel.channel.id;

    // The operator rolls out "new,old" everywhere, then rotates while traffic flows.
    const during = await startTestServer({ ENCRYPTION_KEYS: `${newKey},${oldKey}` }, { db });
    let serving = true;
    const answers: Array<{ errors?: unknown; ok?: boolean }> = [];
    const traffic = (async () => {
      while (serving) {
        const id = [...plaintexts.keys()][answers.length % plaintexts.size];
        const tested = await during.execute(TestProvider, { id }, { token });
        answers.push({ errors: tested.errors, ok: tested.data?.testProvider.ok });
      }
    })();
    const keyring = parseKeyring(`${newKey},${oldKey}`);
    const first = await rotateKeys(db.prisma, keyring, 5);
    serving = false;
    await traffic;
    // On a shared Postgres other tests' rows (under "test1") are reported as unopenable: only ours are under "old".
    const ours = (report: typeof first) => report.failed.filter((failure) => plaintexts.has(failure.id));
    expect(first).toMatchObject({ rotated: 13, skipped: 0 });
    expect(ours(first)).toEqual([]);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((a) => a.errors === undefined && a.ok === true)).toBe(true);
    const second = await rotateKeys(db.prisma, keyring);
    expect(second).toMatchObject({ rotated: 0, skipped: 0 });
    expect(ours(second)).toEqual([]);

    // Every row now opens with the new key alone, to the same plaintext.
    const newOnly = parseKeyring(newKey);
    for (const row of await db.prisma.provider.findMany({ where: { workspaceId: workspace.id } })) {
      expect(row.keyId).toBe('new');
      expect(open(newOnly, row.sealedKey!, rowAad(row.workspaceId, row.id))).toBe(plaintexts.get(row.id));
    }
    const after = await startTestServer({ ENCRYPTION_KEYS: newKey }, { db });
    const [id] = plaintexts.keys();
    expect((await after.execute(TestProvider, { id }, { token })).data?.testProvider.ok).toBe(true);
    expect((await db.prisma.alertChannel.findUniqueOrThrow({ where: { id: channelId } })).keyId).toBe('new');
    expect((await after.execute(TestAlertChannel, { id: channelId }, { token })).data?.testAlertChannel).toMatchObject({ ok: true, status: 200 });
    expect(receiver.requests.map((request) => request.path)).toEqual(['/rotated']);
    await receiver.close();
  });
});

describe('canary keys', () => {
  it('never appear, whole or as any 8-character piece, in responses, errors, audit entries or logs', async () => {
    const workspace = newWorkspace();
    const token = await gw.token(workspace.claims('owner'));
    const outputs: string[] = [];
    const run = async <T>(promise: Promise<T>) => {
      const result = await promise;
      outputs.push(JSON.stringify(result));
      return result;
    };
    const good = canary();
    const bad = `${canary()}#status=401`;
    const limited = `${canary()}#status=429`;
    const failing = `${canary()}#status=503`;
    const rotated = canary();
    const added = await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: good, baseUrl: sim.baseUrls.openai } }, { token }));
    const id = added.data!.addProvider.id;
    await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: bad, baseUrl: sim.baseUrls.openai } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'ANTHROPIC', apiKey: bad, baseUrl: sim.baseUrls.anthropic } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'GEMINI', apiKey: bad, baseUrl: sim.baseUrls.gemini } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: limited, baseUrl: sim.baseUrls.openai } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: failing, baseUrl: sim.baseUrls.openai } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: good, baseUrl: 'http://10.0.0.1/v1' } }, { token }));
    await run(gw.execute(AddProvider, { input: { kind: 'OPENAI', apiKey: `${good} with spaces`, baseUrl: sim.baseUrls.openai } }, { token }));
    await run(gw.execute(UpdateProvider, { id, input: { apiKey: bad } }, { token }));
    await run(gw.execute(UpdateProvider, { id, input: { apiKey: rotated } }, { token }));
    await run(gw.execute(TestProvider, { id }, { token }));
    await run(gw.execute(Providers, {}, { token }));
    await run(gw.execute(AuditLog, { first: 50 }, { token }));
    await run(gw.execute(DeleteProvider, { id }, { token }));

    expect(outputs.join()).toContain('INVALID_CREDENTIALS');
    const everything = [...outputs, ...gw.logs, JSON.stringify(await gw.db.prisma.auditEntry.findMany({ where: { workspaceId: workspace.id } }))].join('\n');
    for (const secret of [good, bad, limited, failing, rotated]) expectNoSecret(everything, secret.split('#')[0]);
  });
});
