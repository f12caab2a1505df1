// Several instances on one Postgres and one Redis (CI's second phase): alerts
// reach admins on every instance once, a change to routing made through one is
// followed by the others, an API key revoked through one is refused and cut off
// on the others at once, a job runs on one instance at a time, and a Redis
// that cannot take a command is reported, not fatal.
import net from 'node:net';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/dev-token.js';
import { createLogger } from '../../src/logging/logger.js';
import { API_KEY_CACHE_MS } from '../../src/modules/apikeys/api-key-authenticator.js';
import { ROUTING_TTL_MS } from '../../src/modules/chat/route.service.js';
import { createPubSubBus } from '../../src/pubsub/pubsub.js';
import { createRedisEventTarget, type RedisCommand } from '../../src/pubsub/redis-event-target.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { subscribeAlerts } from '../testkit/alerts.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AlertsFeed, Chat, CreateApiKey, ResolveRoute, RevokeApiKey, UpdatePreferences, UpdateProvider, WhoAmI } from '../testkit/documents.js';
import { listening, spawnGateway } from '../testkit/process.js';
import { openAcknowledgedSocket } from '../testkit/raw-ws.js';
import { disposeAll, eventually, newOwner, newWorkspace, startSimulator, startTestServer, TEST_ENCRYPTION_KEYS, TEST_JWT, type TestServer } from '../testkit/server.js';
import { collect } from '../testkit/streams.js';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
let a: TestServer;
let b: TestServer;
let sim: Simulator;
beforeAll(async () => {
  if (!shared) return;
  sim = await startSimulator();
  a = await startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' });
  b = await startTestServer(); // its own pool and its own Redis clients
});
afterAll(disposeAll);

/** An alerts subscription for the workspace has reached Redis, from a gateway process of its own (graphql-ws does not acknowledge a subscribe). */
async function subscribedOnRedis(workspaceId: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    await eventually(async () => ((await redis.pubsub('CHANNELS', `alert:raised:${workspaceId}`)) as string[]).length > 0 || undefined, 20_000);
  } finally {
    redis.disconnect();
  }
}

