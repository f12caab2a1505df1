// The console's alert channels in Chromium against a running gateway, the
// simulator and a local receiver: a webhook added (its signing secret shown
// once, and it verifies what the receiver got), a test sent, a refused URL
// shown next to its field, an alert delivered and a channel that fails every
// try shown as failed with why, then removed.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { hasChromium, openConsole, snapWideAndNarrow } from '../testkit/browser.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, UpdateProvider } from '../testkit/documents.js';
import { type Receiver, startReceiver, verifySignature } from '../testkit/receiver.js';
import { disposeAll, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

describe.skipIf(!hasChromium)('the console’s alert channels in Chromium', () => {
  let gw: TestServer;
  let sim: Simulator;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let token: string;
  let providerId: string;

  beforeAll(async () => {
    [gw, sim, receiver] = await Promise.all([startTestServer({ ALERT_DELIVERY_INTERVAL_MS: '50' }), startSimulator(), startReceiver()]);
    ({ token } = await newOwner(gw));
    ({ id: providerId } = await addSimProvider(gw, sim, token, { label: 'Limited OpenAI' }));
    ({ browser, page } = await openConsole(gw, token));
    await page.click('nav button[data-tab=alerts]');
  });

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
    await receiver?.close();
  });

  const channelRow = (name: string) => page.locator(`#channels-table tr[data-name="${name}"]`);

  it('adds a webhook: its signing secret shown once and verifying what the receiver gets from a test', async () => {
    await expect.poll(() => page.textContent('#channels-table tbody')).toContain('No channel yet');
    await page.fill('#channel-form input[name=name]', 'On-call');
    await page.fill('#channel-form input[name=url]', `${receiver.url}/hooks/on-call?token=in-the-path`);
    await page.check('#channel-kinds input[value=LIMIT_REACHED]');
    await page.click('#channel-form button[type=submit]');
    await channelRow('On-call').waitFor();
    const secret = await page.inputValue('#channel-secret');
    expect(secret).toMatch(/^whsec_/);
    const row = await channelRow('On-call').textContent();
    expect(row).toContain('Limit reached');
    expect(row).toContain(receiver.url.replace('http://', ''));
    expectNoSecret(row!, 'in-the-path');

    await channelRow('On-call').locator('button', { hasText: 'Send a test' }).click();
    await expect.poll(() => channelRow('On-call').locator('.test-result').textContent()).toMatch(/^Delivered: HTTP 200 in \d+ ms$/);
    const [test] = receiver.requests;
    expect(verifySignature(secret, String(test.headers['x-gateway-signature']), test.body, Math.floor(Date.now() / 1000))).toBe(true);
    await snapWideAndNarrow(page, 'alerts-01-channel-added');

    await page.click('#channel-done');
    expect(await page.isVisible('#channel-created')).toBe(false);
    expectNoSecret(await page.content(), secret);
  });

  it('shows a URL the egress policy refuses next to its field, and adds nothing', async () => {
    await page.fill('#channel-form input[name=name]', 'Metadata');
    await page.fill('#channel-form input[name=url]', 'http://169.254.169.254/latest/meta-data');
    await page.click('#channel-form button[type=submit]');
    await expect.poll(() => page.textContent('#channel-form .field-error[data-error-for=url]')).toMatch(/not allowed.*\(BAD_USER_INPUT\)$/);
    expect(await page.locator('#channels-table tr[data-channel-id]').count()).toBe(1);
    await snapWideAndNarrow(page, 'alerts-02-url-refused');
  });

  it('shows an alert delivered, and a channel that fails every try as failed with why; removes one', async () => {
    await page.fill('#channel-form input[name=name]', 'Broken');
    await page.fill('#channel-form input[name=url]', `${receiver.url}/broken`);
    await page.selectOption('#channel-form select[name=type]', 'SLACK');
    await page.click('#channel-form button[type=submit]');
    await channelRow('Broken').waitFor();
    expect(await page.isVisible('#channel-created')).toBe(false); // a Slack channel has no signing secret

    receiver.answerAlways(500, '/broken');
    await gw.execute(UpdateProvider, { id: providerId, input: { dailyTokenLimit: 50 } }, { token });
    const refused = await gw.execute(Chat, { input: { providerId, messages: userMessage(), maxTokens: 500, allowFallback: false } }, { token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    await expect
      .poll(async () => {
        await page.click('nav button[data-tab=alerts]');
        return [await channelRow('On-call').locator('.status').textContent(), await channelRow('Broken').locator('.status').textContent()];
      })
      .toEqual(['Delivering', 'Failed']);
    expect(await channelRow('Broken').textContent()).toContain('HTTP 500');
    expect(await channelRow('Broken').locator('.dead').textContent()).toBe('1 alert never delivered');
    expect(await channelRow('On-call').locator('td[data-label="Last delivered"]').textContent()).not.toBe('never');
    await snapWideAndNarrow(page, 'alerts-03-delivery-states');

    await channelRow('Broken').locator('button', { hasText: 'Remove' }).click();
    await expect.poll(() => page.textContent('#channels-status')).toBe('Broken removed');
    // The list is read again after the status is shown.
    await expect.poll(() => page.locator('#channels-table tr[data-channel-id]').count()).toBe(1);
  });
});
