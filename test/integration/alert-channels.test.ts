// Alert channels through the API and a local receiver: ADMIN+ add a signed
// webhook or a Slack-compatible one, each alert reaches each channel once with
// a signature a receiver can verify (and a replay it refuses), failed tries are
// retried with backoff until the last one (DEAD), and a URL the egress policy
// refuses is refused when added and when answered with a redirect.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AddAlertChannel, AlertChannels, AuditLog, Chat, RemoveAlertChannel, TestAlertChannel, UpdateProvider } from '../testkit/documents.js';
import { type Receiver, startReceiver, verifySignature } from '../testkit/receiver.js';
import { disposeAll, eventually, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
let receiver: Receiver;
// Fast runs and short waits, so retries and the last try happen within a test: tries at 0, +100 ms, +200 ms (the
// test servers' backoff and tries), deliveries every 50 ms.
const DELIVERY = { ALERT_DELIVERY_INTERVAL_MS: '50', CREDENTIAL_CHANGES_PER_HOUR: '1000' };
beforeAll(async () => {
  [gw, sim, receiver] = await Promise.all([startTestServer(DELIVERY), startSimulator(), startReceiver()]);
});
afterAll(async () => {
  await disposeAll();
  await receiver.close();
});

const channels = async (token: string) => (await gw.execute(AlertChannels, {}, { token })).data!.alertChannels;
const channel = async (token: string, id: string) => (await channels(token)).find((c) => c.id === id)!;
const requestsTo = (path: string) => receiver.requests.filter((request) => request.path === path);

/** A workspace whose provider's daily limit two chats cross: LIMIT_WARNING, then LIMIT_REACHED (10 prompt + 100 cap = 110 reserved per call). */
async function workspaceAboutToAlert(server = gw) {
  const owner = await newOwner(server);
  const provider = await addSimProvider(server, sim, owner.token);
  expect((await server.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 110 } }, { token: owner.token })).errors).toBeUndefined();
  const raise = async () => {
    for (let i = 0; i < 3; i++) await server.execute(Chat, { input: { messages: userMessage(), maxTokens: 100 } }, { token: owner.token });
  };
  return { ...owner, provider, raise };
}

