// Budget forecasts through the API with a clock the test moves: real chats
// against the simulator spend part of a budget early in the month; the
// forecast job raises BUDGET_FORECAST once the month's first day is over and
// the run rate reaches the budget before the month ends, with the projected
// moment, once per budget per month, to admins only, and delivers it once to
// a webhook channel however many instances run the job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { subscribeAlerts } from '../testkit/alerts.js';
import { addSimProvider, chatStreamRequest, userMessage } from '../testkit/chat.js';
import { AddAlertChannel, AlertList, Chat, CreateApiKey, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { type Receiver, startReceiver } from '../testkit/receiver.js';
import { disposeAll, eventually, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
let receiver: Receiver;
let now = new Date('2020-06-01T06:00:00Z');
const clock = () => now;
// Deliveries every 50 ms; the forecast job runs when a test asks (its own interval is a day).
const ENV = { CREDENTIAL_CHANGES_PER_HOUR: '1000', ALERT_DELIVERY_INTERVAL_MS: '50' };
beforeAll(async () => {
  [gw, sim, receiver] = await Promise.all([startTestServer(ENV, { clock }), startSimulator(), startReceiver()]);
});
afterAll(async () => {
  await disposeAll();
  await receiver.close();
});

const HOUR = 3_600_000;
const forecastJob = (server: TestServer) => server.app.jobs.list.find((job) => job.name === 'forecast-budgets')!;
// Other test files' workspaces may share the database (CI's Postgres phase): a run's own counts are not asserted, only this workspace's alerts,
// and the clock is in months of the past no other test uses: a run here raises nothing in their workspaces, and this
// server's delivery job, which may send their alerts, finds none of theirs due by its clock (a clock ahead would
// put their retries years away).
const forecast = (server = gw) => server.app.jobs.scheduler.runOnce(forecastJob(server));

/** Calls of 8 µ$ each (6 prompt + 4 tokens at the simulator model's price), reserved within every budget below. */
async function chats(token: string, count: number, server = gw) {
  for (let i = 0; i < count; i++) expect((await server.execute(Chat, { input: { messages: userMessage(), maxTokens: 100 } }, { token })).errors).toBeUndefined();
}

/** What a BUDGET_FORECAST alert's data holds. */
interface ForecastData {
  limit: string;
  scope: string;
  period: string;
  budgetUsd: number;
  spentUsd: number;
  projectedAt: string;
}

/** The workspace's BUDGET_FORECAST alerts, newest first. */
async function forecasts(token: string) {
  const listed = await gw.execute(AlertList, { first: 50 }, { token });
  expect(listed.errors).toBeUndefined();
  return listed.data!.alerts.edges.filter(({ node }) => node.kind === 'BUDGET_FORECAST').map(({ node }) => ({ ...node, data: node.data as ForecastData }));
}

async function monthCounters(workspaceId: string, period: string) {
  const rows = await gw.db.sql.query<{ scope: string; cost_micros: bigint }>(
    `SELECT scope, cost_micros FROM usage_counters WHERE workspace_id = $1 AND period = $2 ORDER BY scope`,
    [workspaceId, period],
  );
  return Object.fromEntries(rows.map((row) => [row.scope.split(':')[0], Number(row.cost_micros)]));
}

describe('budget forecasts', () => {
  it("raises BUDGET_FORECAST from the month's second day for each budget its run rate reaches before the month ends, once a month, to admins only", async () => {
    const { workspace, token } = await newOwner(gw);
    // June in New York starts at 04:00 UTC and has 30 days.
    const june = Date.parse('2020-06-01T04:00:00Z');
    const provider = await addSimProvider(gw, sim, token, { label: 'Main key' });
    expect((await gw.execute(UpdatePreferences, { input: { timezone: 'America/New_York', workspaceMonthlyBudgetUsd: 0.00016 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { monthlyBudgetUsd: 0.001 } }, { token })).errors).toBeUndefined();
    const created = await gw.execute(CreateApiKey, { input: { name: 'nightly batch', monthlyBudgetUsd: 0.0002 } }, { token });
    expect(created.errors).toBeUndefined();
    const { secret, apiKey } = created.data!.createApiKey;

    // Two hours into the month: 24 µ$ spent on the workspace and the provider (8 of them with the key).
    now = new Date(june + 2 * HOUR);
    await chats(token, 2);
    await chats(secret, 1);
    expect(await monthCounters(workspace.id, '2020-06')).toEqual({ workspace: 24, provider: 24, apikey: 8 });
    const admin = await subscribeAlerts(gw, workspace.claims('admin'));
    const member = await subscribeAlerts(gw, workspace.claims('member'));

    // The run rate says the workspace's budget is reached on the 3rd, but a morning is no evidence; nor is a day less a second.
    await forecast();
    expect(await forecasts(token)).toEqual([]);
    now = new Date(june + 24 * HOUR - 1_000);
    await forecast();
    expect(await forecasts(token)).toEqual([]);

    // A whole day: the workspace's 160 µ$ at 24 µ$ a day is reached after 6⅔ days, the key's 200 µ$ at 8 µ$ a day after 25;
    // the provider's 1000 µ$ at 24 µ$ a day would last 41⅔ days, past the month's end: no forecast for it.
    now = new Date(june + 24 * HOUR);
    await forecast();
    const raised = await forecasts(token);
    const workspaceForecast = raised.find((alert) => alert.data.limit === 'WORKSPACE_MONTHLY_BUDGET')!;
    expect(workspaceForecast).toMatchObject({
      severity: 'WARNING',
      providerId: null,
      message: "The workspace's monthly budget ($0.000160) will be reached around 2020-06-07 at this month's rate ($0.000024 spent in 2020-06 so far)",
      data: { scope: `workspace:${workspace.id}`, period: '2020-06', budgetUsd: 0.00016, spentUsd: 0.000024, projectedAt: new Date(june + (24 * HOUR * 160) / 24).toISOString() },
    });
    expect(workspaceForecast.data.projectedAt).toBe('2020-06-07T20:00:00.000Z');
    expect(raised.find((alert) => alert.data.limit === 'API_KEY_MONTHLY_BUDGET')).toMatchObject({
      providerId: null,
      message: "nightly batch: The API key's monthly budget ($0.000200) will be reached around 2020-06-26 at this month's rate ($0.000008 spent in 2020-06 so far)",
      data: { scope: `apikey:${apiKey.id}`, budgetUsd: 0.0002, spentUsd: 0.000008, projectedAt: '2020-06-26T04:00:00.000Z' },
    });
    expect(raised).toHaveLength(2);

    // A call in flight holds its whole allowance (about 121 µ$ here) on its provider's counter until it ends: no spend,
    // so no forecast for that provider's budget, whose month has seen nothing else.
    const hanging = await addSimProvider(gw, sim, token, { label: 'Hanging', script: 'hang=1', priority: 1000 });
    expect((await gw.execute(UpdateProvider, { id: hanging.id, input: { monthlyBudgetUsd: 0.001 } }, { token })).errors).toBeUndefined();
    const inFlight = () => gw.db.sql.query(`SELECT id FROM usage_events WHERE provider_id = $1::uuid AND status = 'RESERVED'`, [hanging.id]);
    const call = gw
      .ws(token)
      .iterate(chatStreamRequest({ messages: userMessage(), providerId: hanging.id, maxTokens: 200 }))
      [Symbol.asyncIterator]();
    const ended = call.next();
    await eventually(async () => ((await inFlight()).length === 1 ? true : undefined));
    const [held] = await gw.db.sql.query<{ cost_micros: bigint }>(`SELECT cost_micros FROM usage_counters WHERE scope = $1 AND period = '2020-06'`, [`provider:${hanging.id}`]);
    expect(Number(held.cost_micros)).toBeGreaterThan(100);
    await forecast();
    expect(await forecasts(token)).toEqual(raised);
    await call.return?.();
    await ended;
    await eventually(async () => ((await inFlight()).length === 0 ? true : undefined));

    // Run again, and spend more: no second forecast for those budgets this month; the provider's budget, at 40 µ$ a
    // day now, is reached after 25 days: its forecast is raised now.
    await forecast();
    expect(await forecasts(token)).toEqual(raised);
    await chats(token, 2);
    await forecast();
    expect(await forecasts(token)).toHaveLength(3);
    now = new Date(june + 48 * HOUR);
    await chats(token, 1);
    await forecast();
    const june3 = await forecasts(token);
    expect(june3.map((alert) => alert.data.limit).sort()).toEqual(['API_KEY_MONTHLY_BUDGET', 'PROVIDER_MONTHLY_BUDGET', 'WORKSPACE_MONTHLY_BUDGET']);
    expect(june3.find((alert) => alert.data.limit === 'PROVIDER_MONTHLY_BUDGET')).toMatchObject({
      providerId: provider.id,
      message: "Main key: The provider's monthly budget ($0.001000) will be reached around 2020-06-26 at this month's rate ($0.000040 spent in 2020-06 so far)",
      data: { scope: `provider:${provider.id}`, spentUsd: 0.00004, projectedAt: '2020-06-26T04:00:00.000Z' },
    });

    // Admins heard each forecast once; a member, none (budget alerts are the admins').
    await eventually(() => (admin.filter((alert) => alert.kind === 'BUDGET_FORECAST').length === 3 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(admin.filter((alert) => alert.kind === 'BUDGET_FORECAST')).toHaveLength(3);
    expect(member).toEqual([]);

    // July: a new month, a new forecast for the workspace's budget (16 µ$ in 30 hours reaches 160 µ$ after 12½ days).
    const july = Date.parse('2020-07-01T04:00:00Z');
    now = new Date(july + 6 * HOUR);
    await chats(token, 2);
    now = new Date(july + 30 * HOUR);
    await forecast();
    const [julyForecast, ...before] = await forecasts(token);
    expect(before).toHaveLength(3);
    expect(julyForecast).toMatchObject({
      data: { limit: 'WORKSPACE_MONTHLY_BUDGET', period: '2020-07', spentUsd: 0.000016, projectedAt: new Date(july + 300 * HOUR).toISOString() },
    });
    expect((await forecasts(token)).filter((alert) => alert.data.limit === 'WORKSPACE_MONTHLY_BUDGET').map((alert) => alert.data.period)).toEqual(['2020-07', '2020-06']);
  });

  it('two instances running the job raise one forecast and deliver it to a webhook channel once', async () => {
    // On Postgres an instance of its own pool; PGlite is one database per process, shared here.
    const other = process.env.DATABASE_URL ? await startTestServer(ENV, { clock }) : await startTestServer(ENV, { db: gw.db, clock });
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    expect((await gw.execute(UpdatePreferences, { input: { workspaceMonthlyBudgetUsd: 0.0001 } }, { token })).errors).toBeUndefined();
    const added = await gw.execute(AddAlertChannel, { input: { type: 'WEBHOOK', name: 'budgets', url: `${receiver.url}/forecasts`, kinds: ['BUDGET_FORECAST'] } }, { token });
    expect(added.errors).toBeUndefined();

    // September (UTC): 16 µ$ in its first hour, then 36 hours in: 100 µ$ is reached after 9⅜ days.
    now = new Date('2020-09-01T01:00:00Z');
    await chats(token, 2);
    now = new Date('2020-09-02T12:00:00Z');
    await Promise.all([forecast(gw), forecast(other), forecast(gw), forecast(other)]);
    expect(await forecasts(token)).toHaveLength(1);

    const delivered = () => receiver.requests.filter((request) => request.path === '/forecasts');
    await eventually(() => (delivered().length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 400)); // several delivery runs on both instances: nothing is sent twice
    expect(delivered()).toHaveLength(1);
    expect(JSON.parse(delivered()[0].body)).toMatchObject({
      kind: 'BUDGET_FORECAST',
      severity: 'WARNING',
      data: { limit: 'WORKSPACE_MONTHLY_BUDGET', period: '2020-09', budgetUsd: 0.0001, spentUsd: 0.000016, projectedAt: '2020-09-10T09:00:00.000Z' },
    });
  });
});
