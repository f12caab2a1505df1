// The console in a real browser (Playwright driving Debian's Chromium) against a
// running gateway and the simulator: sign in, add a key, stream a chat, watch an
// alert arrive live, read the graphs and the model browser. Screenshots of each
// step go to test-artifacts/console/.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { hasChromium, openBrowser, snap } from '../testkit/browser.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { Chat, UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, eventually, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

describe.skipIf(!hasChromium)('the console in Chromium', () => {
  let gw: TestServer;
  let sim: Simulator;
  let browser: Browser;
  let page: Page;
  let token: string;
  let claudeId: string;
  const newKey = 'sk-console-browser-key-0123456789abcdef';

  beforeAll(async () => {
    [gw, sim] = await Promise.all([startTestServer({ CHAT_RETRY_BASE_MS: '5' }), startSimulator()]);
    ({ token } = await newOwner(gw));
    // A slow stream, so the page is seen part-way through it.
    ({ id: claudeId } = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'Seeded Claude', script: 'slow=40&chunks=12&chunk-size=6' }));
    // Not signed in yet: the first test types a bad token, then the good one.
    ({ browser, page } = await openBrowser());
  });

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
  });

  it('refuses a bad token with its code, then signs in with a good one', async () => {
    await page.goto(`${gw.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.fill('#sign-in-form textarea', 'not-a-token');
    await page.click('#sign-in-form button[type=submit]');
    await expect.poll(() => page.textContent('#sign-in-error')).toContain('UNAUTHENTICATED');

    await page.fill('#sign-in-form textarea', token);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#providers-table tbody tr');
    expect(await page.textContent('#viewer')).toContain('OWNER');
    expect(await page.textContent('#providers-table')).toContain('Seeded Claude');
    await snap(page, '01-providers');
  });

  it('says what the chosen kind needs, from providerKinds, and checks a key without storing it', async () => {
    await page.selectOption('#add-provider-form select[name=kind]', 'OLLAMA');
    expect(await page.getAttribute('#add-provider-form input[name=apiKey]', 'placeholder')).toBe('not needed');
    expect(await page.locator('#add-provider-form input[name=apiKey]').evaluate((input: HTMLInputElement) => input.required)).toBe(false);
    expect(await page.getAttribute('#add-provider-form input[name=baseUrl]', 'placeholder')).toBe('http://localhost:11434/v1');
    await page.selectOption('#add-provider-form select[name=kind]', 'OPENAI_COMPATIBLE');
    expect(await page.locator('#add-provider-form input[name=baseUrl]').evaluate((input: HTMLInputElement) => input.required)).toBe(true);

    const checkedKey = 'sk-console-checked-key-0123456789';
    await page.selectOption('#add-provider-form select[name=kind]', 'OPENAI');
    expect(await page.getAttribute('#add-provider-form input[name=apiKey]', 'placeholder')).toBe('sk-…');
    await page.fill('#add-provider-form input[name=apiKey]', checkedKey);
    await page.fill('#add-provider-form input[name=baseUrl]', sim.baseUrls.openai);
    await page.click('#add-provider-check');
    await expect.poll(() => page.textContent('#add-provider-checked')).toMatch(/The key works \(\d+ ms, \d+ models\); nothing was stored/);
    expect(await page.locator('#providers-table tbody tr').count()).toBe(1);
    expect(sim.requests.some((request) => request.key === checkedKey)).toBe(true);
    await page.fill('#add-provider-form input[name=apiKey]', '');
  });

  it('adds a key through the form: validated by the simulator, listed masked, never shown', async () => {
    await page.selectOption('#add-provider-form select[name=kind]', 'OPENAI');
    await page.fill('#add-provider-form input[name=label]', 'Browser OpenAI');
    await page.fill('#add-provider-form input[name=apiKey]', newKey);
    await page.fill('#add-provider-form input[name=baseUrl]', sim.baseUrls.openai);
    await page.fill('#add-provider-form input[name=dailyTokenLimit]', '100000');
    await page.click('#add-provider-form button[type=submit]');
    const row = page.locator('#providers-table tr', { hasText: 'Browser OpenAI' });
    await row.waitFor();
    expect(await row.locator('td.key').textContent()).toBe('••••cdef');
    expect(await row.locator('.status').textContent()).toBe('Active');
    expect(await row.locator('td.today').textContent()).toContain('0 / 100,000 tokens');
    // The key was typed into a password field and the form was reset: it is nowhere in the page.
    expectNoSecret(await page.content(), newKey);
    expect(sim.requests.some((request) => request.key === newKey && request.path.endsWith('/models'))).toBe(true);

    // A refused key shows the API's error code and adds nothing.
    await page.selectOption('#add-provider-form select[name=kind]', 'OPENAI');
    await page.fill('#add-provider-form input[name=apiKey]', 'sk-console-refused-key-000000#status=401');
    await page.fill('#add-provider-form input[name=baseUrl]', sim.baseUrls.openai);
    await page.click('#add-provider-form button[type=submit]');
    await expect.poll(() => page.textContent('#add-provider-error')).toContain('INVALID_CREDENTIALS');
    expect(await page.locator('#providers-table tbody tr').count()).toBe(2);
    await snap(page, '02-provider-added');
  });

  it('tests and rotates a key', async () => {
    const row = page.locator('#providers-table tr', { hasText: 'Browser OpenAI' });
    await row.locator('button', { hasText: 'Test' }).click();
    await expect.poll(() => page.textContent('#provider-action')).toMatch(/Browser OpenAI: key accepted in \d+ ms/);
    await row.locator('button', { hasText: 'Rotate' }).click();
    await page.fill('#rotate-form input[name=apiKey]', 'sk-console-rotated-key-9876543210wxyz');
    await page.click('#rotate-form button[type=submit]');
    await expect.poll(() => row.locator('td.key').textContent()).toBe('••••wxyz');
    expect(await page.isHidden('#rotate-form')).toBe(true);
  });

  it('streams a chat in the playground, chunk by chunk, within the max tokens asked and beside the workspace limits', async () => {
    expect((await gw.execute(UpdatePreferences, { input: { workspaceDailyTokenLimit: 5_000 } }, { token })).errors).toBeUndefined();
    await page.click('nav button[data-tab=chat]');
    await expect.poll(() => page.textContent('#chat-limits')).toContain("This workspace's limits: 5,000 tokens a day (UTC)");
    await page.selectOption('#chat-form select[name=providerId]', { label: 'Seeded Claude (ANTHROPIC)' });
    await page.fill('#chat-form input[name=maxTokens]', '150');
    await page.fill('#chat-form textarea[name=content]', 'Tell me about the gateway');
    await page.click('#chat-send');
    // Part of the answer is on the page while the stream is still open...
    const partial = await eventually(async () => {
      const shown = (await page.textContent('#chat-output .turn.assistant pre.text')) ?? '';
      return shown.length > 0 && (await page.getAttribute('#chat-form', 'data-state')) === 'streaming' ? shown : undefined;
    });
    await page.waitForSelector('#chat-form[data-state=done]');
    const full = (await page.textContent('#chat-output .turn.assistant pre.text')) ?? '';
    expect(full.length).toBeGreaterThan(partial.length);
    expect(full.startsWith(partial)).toBe(true);
    expect(await page.textContent('#chat-output .turn.assistant .route')).toContain('Seeded Claude');
    expect(await page.textContent('#chat-output .turn.assistant .usage')).toMatch(/\d+ tokens \(\d+ prompt \+ \d+ completion, provider\).*finished/);
    const rows = await gw.db.prisma.usageEvent.findMany({ where: { providerId: claudeId, streamed: true } });
    expect(rows.map((row) => row.status)).toEqual(['SUCCEEDED']);
    expect(rows[0]!.completionTokens).toBeGreaterThan(0);
    const upstream = sim.requests.filter((r) => r.protocol === 'anthropic' && r.method === 'POST').at(-1)!;
    expect(upstream.body).toMatchObject({ max_tokens: 150 });
    await snap(page, '03-chat-streamed');
  });

  it('shows an alert the moment the gateway raises it', async () => {
    await page.click('nav button[data-tab=alerts]');
    await expect.poll(() => page.textContent('#alerts-status')).toContain('Listening');
    expect(await page.locator('#alerts-feed li').count()).toBe(0);
    // A client's call is refused by a provider's daily limit: LIMIT_REACHED goes to the workspace's admins.
    await gw.execute(UpdateProvider, { id: claudeId, input: { dailyTokenLimit: 50 } }, { token });
    const refused = await gw.execute(Chat, { input: { providerId: claudeId, messages: userMessage(), maxTokens: 500, allowFallback: false } }, { token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    const alert = page.locator('#alerts-feed li.live[data-kind=LIMIT_REACHED]');
    await alert.waitFor({ timeout: 5_000 });
    expect(await alert.textContent()).toContain('Seeded Claude');
    await snap(page, '04-alert-live');
    await alert.locator('button', { hasText: 'Acknowledge' }).click();
    await page.waitForSelector('#alerts-feed li.acknowledged[data-kind=LIMIT_REACHED]');
  });

  it('draws usage per day, stacked by provider or model', async () => {
    await page.click('nav button[data-tab=usage]');
    await expect.poll(() => page.textContent('#usage-totals')).toMatch(/^1 request \(0 failed\) · \d+ tokens · \$0\.0/);
    await page.selectOption('#usage-controls select[name=groupBy]', 'MODEL');
    await page.selectOption('#usage-controls select[name=days]', '7');
    await expect.poll(() => page.textContent('#usage-totals')).toMatch(/^1 request /);
    // Chart.js drew on the canvas: it is no longer blank.
    const painted = await page.$eval('#usage-tokens-chart', (canvas) => {
      const { data } = (canvas as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height);
      return data.some((value) => value !== 0);
    });
    expect(painted).toBe(true);
    await snap(page, '05-usage');
  });

  it('browses the model catalog with search, tier and price filters', async () => {
    await page.click('nav button[data-tab=models]');
    await expect.poll(() => page.textContent('#models-error')).toBe('');
    await page.waitForSelector('#models-table tbody tr');
    await page.fill('#models-controls input[name=search]', 'gpt 4o');
    await expect.poll(() => page.locator('#models-table tbody tr').first().textContent()).toContain('gpt-4o');
    const all = await page.locator('#models-table tbody tr').count();
    await page.fill('#models-controls input[name=maxInputPrice]', '1');
    await expect.poll(() => page.locator('#models-table tbody tr').count()).toBeLessThan(all);
    await page.selectOption('#models-controls select[name=tier]', 'PREMIUM');
    await expect.poll(() => page.textContent('#models-count')).toMatch(/^Models 1–\d+ of \d+/);
    await snap(page, '06-models');
  });

  it('deletes a key after confirmation', async () => {
    await page.click('nav button[data-tab=providers]');
    const row = page.locator('#providers-table tr', { hasText: 'Browser OpenAI' });
    await row.locator('button', { hasText: 'Delete' }).click();
    await expect.poll(() => page.textContent('#provider-action')).toBe('Browser OpenAI deleted');
    // The status is shown before the table is read again.
    await expect.poll(() => page.locator('#providers-table tbody tr').count()).toBe(1);
  });
});