describe.runIf(shared)('two gateway processes', () => {
  it('an alert caused through process A reaches an admin subscribed on process B, once', async () => {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      MIGRATE_ON_START: 'false',
      JWT_SECRET: TEST_JWT.secret,
      JWT_ISSUER: TEST_JWT.issuer,
      JWT_AUDIENCE: TEST_JWT.audience,
      ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      PROVIDER_ALLOWED_CIDRS: '127.0.0.0/8',
      LOG_LEVEL: 'info',
      SWEEP_INTERVAL_MS: '86400000',
    };
    const [processA, processB] = [spawnGateway(env), spawnGateway(env)];
    try {
      const [urlA, urlB] = (await Promise.all([listening(processA), listening(processB)])).map((l) => l.url);
      const workspace = newWorkspace();
      const owner = await signToken(TEST_JWT, workspace.claims('owner'));
      const admin = await signToken(TEST_JWT, workspace.claims('admin'));
      const call = async (query: string, variables: unknown) => {
        const response = await fetch(`${urlA}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as { data?: Record<string, { id?: string }>; errors?: unknown };
      };
      const added = await call('mutation($input: AddProviderInput!) { addProvider(input: $input) { id } }', {
        input: { kind: 'OPENAI', apiKey: 'sk-processes-0123456789', baseUrl: sim.baseUrls.openai, dailyTokenLimit: 110 },
      });
      expect(added.errors).toBeUndefined();

      const client = createClient({
        url: `${urlB.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${admin}` },
        retryAttempts: 0,
      });
      const received = collect(
        client.iterate({ query: print(AlertsFeed) }),
        (result) => (result.errors ? JSON.stringify(result.errors) : (result.data as { alerts: { kind: string } }).alerts.kind),
        (error) => `subscription failed: ${String(error)}`,
      );
      await subscribedOnRedis(workspace.id);
      const chat = 'mutation($input: ChatInput!) { chat(input: $input) { content } }';
      // 10 prompt + 100 cap = 110 reserved: the first call fills the limit (a warning); the next two are refused (reached, once).
      for (let i = 0; i < 3; i++) await call(chat, { input: { messages: userMessage(), maxTokens: 100 } });
      await eventually(() => (received.length >= 2 ? received : undefined));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received).toEqual(['LIMIT_WARNING', 'LIMIT_REACHED']);
      await client.dispose();
    } finally {
      processA.child.kill('SIGTERM');
      processB.child.kill('SIGTERM');
      await Promise.all([processA.exited, processB.exited]);
    }
  }, 90_000);
});

describe.runIf(shared)('two instances', () => {
  it('an alert caused through instance A reaches an admin subscribed on instance B, once', async () => {
    const { workspace, token } = await newOwner(a);
    const provider = await addSimProvider(a, sim, token);
    expect((await a.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 110 } }, { token })).errors).toBeUndefined();
    const subscribed = b.nextSubscriber('alert:raised', workspace.id);
    const received = collect(
      b.ws(await b.token(workspace.claims('admin'))).iterate({ query: print(AlertsFeed) }),
      (result) => (result.data as { alerts: { kind: string } }).alerts,
    );
    await subscribed;
    // 10 prompt + 100 cap = 110 reserved: the first call fills the limit (a warning); the next three are refused (reached, once).
    for (let i = 0; i < 4; i++) await a.execute(Chat, { input: { messages: userMessage(), maxTokens: 100 } }, { token });
    await eventually(() => (received.length >= 2 ? received : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.map((alert) => alert.kind)).toEqual(['LIMIT_WARNING', 'LIMIT_REACHED']);
  });

  it('routing changed through instance A is followed by instance B well before its entry would expire', async () => {
    const { token } = await newOwner(a);
    const first = await addSimProvider(a, sim, token, { priority: 10 });
    const second = await addSimProvider(a, sim, token, { priority: 20 });
    const answeredOnB = async () => (await b.execute(Chat, { input: { messages: userMessage() } }, { token })).data?.chat.providerId;
    expect(await answeredOnB()).toBe(first.id); // B now keeps the workspace's routing
    const within = ROUTING_TTL_MS / 2;

    expect((await a.execute(UpdatePreferences, { input: { defaultProviderId: second.id } }, { token })).errors).toBeUndefined();
    await eventually(async () => ((await answeredOnB()) === second.id ? true : undefined), within);

    expect((await a.execute(UpdateProvider, { id: second.id, input: { disabled: true } }, { token })).errors).toBeUndefined();
    await eventually(async () => {
      const [candidate] = (await b.execute(ResolveRoute, {}, { token })).data!.resolveRoute.candidates;
      return candidate.skippedBecause === 'disabled' ? true : undefined;
    }, within);
    expect(await answeredOnB()).toBe(first.id);
  });

  it('an API key revoked through instance A is refused by instance B at once, and B closes the WebSocket open with it', async () => {
    const { workspace, token } = await newOwner(a);
    const { secret, apiKey } = (await a.execute(CreateApiKey, { input: { name: 'revoked through A' } }, { token })).data!.createApiKey;
    expect((await b.execute(WhoAmI, {}, { token: secret })).data?.viewer?.workspaceId).toBe(workspace.id); // B now keeps the key
    const socket = await openAcknowledgedSocket(b.wsUrl, secret);

    const revokedAt = Date.now();
    expect((await a.execute(RevokeApiKey, { id: apiKey.id }, { token })).errors).toBeUndefined();
    expect(await socket.closed).toEqual({ code: 4403, reason: 'API key revoked' });
    expect((await b.execute(WhoAmI, {}, { token: secret })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(Date.now() - revokedAt).toBeLessThan(API_KEY_CACHE_MS / 2);
  });

  it('a job runs on one instance at a time: the other skips that run', async () => {
    let running = 0;
    let overlapped = false;
    const job = {
      name: `test-job-${Date.now()}`,
      everyMs: 60_000,
      run: async () => {
        running++;
        overlapped ||= running > 1;
        await new Promise((resolve) => setTimeout(resolve, 300));
        running--;
        return { ran: true };
      },
    };
    const results = await Promise.all([a.app.jobs.scheduler.runOnce(job), b.app.jobs.scheduler.runOnce(job)]);
    expect(results.filter(Boolean)).toEqual([{ ran: true }]);
    expect(overlapped).toBe(false);
    expect(await b.app.jobs.scheduler.runOnce(job)).toEqual({ ran: true }); // the lock is released after the run
  });
});

describe.runIf(shared)('the Redis event target', () => {
  it('reports a command Redis cannot take (a closed connection) instead of leaving a rejection that would end the process', async () => {
    const [publisher, subscriber] = [new Redis(process.env.REDIS_URL!, { lazyConnect: true }), new Redis(process.env.REDIS_URL!, { lazyConnect: true })];
    await Promise.all([publisher.connect(), subscriber.connect()]);
    const reported: RedisCommand[] = [];
    const target = createRedisEventTarget(publisher, subscriber, (_error, command) => reported.push(command));
    const heard: unknown[] = [];
    target.addEventListener('test:channel', (event) => heard.push((event as CustomEvent).detail));
    await subscriber.ping(); // the SUBSCRIBE is taken
    target.dispatchEvent(new CustomEvent('test:channel', { detail: { n: 1 } }));
    await eventually(async () => heard.length > 0 || undefined);
    expect(heard).toEqual([{ n: 1 }]);

    publisher.disconnect();
    subscriber.disconnect();
    target.dispatchEvent(new CustomEvent('test:channel', { detail: { n: 2 } }));
    target.addEventListener('test:other', () => {});
    await eventually(async () => (reported.length === 2 ? reported : undefined));
    expect(reported.sort()).toEqual(['publish', 'subscribe']);
  });

  it('logs a lost connection once and its return, instead of a raw error on every reconnect attempt, and works again', async () => {
    const proxy = await redisProxy();
    const lines: Array<{ level: number; msg: string; connection?: string }> = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const bus = await createPubSubBus(proxy.url, logger);
    try {
      proxy.cut();
      // ioredis retries every few hundred ms: a second of attempts, each refused.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(lines.map((line) => [line.level, line.connection])).toEqual([
        [40, expect.any(String)],
        [40, expect.any(String)],
      ]);
      expect(lines[0].msg).toContain('Redis connection lost');

      await proxy.restore();
      await eventually(async () => (lines.length === 4 ? lines : undefined), 10_000);
      expect(lines.slice(2).map((line) => [line.level, line.msg])).toEqual([
        [30, 'Redis connection back'],
        [30, 'Redis connection back'],
      ]);
      const subscribed = bus.nextSubscriber('provider:removed');
      const heard = bus.pubsub.subscribe('provider:removed')[Symbol.asyncIterator]();
      const next = heard.next();
      await subscribed;
      bus.pubsub.publish('provider:removed', { providerId: 'after-the-outage' });
      expect((await next).value).toEqual({ providerId: 'after-the-outage' });
      await heard.return?.();
    } finally {
      await bus.close();
      proxy.cut();
    }
  });

  it('starts while Redis cannot be reached, says the bus is down, and resumes when Redis comes', async () => {
    const proxy = await redisProxy();
    proxy.cut();
    const lines: Array<{ msg: string }> = [];
    const bus = await createPubSubBus(proxy.url, createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }));
    try {
      expect(bus.connected()).toBe(false);
      const resumed = new Promise<Date>((resolve) => bus.onResume(resolve));
      await proxy.restore();
      expect(await resumed).toBeInstanceOf(Date);
      expect(bus.connected()).toBe(true);
      expect(lines.filter((line) => line.msg.startsWith('Redis connection lost'))).toHaveLength(2);
    } finally {
      await bus.close();
      proxy.cut();
    }
  });
});

/** A TCP proxy in front of Redis: `cut()` closes it and every connection through it (Redis gone, for its clients alone); `restore()` listens again on the same port. */
async function redisProxy() {
  const redis = new URL(process.env.REDIS_URL!);
  const sockets = new Set<net.Socket>();
  const listen = (port: number) =>
    new Promise<net.Server>((resolve) => {
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(redis.port || 6379), redis.hostname);
        client.pipe(upstream).pipe(client);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => {}).on('close', () => sockets.delete(socket));
        }
      });
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  let server = await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    async restore() {
      server = await listen(port);
    },
  };
}

describe.runIf(shared)('alerts across a Redis outage', () => {
  it('an alert raised while an instance is cut off from Redis reaches subscribers on both sides once it is back, each once; chats go on', async () => {
    const proxy = await redisProxy();
    const c = await startTestServer({ REDIS_URL: proxy.url }); // its bus goes through the proxy; its database is the shared one
    try {
      const { workspace, token } = await newOwner(a);
      const limited = await addSimProvider(a, sim, token, { priority: 1 });
      const spare = await addSimProvider(a, sim, token, { priority: 2 });
      const later = await addSimProvider(a, sim, token, { priority: 3 });
      for (const { id } of [limited, later]) expect((await a.execute(UpdateProvider, { id, input: { dailyTokenLimit: 110 } }, { token })).errors).toBeUndefined();
      const admin = workspace.claims('admin');
      const onA = await subscribeAlerts(a, admin);
      const onC = await subscribeAlerts(c, admin);
      const ready = async () => (await (await fetch(`${c.url}/ready`)).json()) as { status: string; bus: string };
      const busGauge = async () => /^gateway_pubsub_connected (\d)$/m.exec(await (await fetch(`${c.url}/metrics`)).text())?.[1];
      expect(await ready()).toMatchObject({ status: 'ready', bus: 'up' });

      proxy.cut();
      await eventually(async () => ((await ready()).bus === 'down' ? true : undefined), 10_000);
      expect(await busGauge()).toBe('0');
      // The first subscriber of another workspace on C, while C is cut off: Redis never took its SUBSCRIBE, so C must
      // make it again when Redis is back.
      const second = await newOwner(a);
      const secondProvider = await addSimProvider(a, sim, second.token);
      expect((await a.execute(UpdateProvider, { id: secondProvider.id, input: { dailyTokenLimit: 110 } }, { token: second.token })).errors).toBeUndefined();
      const onCLate = collect(
        c.ws(await c.token(second.workspace.claims('admin'))).iterate({ query: print(AlertsFeed) }),
        (result) => (result.data as { alerts: Record<string, unknown> }).alerts,
      );
      const chatOn = (server: TestServer, providerId = limited.id) =>
        server.execute(Chat, { input: { messages: userMessage(), maxTokens: 100, providerId, allowFallback: false } }, { token });
      // Through A (its bus is fine): LIMIT_WARNING, heard live on A only.
      expect((await chatOn(a)).errors).toBeUndefined();
      await eventually(() => (onA.length === 1 ? true : undefined));
      // Through C (cut off): refused by the limit, LIMIT_REACHED, which C cannot publish. C still answers chats.
      expect((await chatOn(c)).errors![0].extensions!.code).toBe('LIMIT_EXCEEDED');
      for (let i = 0; i < 3; i++) expect((await c.execute(Chat, { input: { messages: userMessage(), providerId: spare.id } }, { token })).data?.chat.providerId).toBe(spare.id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([onA.map((alert) => alert.kind), onC]).toEqual([['LIMIT_WARNING'], []]);

      await proxy.restore();
      const kinds = (alerts: Array<Record<string, unknown>>) => alerts.map((alert) => `${alert.kind} ${alert.providerId === later.id ? 'later' : 'limited'}`).sort();
      await eventually(() => (onA.length === 2 && onC.length === 2 ? true : undefined), 15_000);
      // After the outage, alerts through A reach every subscriber live, the one C subscribed while cut off too.
      expect((await chatOn(a, later.id)).errors).toBeUndefined();
      await subscribedOnRedis(second.workspace.id); // C's SUBSCRIBE, made again (nobody else listens to that workspace)
      const secondChat = await a.execute(
        Chat,
        { input: { messages: userMessage(), maxTokens: 100, providerId: secondProvider.id, allowFallback: false } },
        { token: second.token },
      );
      expect(secondChat.errors).toBeUndefined();
      await eventually(() => (onA.length === 3 && onC.length === 3 && onCLate.length === 1 ? true : undefined), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // nothing comes twice
      const all = ['LIMIT_REACHED limited', 'LIMIT_WARNING later', 'LIMIT_WARNING limited'];
      expect([kinds(onA), kinds(onC), onCLate.map((alert) => alert.kind)]).toEqual([all, all, ['LIMIT_WARNING']]);
      expect(await ready()).toMatchObject({ bus: 'up' });
      expect(await busGauge()).toBe('1');
      // One line each way per connection, and one for the commands dropped meanwhile (the publishes of C's calls), not one per command.
      expect(c.logs.filter((line) => line.includes('Redis connection lost'))).toHaveLength(2);
      expect(c.logs.filter((line) => line.includes('Redis did not take'))).toEqual([]);
      expect(c.logs.filter((line) => line.includes('pub/sub commands it could not take were dropped'))).toHaveLength(1);
    } finally {
      await c.stop();
      proxy.cut();
    }
  }, 60_000);
});
