// The console's workspace panels in Chromium against a running gateway and the
// simulator: settings saved and refused (the refusal next to its field, nothing
// changed), an agent preference set and the route preview following it, and an
// API key created in the page, used by the `openai` SDK, listed with its usage
// and revoked. Screenshots of each panel at 1280×800 and 390×844 go to
// test-artifacts/console/.
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX_LENGTH } from '../../src/modules/apikeys/api-key-secret.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { hasChromium, openConsole, signIn, snapWideAndNarrow } from '../testkit/browser.js';
import { addSimProvider, MODELS } from '../testkit/chat.js';
import { UpdatePreferences, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, expectNoSecret, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const WorkspaceSettings = graphql(`
  query WorkspaceSettings {
    preferences { defaultProviderId maxTokensPerRequest timezone routingStrategy agentPreferences { agentType providerId model routingStrategy } }
  }
`);

const HELLO = [{ role: 'user' as const, content: 'Hello' }];

describe.skipIf(!hasChromium)('the console’s settings, agents and API keys in Chromium', () => {
  let gw: TestServer;
  let sim: Simulator;
  let browser: Browser;
  let page: Page;
  let token: string;
  let memberToken: string;
  let mainId: string;
  let claudeId: string;
  let cappedId: string;

  beforeAll(async () => {
    [gw, sim] = await Promise.all([startTestServer({ CHAT_RETRY_BASE_MS: '5', CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
    const owner = await newOwner(gw);
    token = owner.token;
    memberToken = await gw.token(owner.workspace.claims('member'));
    ({ id: mainId } = await addSimProvider(gw, sim, token, { label: 'Main OpenAI', priority: 1 }));
    ({ id: claudeId } = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'Backup Claude', priority: 2 }));
    // A provider whose daily limit leaves no room: the route preview shows it skipped, with why.
    ({ id: cappedId } = await addSimProvider(gw, sim, token, { label: 'Capped OpenAI', priority: 3 }));
    expect((await gw.execute(UpdateProvider, { id: cappedId, input: { dailyTokenLimit: 1 } }, { token })).errors).toBeUndefined();
    ({ browser, page } = await openConsole(gw, token));
  });

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
  });

  const settings = async () => (await gw.execute(WorkspaceSettings, {}, { token })).data!.preferences;
  const openTab = (tab: string) => page.click(`nav button[data-tab=${tab}]`);

  it('saves settings, and shows a refused save next to its field without changing anything', async () => {
    await openTab('settings');
    await page.waitForSelector('#settings-form:not([aria-busy]) select[name=defaultProviderId]');
    expect(await page.isVisible('#settings-read-only')).toBe(false);
    await page.selectOption('#settings-form select[name=defaultProviderId]', { label: 'Main OpenAI' });
    await page.fill('#settings-form input[name=maxTokensPerRequest]', '2048');
    await page.fill('#settings-form input[name=timezone]', 'Europe/Paris');
    await page.click('#settings-save');
    await expect.poll(() => page.textContent('#settings-status')).toBe('Saved: Default provider, Max tokens per request, Time zone');
    expect(await settings()).toMatchObject({ defaultProviderId: mainId, maxTokensPerRequest: 2048, timezone: 'Europe/Paris' });

    // One save with a good change and a bad one: refused whole, the error beside the time zone.
    await page.fill('#settings-form input[name=maxTokensPerRequest]', '1000');
    await page.fill('#settings-form input[name=timezone]', 'Mars/Olympus_Mons');
    await page.click('#settings-save');
    const zoneError = page.locator('#settings-form .field-error[data-error-for=timezone]');
    await expect.poll(() => zoneError.textContent()).toBe('timezone must be an IANA time zone (e.g. Europe/Berlin) (BAD_USER_INPUT)');
    expect(await page.getAttribute('#settings-form input[name=timezone]', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#settings-error')).toBe('');
    expect(await page.textContent('#settings-form .field-error[data-error-for=maxTokensPerRequest]')).toBe('');
    expect(await settings()).toMatchObject({ maxTokensPerRequest: 2048, timezone: 'Europe/Paris' });
    await snapWideAndNarrow(page, 'workspace-01-settings');
  });

  it('sets an agent preference with its cost indicator, and the route preview follows it', async () => {
    await openTab('agents');
    const route = page.locator('#route-candidates li');
    await page.fill('#route-form input[name=agent]', 'support');
    await page.click('#route-form button[type=submit]');
    await expect.poll(() => route.first().textContent()).toContain('Main OpenAI · gpt-4o-mini (workspace default)');
    const capped = page.locator('#route-candidates li.skipped', { hasText: 'Capped OpenAI' });
    expect(await capped.locator('.verdict').textContent()).toBe('skipped: its daily token limit is reached');

    // A model the provider does not offer: refused next to the model field.
    await page.fill('#agent-form input[name=agentType]', 'support');
    await page.selectOption('#agent-form select[name=providerId]', { label: 'Backup Claude' });
    await page.fill('#agent-form input[name=model]', 'no-such-model');
    await page.click('#agent-form button[type=submit]');
    await expect.poll(() => page.textContent('#agent-form .field-error[data-error-for=model]')).toContain('does not offer the model "no-such-model" (BAD_USER_INPUT)');

    await page.fill('#agent-form input[name=model]', MODELS.ANTHROPIC);
    await page.selectOption('#agent-form select[name=fallbackProviderId]', { label: 'Main OpenAI' });
    await page.click('#agent-form button[type=submit]');
    await expect.poll(() => page.textContent('#agents-status')).toBe('support: preference saved');
    const row = page.locator('#agents-table tr[data-agent=support]');
    expect(await row.textContent()).toContain(`Backup Claude · ${MODELS.ANTHROPIC}`);
    expect(await row.locator('td.cost').textContent()).toMatch(/^\$\d+(\.\d+)? \/ 1M tokens$/);
    expect(await row.textContent()).toContain("the workspace's");
    expect((await settings()).agentPreferences).toEqual([{ agentType: 'support', providerId: claudeId, model: MODELS.ANTHROPIC, routingStrategy: null }]);
    await expect.poll(() => route.first().textContent()).toContain(`Backup Claude · ${MODELS.ANTHROPIC} (agent preference)`);
    expect(await route.nth(1).textContent()).toContain('Main OpenAI · gpt-4o-mini (agent fallback)');
    await snapWideAndNarrow(page, 'workspace-02-agents');

    // Removed: the agent's calls follow the workspace default again.
    await row.locator('button', { hasText: 'Remove' }).click();
    await expect.poll(() => page.textContent('#agents-status')).toBe('support: preference removed');
    await expect.poll(() => route.first().textContent()).toContain('Main OpenAI · gpt-4o-mini (workspace default)');
    expect((await settings()).agentPreferences).toEqual([]);
  });

  it("orders the route by expected cost when the workspace or an agent asks for the cheapest, with each candidate's figures", async () => {
    const route = page.locator('#route-candidates li');
    await openTab('settings');
    // Opening the tab reloads the form: a choice made in the form of the earlier visit would be drawn over.
    await page.waitForSelector('#settings-form:not([aria-busy]) select[name=routingStrategy]');
    expect(await page.inputValue('#settings-form select[name=routingStrategy]')).toBe('PRIORITY');
    await page.selectOption('#settings-form select[name=routingStrategy]', 'CHEAPEST');
    await page.click('#settings-save');
    await expect.poll(() => page.textContent('#settings-status')).toBe('Saved: Order of the candidates');
    expect((await settings()).routingStrategy).toBe('CHEAPEST');

    // The workspace default stays first (the cheapest), the Claude fallback by priority goes behind the cheaper OpenAI ones.
    await openTab('agents');
    await page.fill('#route-form input[name=agent]', '');
    await page.click('#route-form button[type=submit]');
    await expect.poll(() => route.first().textContent()).toMatch(/^1Main OpenAI · gpt-4o-mini \(cheapest: \$0\.\d+ expected/);
    expect(await route.first().locator('.figures').textContent()).toMatch(/^\$0\.\d+ a call · first token (in \d+ ms|not measured yet)$/);

    // An agent may ask for its own order: by priority, the preference first whatever it costs.
    await page.fill('#agent-form input[name=agentType]', 'writer');
    await page.selectOption('#agent-form select[name=providerId]', { label: 'Backup Claude' });
    await page.fill('#agent-form input[name=model]', MODELS.ANTHROPIC);
    await page.selectOption('#agent-form select[name=routingStrategy]', 'PRIORITY');
    await page.click('#agent-form button[type=submit]');
    await expect.poll(() => page.textContent('#agents-status')).toBe('writer: preference saved');
    expect(await page.locator('#agents-table tr[data-agent=writer]').textContent()).toContain('By priority (the configured order)');
    expect((await settings()).agentPreferences).toEqual([{ agentType: 'writer', providerId: claudeId, model: MODELS.ANTHROPIC, routingStrategy: 'PRIORITY' }]);
    await expect.poll(() => route.first().textContent()).toContain(`Backup Claude · ${MODELS.ANTHROPIC} (agent preference)`);

    await page.locator('#agents-table tr[data-agent=writer] button', { hasText: 'Remove' }).click();
    await expect.poll(() => page.textContent('#agents-status')).toBe('writer: preference removed');
    expect((await gw.execute(UpdatePreferences, { input: { routingStrategy: 'PRIORITY' } }, { token })).errors).toBeUndefined();
  });

  it('creates an API key shown once, used by the openai SDK, listed with its usage, then masked and revoked', async () => {
    await openTab('apikeys');
    await expect.poll(() => page.textContent('#apikeys-table tbody')).toContain('No API key yet');
    // Refused input shows beside its field.
    await page.fill('#apikey-form input[name=name]', 'ci bot');
    await page.fill('#apikey-form input[name=requestsPerMinute]', '0');
    await page.click('#apikey-form button[type=submit]');
    await expect.poll(() => page.textContent('#apikey-form .field-error[data-error-for=requestsPerMinute]')).toContain('(BAD_USER_INPUT)');

    await page.selectOption('#apikey-form select[name=principal]', 'SERVICE');
    await page.fill('#apikey-form input[name=requestsPerMinute]', '60');
    await page.fill('#apikey-form input[name=dailyTokenLimit]', '100000');
    await page.fill('#apikey-form input[name=monthlyBudgetUsd]', '5');
    await page.click('#apikey-form button[type=submit]');
    await page.waitForSelector('#apikey-created:not([hidden])');
    const secret = await page.inputValue('#apikey-secret');
    expect(secret).toMatch(/^gk_[0-9A-Za-z]{43}$/);
    expect(await page.textContent('#apikey-openai')).toContain(`new OpenAI({ baseURL: '${gw.url}/v1', apiKey: process.env.GATEWAY_API_KEY })`);
    expect(await page.textContent('#apikey-anthropic')).toContain(`new Anthropic({ baseURL: '${gw.url}', apiKey: process.env.GATEWAY_API_KEY })`);

    // Copy: through the clipboard where the page may write it...
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    await page.click('#apikey-copy');
    await expect.poll(() => page.textContent('#apikey-copy-status')).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    // ...and, where the browser refuses, the key is selected for the person to copy.
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));
    });
    await page.click('#apikey-copy');
    await expect.poll(() => page.textContent('#apikey-copy-status')).toMatch(/^(Copied|The browser refused to copy: the value is selected, press Ctrl\+C)/);
    expect(
      await page.evaluate(() => {
        const field = document.activeElement as HTMLInputElement;
        return field.id === 'apikey-secret' && field.selectionStart === 0 && field.selectionEnd === field.value.length;
      }),
    ).toBe(true);
    await snapWideAndNarrow(page, 'workspace-03-apikey-created');

    // The key works on the OpenAI door, with the simulator answering.
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const answer = await openai.chat.completions.create({ model: 'auto', messages: HELLO });
    expect(answer.choices[0]?.message.content).toBeTruthy();

    // Leaving the panel forgets the secret; so does a reload: only its prefix is listed, with the key's usage.
    await openTab('agents');
    expect(await page.inputValue('#apikey-secret')).toBe('');
    await openTab('apikeys');
    expect(await page.isHidden('#apikey-created')).toBe(true);
    await page.reload();
    await page.waitForSelector('#providers-table tbody tr');
    await openTab('apikeys');
    const row = page.locator('#apikeys-table tr', { hasText: 'ci bot' });
    await row.waitFor();
    expect(await row.locator('td.key').textContent()).toBe(`${secret.slice(0, PREFIX_LENGTH)}••••`);
    expect(await page.isHidden('#apikey-created')).toBe(true);
    expectNoSecret(await page.content(), secret.slice(PREFIX_LENGTH));
    const used = answer.usage!.total_tokens;
    expect(await row.locator('td.today').textContent()).toBe(`${used.toLocaleString('en-US')} / 100,000 tokens`);
    expect(await row.locator('td.month').textContent()).toMatch(/^\$[\d.]+ \/ \$5\.00$/);
    expect(await row.locator('td.last-used').textContent()).not.toBe('never');
    expect(await row.textContent()).toContain('Service key (a workspace program, member role) · by owner-');
    await snapWideAndNarrow(page, 'workspace-04-apikeys');

    await row.locator('button', { hasText: 'Revoke' }).click();
    await expect.poll(() => page.textContent('#apikeys-status')).toBe('ci bot revoked');
    await expect.poll(() => row.locator('td.actions').textContent()).toMatch(/^Revoked /);
    await expect(openai.chat.completions.create({ model: 'auto', messages: HELLO })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("shows a member the workspace's settings read-only, the route preview, and lets them create only keys acting as themselves", async () => {
    const member = await page.context().newPage();
    await signIn(member, gw, memberToken);
    await member.click('nav button[data-tab=settings]');
    await member.waitForSelector('#settings-form:not([aria-busy]) input[name=timezone]');
    expect(await member.isVisible('#settings-read-only')).toBe(true);
    expect(await member.isHidden('#settings-save')).toBe(true);
    expect(await member.inputValue('#settings-form input[name=timezone]')).toBe('Europe/Paris');
    expect(await member.isDisabled('#settings-form input[name=timezone]')).toBe(true);

    await member.click('nav button[data-tab=agents]');
    expect(await member.isHidden('#agent-form')).toBe(true);
    await expect.poll(() => member.locator('#route-candidates li').first().textContent()).toContain('Main OpenAI · gpt-4o-mini (workspace default)');

    await member.click('nav button[data-tab=apikeys]');
    // ADMIN+ see every key of the workspace, members their own: the owner's revoked key is not listed.
    await expect.poll(() => member.textContent('#apikeys-table tbody')).toContain('No API key yet');
    expect(await member.$$eval('#apikey-form select[name=principal] option', (options) => options.map((option) => (option as HTMLOptionElement).value))).toEqual(['MEMBER']);
    await member.close();
  });
});