async function addChannel(token: string, input: { type: 'WEBHOOK' | 'SLACK'; name?: string; url: string; kinds?: string[] }) {
  const result = await gw.execute(AddAlertChannel, { input: { name: 'ops', ...input } as never }, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.addAlertChannel;
}

describe('alert channels', () => {
  it('a webhook gets each alert once, signed over its timestamp and body; a receiver verifies it and refuses a replay', async () => {
    const { token, workspace, provider, raise } = await workspaceAboutToAlert();
    const { channel: added, signingSecret } = await addChannel(token, { type: 'WEBHOOK', url: `${receiver.url}/hooks/a?token=path-secret` });
    expect(signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(added).toMatchObject({ type: 'WEBHOOK', name: 'ops', urlHost: receiver.url.replace('http://', ''), kinds: [], state: 'OK', lastDeliveredAt: null });

    await raise();
    const got = await eventually(() => (requestsTo('/hooks/a?token=path-secret').length >= 2 ? requestsTo('/hooks/a?token=path-secret') : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few more runs: nothing is sent twice
    expect(requestsTo('/hooks/a?token=path-secret')).toHaveLength(2);
    const bodies = got.map((request) => JSON.parse(request.body));
    expect(bodies.map((body) => body.kind).sort()).toEqual(['LIMIT_REACHED', 'LIMIT_WARNING']);
    expect(bodies[0]).toMatchObject({ workspaceId: workspace.id, providerId: provider.id, severity: expect.any(String), message: expect.any(String) });
    expect(Object.keys(bodies[0]).sort()).toEqual(['createdAt', 'data', 'id', 'kind', 'message', 'providerId', 'severity', 'workspaceId']);
    for (const request of got) {
      expect(request.headers['content-type']).toBe('application/json');
      expectNoSecret(request.body, provider.key);
      expectNoSecret(request.body, signingSecret!);
    }

    const now = Math.floor(Date.now() / 1000);
    const [first] = got;
    const header = String(first.headers['x-gateway-signature']);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(signingSecret!, header, first.body, now)).toBe(true);
    expect(verifySignature(signingSecret!, header, `${first.body} `, now)).toBe(false); // a changed body
    expect(verifySignature('whsec_another', header, first.body, now)).toBe(false);
    expect(verifySignature(signingSecret!, header, first.body, now + 301)).toBe(false); // the same request replayed five minutes later

    const after = await channel(token, added.id);
    expect(after).toMatchObject({ state: 'OK', lastError: null, lastDeliveredAt: expect.any(String) });
  });

  it('a Slack channel gets text and blocks, and only the kinds it asked for', async () => {
    const { token, raise } = await workspaceAboutToAlert();
    await addChannel(token, { type: 'SLACK', url: `${receiver.url}/slack/T000/B000/xyz`, kinds: ['LIMIT_REACHED'] });
    await raise();
    const [request] = await eventually(() => (requestsTo('/slack/T000/B000/xyz').length > 0 ? requestsTo('/slack/T000/B000/xyz') : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsTo('/slack/T000/B000/xyz')).toHaveLength(1);
    const body = JSON.parse(request.body);
    expect(body.text).toMatch(/^\[CRITICAL\] /);
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('limit reached') } });
    expect(request.headers['x-gateway-signature']).toBeUndefined();
  });

  it('a receiver failing twice gets the alert on the third try; one failing every try leaves the delivery DEAD with its error', async () => {
    const { token, raise } = await workspaceAboutToAlert();
    const flaky = await addChannel(token, { type: 'WEBHOOK', url: `${receiver.url}/flaky`, kinds: ['LIMIT_WARNING'] });
    receiver.failNext(500, 503);
    await raise();
    await eventually(() => (requestsTo('/flaky').length >= 3 ? true : undefined));
    expect(await eventually(async () => ((await channel(token, flaky.channel.id)).state === 'OK' ? channel(token, flaky.channel.id) : undefined))).toMatchObject({
      lastError: null,
      deadDeliveries: 0,
    });
    const tries = requestsTo('/flaky');
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((request) => JSON.parse(request.body).id)).size).toBe(1); // the same alert each time

    const second = await workspaceAboutToAlert();
    const dead = await addChannel(second.token, { type: 'WEBHOOK', url: `${receiver.url}/down`, kinds: ['LIMIT_WARNING'] });
    const down = await startReceiver();
    await down.close(); // a port that answers nothing: connection refused on every try
    const refused = await addChannel(second.token, { type: 'WEBHOOK', url: `${down.url}/gone`, kinds: ['LIMIT_WARNING'] });
    receiver.failNext(500, 500, 500);
    await second.raise();
    const deadChannel = await eventually(async () => ((await channel(second.token, dead.channel.id)).state === 'DEAD' ? channel(second.token, dead.channel.id) : undefined));
    expect(deadChannel).toMatchObject({ lastError: 'HTTP 500', deadDeliveries: 1 });
    expect(requestsTo('/down')).toHaveLength(3);
    const unreachable = await eventually(async () => ((await channel(second.token, refused.channel.id)).state === 'DEAD' ? channel(second.token, refused.channel.id) : undefined));
    expect(unreachable.lastError).toBe('connection failed (ECONNREFUSED)');
    await new Promise((resolve) => setTimeout(resolve, 300)); // no try after the last
    expect(requestsTo('/down')).toHaveLength(3);
  });

  it('testAlertChannel sends a signed TEST alert and reports the answer; a redirect is refused, never followed', async () => {
    const { token } = await newOwner(gw);
    const { channel: added, signingSecret } = await addChannel(token, { type: 'WEBHOOK', url: `${receiver.url}/test-me` });
    const ok = (await gw.execute(TestAlertChannel, { id: added.id }, { token })).data!.testAlertChannel;
    expect(ok).toMatchObject({ ok: true, status: 200, message: null });
    const [request] = requestsTo('/test-me');
    expect(JSON.parse(request.body)).toMatchObject({ kind: 'TEST', severity: 'INFO' });
    expect(verifySignature(signingSecret!, String(request.headers['x-gateway-signature']), request.body, Math.floor(Date.now() / 1000))).toBe(true);

    receiver.failNext(302);
    const redirected = (await gw.execute(TestAlertChannel, { id: added.id }, { token })).data!.testAlertChannel;
    expect(redirected).toMatchObject({ ok: false, status: null, message: expect.stringContaining('redirect') });
    receiver.failNext(500);
    expect((await gw.execute(TestAlertChannel, { id: added.id }, { token })).data!.testAlertChannel).toMatchObject({ ok: false, status: 500, message: 'HTTP 500' });
    expect((await channel(token, added.id)).state).toBe('OK'); // a test leaves the delivery state alone
  });

  it('refuses what the egress policy refuses, bad names and URLs, non-admins and a 21st channel, changing nothing', async () => {
    const { token, workspace } = await newOwner(gw);
    const refused = async (input: Record<string, unknown>, asToken = token) => {
      const result = await gw.execute(AddAlertChannel, { input: { type: 'WEBHOOK', name: 'x', url: `${receiver.url}/ok`, ...input } as never }, { token: asToken });
      expect(result.data).toBeNull();
      return result.errors![0];
    };
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.7/hook',
      'http://[::ffff:192.168.1.1]/hook',
      'http://0x7f000001.example.invalid/',
      'ftp://example.com/x',
    ]) {
      expect((await refused({ url })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    }
    expect((await refused({ url: 'https://user:pass@hooks.example.com/x' })).message).toContain('credentials');
    expect((await refused({ url: `https://example.com/${'a'.repeat(2048)}` })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    expect((await refused({ name: '   ' })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    for (const name of ['n'.repeat(101), 'line\nbreak', 'bell\u0007']) expect((await refused({ name })).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect((await refused({}, await gw.token(workspace.claims('member')))).extensions!.code).toBe('FORBIDDEN');
    expect(await channels(token)).toEqual([]);

    // All at once: the bound holds against concurrent adds too.
    const adds = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gw.execute(AddAlertChannel, { input: { type: 'SLACK', name: `c${i}`, url: `${receiver.url}/many/${i}` } }, { token })),
    );
    expect(adds.filter((add) => add.errors === undefined)).toHaveLength(20);
    expect(adds.filter((add) => add.errors?.[0]?.message.includes('at most 20'))).toHaveLength(10);
    expect((await refused({})).message).toContain('at most 20');
    expect(await channels(token)).toHaveLength(20);
  });

  it('lists hosts only, audits additions and removals without the URL, and removes a channel with its undelivered alerts', async () => {
    const { token, workspace, raise } = await workspaceAboutToAlert();
    const { channel: added, signingSecret } = await addChannel(token, { type: 'WEBHOOK', name: 'pager', url: `${receiver.url}/never?key=url-token` });
    const listed = JSON.stringify((await gw.execute(AlertChannels, {}, { token })).data);
    expectNoSecret(listed, 'url-token');
    expectNoSecret(listed, signingSecret!);
    receiver.answerAlways(500);
    try {
      await raise();
      await eventually(() => (requestsTo('/never?key=url-token').length > 0 ? true : undefined));
      expect((await gw.execute(RemoveAlertChannel, { id: added.id }, { token })).data!.removeAlertChannel).toBe(added.id);
    } finally {
      receiver.answerAlways(200);
    }
    const sent = requestsTo('/never?key=url-token').length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(requestsTo('/never?key=url-token')).toHaveLength(sent);
    expect(await channels(token)).toEqual([]);
    expect((await gw.execute(RemoveAlertChannel, { id: added.id }, { token })).errors![0].extensions!.code).toBe('NOT_FOUND');
    expect((await gw.execute(TestAlertChannel, { id: 'not-a-uuid' }, { token })).errors![0].extensions!.code).toBe('NOT_FOUND');

    const audit = (await gw.execute(AuditLog, { first: 10 }, { token })).data!.auditLog.edges.map((edge) => edge.node);
    expect(audit.filter((entry) => entry.action.startsWith('ALERT_CHANNEL')).map((entry) => entry.action)).toEqual(['ALERT_CHANNEL_REMOVED', 'ALERT_CHANNEL_ADDED']);
    const everything = JSON.stringify(audit) + gw.logs.join('\n');
    expectNoSecret(everything, 'url-token');
    expectNoSecret(everything, signingSecret!);
    expect(workspace.id).toBeTruthy();
  });

  it("receivers that never answer hold up no other workspace's deliveries", async () => {
    const sockets = new Set<net.Socket>();
    const tarpit = net.createServer((socket) => void sockets.add(socket)); // takes the connection, never answers
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    try {
      const stuck = await workspaceAboutToAlert();
      const { port } = tarpit.address() as net.AddressInfo;
      for (let i = 0; i < 8; i++) await addChannel(stuck.token, { type: 'WEBHOOK', name: `stuck ${i}`, url: `http://127.0.0.1:${port}/${i}` });
      await stuck.raise(); // 16 deliveries, each waiting out the time limit (5 s)
      await eventually(() => (sockets.size > 0 ? true : undefined));
      const fine = await workspaceAboutToAlert();
      await addChannel(fine.token, { type: 'WEBHOOK', url: `${receiver.url}/fine` });
      const raised = Date.now();
      await fine.raise();
      await eventually(() => (requestsTo('/fine').length === 2 ? true : undefined));
      expect(Date.now() - raised).toBeLessThan(2_500);
      expect(sockets.size).toBeLessThanOrEqual(3); // a few of the stuck workspace's at once, not every slot
    } finally {
      for (const socket of sockets) socket.destroy();
      tarpit.close();
    }
  });

  it('two instances on one database deliver each alert to each channel once', async () => {
    // On Postgres (CI's second phase) an instance of its own pool; PGlite is one database per process, shared here.
    const other = process.env.DATABASE_URL ? await startTestServer(DELIVERY) : await startTestServer(DELIVERY, { db: gw.db });
    const { token, raise } = await workspaceAboutToAlert(other);
    await gw.execute(AddAlertChannel, { input: { type: 'WEBHOOK', name: 'both', url: `${receiver.url}/both-a` } }, { token });
    await gw.execute(AddAlertChannel, { input: { type: 'SLACK', name: 'both', url: `${receiver.url}/both-b` } }, { token });
    await raise();
    await eventually(() => (requestsTo('/both-a').length >= 2 && requestsTo('/both-b').length >= 2 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect([requestsTo('/both-a').length, requestsTo('/both-b').length]).toEqual([2, 2]);
  });
});
