// GET /metrics: Prometheus text with the gateway's own series, and nothing
// secret in any label.
import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, UpdateProvider, UsageTicks } from '../testkit/documents.js';
import { disposeAll, eventually, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

const scrape = async () => {
  const response = await fetch(`${gw.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
};
const value = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(series))
      ?.split(' ')
      .at(-1) ?? NaN,
  );

describe('/metrics', () => {
  it('counts calls, tokens, latency, refusals, alerts, errors by code and open subscriptions, with no secret in it', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const secretText = `private question ${randomUUID()}`;
    expect((await gw.execute(Chat, { input: { messages: userMessage(secretText), maxTokens: 50, operation: 'op-x' } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { dailyTokenLimit: 1 } }, { token })).errors).toBeUndefined();
    expect((await gw.execute(Chat, { input: { messages: userMessage() } }, { token })).errors?.[0].extensions?.code).toBe('LIMIT_EXCEEDED');
    const subscription = gw.ws(await gw.token(workspace.claims('admin'))).iterate({ query: print(UsageTicks) });
    void subscription.next();

    const text = await eventually(async () => {
      const body = await scrape();
      return value(body, 'gateway_open_subscriptions') >= 1 ? body : undefined;
    });
    expect(value(text, 'gateway_tokens_total{kind="OPENAI",model="gpt-4o-mini",direction="completion"}')).toBeGreaterThan(0);
    expect(value(text, 'gateway_upstream_duration_seconds_count{kind="OPENAI",model="gpt-4o-mini",status="SUCCEEDED"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gateway_time_to_first_token_seconds_count{kind="OPENAI",model="gpt-4o-mini"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gateway_reservations_refused_total{limit="PROVIDER_DAILY_TOKENS"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gateway_alerts_raised_total{kind="LIMIT_REACHED"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gateway_errors_total{code="LIMIT_EXCEEDED"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('graphql_envelop_request_duration');
    expectNoSecret(text, provider.key);
    expect(text).not.toContain(secretText);
    expect(text).not.toContain(workspace.id);
    await subscription.return?.();
  });

  it('labels calls to models the catalog does not know as "other", however many there are, and known models by name', async () => {
    const { token } = await newOwner(gw);
    await addSimProvider(gw, sim, token);
    const sizeBefore = (await scrape()).length;
    const unknown = Array.from({ length: 40 }, (_, i) => `${['my-finetune', 'x'.repeat(60), 'gpt-4o-mini'][i % 3]}-${randomUUID()}`);
    // The provider refuses these names (404), and each refused call is observed all the same.
    for (const model of unknown)
      expect((await gw.execute(Chat, { input: { messages: userMessage(), model, maxTokens: 5 } }, { token })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // One the provider serves but the catalog does not list, and one it lists.
    for (const model of ['llama3.1', 'gpt-4o']) expect((await gw.execute(Chat, { input: { messages: userMessage(), model, maxTokens: 5 } }, { token })).errors).toBeUndefined();

    const text = await scrape();
    for (const model of [...unknown, 'llama3.1']) expect(text).not.toContain(model);
    expect(value(text, 'gateway_upstream_duration_seconds_count{kind="OPENAI",model="other",status="FAILED"}')).toBeGreaterThanOrEqual(unknown.length);
    expect(value(text, 'gateway_upstream_duration_seconds_count{kind="OPENAI",model="other",status="SUCCEEDED"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'gateway_tokens_total{kind="OPENAI",model="other",direction="completion"}')).toBeGreaterThan(0);
    expect(value(text, 'gateway_upstream_duration_seconds_count{kind="OPENAI",model="gpt-4o",status="SUCCEEDED"}')).toBeGreaterThanOrEqual(1);
    // One new series per metric and label set, not one per model: a few KB at most.
    expect(text.length - sizeBefore).toBeLessThan(20_000);
  });
});
