// The console's usage, providers and models panels in Chromium against a running
// gateway and the simulator: usage stacked by agent with the calls log paged
// past its first page, the export of what is on screen, a provider failing every
// call shown as failing, the platform quota, and the model browser past 100
// models with a capability filter. Each panel is shot at 1280×800 and 390×844
// (where the page must not scroll sideways) into test-artifacts/console/.
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { hasChromium, openConsole, signIn, snap, snapNarrow, WIDE } from '../testkit/browser.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AddProvider, Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const PlatformProviders = graphql(`
  query ConsoleTestPlatformProviders {
    providers { id scope }
  }
`);

const Totals = graphql(`
  query ConsoleTestTotals($range: DateRangeInput!, $filter: UsageFilter) {
    usage(range: $range, filter: $filter) { totals { requests failedRequests } }
  }
`);

const SUPPORT_CALLS = 30;
const TRIAGE_CALLS = 4;

describe.skipIf(!hasChromium)('the usage, providers and models panels in Chromium', () => {
  let gw: TestServer;
  let sim: Simulator;
  let browser: Browser;
  let page: Page;
  let token: string;
  /** The ledger's own counts, which the panels must show: every call, and the broken provider's (each retry is a call). */
  let all: { requests: number; failedRequests: number };
  let brokenCalls: number;

  beforeAll(async () => {
    // The platform provider needs the simulator's address first.
    sim = await startSimulator();
    gw = await startTestServer({
      // OpenRouter's list is not read (as in CI, without a network): its calls are priced by the shipped table alone.
      OPENROUTER_CATALOG_URL: 'http://127.0.0.1:1',
      // One attempt per provider: the broken one's calls are exactly the two below.
      CHAT_MAX_RETRIES: '0',
      PLATFORM_MONTHLY_REQUESTS: '20',
      PLATFORM_PROVIDERS: JSON.stringify([{ kind: 'OPENAI', apiKey: 'sk-platform-console-0123456789abcdef', baseUrl: sim.baseUrls.openai, label: 'House OpenAI' }]),
    });
    ({ token } = await newOwner(gw));
    const good = await addSimProvider(gw, sim, token, { label: 'Sim OpenAI', priority: 1 });
    // Every call to it fails upstream: fewer calls than the health window needs, so its stored status stays ACTIVE.
    const broken = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'Broken Claude', script: 'status=500', priority: 2 });
    const chat = async (input: Record<string, unknown>) => gw.execute(Chat, { input: { messages: userMessage(), ...input } }, { token });
    for (let i = 0; i < SUPPORT_CALLS; i++) expect((await chat({ providerId: good.id, agent: 'support', operation: 'answer' })).errors).toBeUndefined();
    for (let i = 0; i < TRIAGE_CALLS; i++) expect((await chat({ providerId: good.id, agent: 'triage', operation: 'classify' })).errors).toBeUndefined();
    // Two calls the broken provider fails: one alone, one that falls back to the good one (a fallback chain in the log).
    expect((await chat({ providerId: broken.id, agent: 'support', allowFallback: false })).errors?.[0]?.extensions?.code).toBeDefined();
    const fellBack = await chat({ providerId: broken.id, agent: 'support', operation: 'answer' });
    expect(fellBack.data?.chat.fellBack).toBe(true);
    // One call through the platform provider: the quota shows it.
    const { data } = await gw.execute(PlatformProviders, {}, { token });
    const platform = data!.providers.find((provider) => provider.scope === 'PLATFORM')!;
    expect((await chat({ providerId: platform.id, agent: 'triage' })).errors).toBeUndefined();

    const range = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 86_400_000).toISOString() };
    all = (await gw.execute(Totals, { range }, { token })).data!.usage.totals;
    brokenCalls = (await gw.execute(Totals, { range, filter: { providerIds: [broken.id] } }, { token })).data!.usage.totals.failedRequests;
    expect(brokenCalls).toBeGreaterThanOrEqual(2);

    ({ browser, page } = await openConsole(gw, token, { acceptDownloads: true }));
    await page.waitForSelector('#providers-table tbody tr');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
  });

  it('shows a provider failing every call as failing, kinds by name, and the platform quota used and left', async () => {
    const broken = page.locator('#providers-table tr', { hasText: 'Broken Claude' });
    const badge = broken.locator('.status');
    expect(await badge.textContent()).toBe('Failing');
    expect(await badge.getAttribute('data-status')).toBe('ACTIVE');
    expect(await badge.getAttribute('class')).toContain('tone-bad');
    expect(await broken.locator('td.health').textContent()).toContain(`100% of ${brokenCalls} calls failed`);
    expect(await broken.textContent()).toContain('Anthropic');
    const good = page.locator('#providers-table tr', { hasText: 'Sim OpenAI' });
    expect(await good.locator('.status').textContent()).toBe('Active');
    expect(await good.textContent()).toContain('OpenAI');
    expect(await good.textContent()).toContain('Workspace');
    expect(await page.locator('#add-provider-form select[name=kind] option', { hasText: 'OpenAI-compatible' }).count()).toBe(1);
    expect(await page.textContent('#platform-quota')).toMatch(/^Platform providers: 1 of 20 calls used in \d{4}-\d{2}, 19 left/);
    expect(await page.isHidden('#providers-empty')).toBe(true);
    await snap(page, 'usage-01-providers');
    await snapNarrow(page, 'usage-02-providers-narrow');
  });

  it('stacks usage by agent, filters it, and pages the calls log', async () => {
    await page.click('nav button[data-tab=usage]');
    const total = all.requests;
    await expect.poll(() => page.textContent('#usage-totals')).toMatch(new RegExp(`^${total} requests \\(${all.failedRequests} failed\\)`));
    expect(await page.textContent('#usage-zone')).toContain('UTC');
    await page.selectOption('#usage-controls select[name=groupBy]', 'AGENT');
    await page.selectOption('#usage-controls select[name=bucket]', 'WEEK');
    await expect.poll(() => page.textContent('#usage-tokens-caption')).toBe('Tokens per week');
    // The log: newest first, 25 a page; the first page's first row is the platform call.
    await expect.poll(() => page.textContent('#usage-log-status')).toBe('Calls 1–25, newest first');
    expect(await page.locator('#usage-log tbody tr').count()).toBe(25);
    const fallbackRow = page.locator('#usage-log tbody tr', { hasText: 'after Broken Claude' });
    expect(await fallbackRow.locator('td.fallback').textContent()).toMatch(/^after Broken Claude claude-3-5-haiku-latest ✗ \(\w+\)$/);
    await snap(page, 'usage-03-usage-by-agent');
    await page.click('#usage-log-older');
    await expect.poll(() => page.textContent('#usage-log-status')).toBe(`Calls 26–${total}, newest first (the oldest in the range)`);
    expect(await page.isDisabled('#usage-log-older')).toBe(true);
    await page.click('#usage-log-newer');
    await expect.poll(() => page.textContent('#usage-log-status')).toBe('Calls 1–25, newest first');

    // Narrowed to one agent: the chart, the totals and the log agree.
    await page.fill('#usage-controls input[name=agent]', 'triage');
    await page.press('#usage-controls input[name=agent]', 'Enter');
    await expect.poll(() => page.textContent('#usage-totals')).toMatch(new RegExp(`^${TRIAGE_CALLS + 1} requests \\(0 failed\\)`));
    await expect.poll(() => page.textContent('#usage-log-status')).toBe(`Calls 1–${TRIAGE_CALLS + 1}, newest first (the oldest in the range)`);
    const agents = await page.locator('#usage-log tbody tr td:nth-child(3)').allTextContents();
    expect(agents.every((agent) => agent.startsWith('triage'))).toBe(true);
    await snap(page, 'usage-04-usage-filtered');
    await snapNarrow(page, 'usage-05-usage-narrow');
  });

  it('exports what is on screen: the calls and the chart, with the same range and filters', async () => {
    const [calls] = await Promise.all([page.waitForEvent('download'), page.click('#usage-export-calls')]);
    const callLines = (await readFile((await calls.path())!, 'utf8')).trim().split('\r\n');
    expect(callLines[0]).toMatch(/^id,created_at,.*,fallback_from_id$/);
    const shownIds = await page.locator('#usage-log tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.eventId));
    const exportedIds = callLines.slice(1).map((line) => line.split(',')[0]);
    expect(exportedIds.sort()).toEqual([...shownIds].sort());
    expect(callLines.slice(1).every((line) => line.split(',')[5] === 'triage')).toBe(true);
    await expect.poll(() => page.textContent('#usage-export-status')).toMatch(/^Saved usage-.*\.csv$/);

    const [series] = await Promise.all([page.waitForEvent('download'), page.click('#usage-export-series')]);
    const seriesLines = (await readFile((await series.path())!, 'utf8')).trim().split('\r\n');
    expect(seriesLines[0]).toBe('bucket_start,agent,requests,failed_requests,prompt_tokens,completion_tokens,total_tokens,cost_usd,avg_duration_ms');
    const rows = seriesLines.slice(1).map((line) => line.split(','));
    expect(new Set(rows.map((row) => row[1]))).toEqual(new Set(['triage']));
    expect(rows.reduce((sum, row) => sum + Number(row[2]), 0)).toBe(TRIAGE_CALLS + 1);
  });

  it('browses the whole catalog a page at a time, past 100 models, and by capability', async () => {
    await page.click('nav button[data-tab=models]');
    await expect.poll(() => page.textContent('#models-count')).toMatch(/^Models 1–50 of (\d+)$/);
    const total = Number(/of (\d+)$/.exec((await page.textContent('#models-count'))!)![1]);
    expect(total).toBeGreaterThan(100);
    const seen = new Set<string>();
    const readPage = async () => {
      for (const id of await page.locator('#models-table tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.modelId!))) seen.add(id);
    };
    await readPage();
    await page.click('#models-next');
    await expect.poll(() => page.textContent('#models-count')).toBe(`Models 51–100 of ${total}`);
    await readPage();
    await page.click('#models-next');
    await expect.poll(() => page.textContent('#models-count')).toBe(`Models 101–${Math.min(150, total)} of ${total}`);
    await readPage();
    if (total <= 150) expect(await page.isDisabled('#models-next')).toBe(true);
    expect(seen.size).toBe(Math.min(150, total));
    await page.click('#models-previous');
    await expect.poll(() => page.textContent('#models-count')).toBe(`Models 51–100 of ${total}`);
    await snap(page, 'usage-06-models-page-2');

    // Kinds by name, and only the models that can use tools (back on the first page).
    expect(await page.locator('#models-controls select[name=kind] option', { hasText: 'Google Gemini' }).count()).toBe(1);
    await page.selectOption('#models-controls select[name=capability]', 'tools');
    await expect.poll(() => page.textContent('#models-count')).toMatch(/^Models 1–\d+ of \d+$/);
    const capabilities = await page.locator('#models-table tbody td.capabilities').allTextContents();
    expect(capabilities.length).toBeGreaterThan(0);
    expect(capabilities.every((listed) => listed.split(', ').includes('tools'))).toBe(true);
    await page.selectOption('#models-controls select[name=capability]', 'embeddings');
    await expect.poll(async () => (await page.locator('#models-table tbody td.capabilities').allTextContents()).every((listed) => listed.includes('embeddings'))).toBe(true);
    expect(await page.locator('#models-table tbody tr').count()).toBeGreaterThan(0);
    await snap(page, 'usage-07-models-embeddings');
    await page.selectOption('#models-controls select[name=capability]', '');
    await snapNarrow(page, 'usage-08-models-narrow');
  });

  it("shows the provider's reported cost under ours, and the bill check flags a model billed apart from our price", async () => {
    // OpenRouter reports each call's cost; this key's calls are billed a quarter above the catalog's price (the simulator's script).
    const added = await gw.execute(
      AddProvider,
      { input: { kind: 'OPENROUTER', label: 'Sim OpenRouter', apiKey: `sk-or-${'0'.repeat(24)}#cost-factor=1.25`, baseUrl: sim.baseUrls.openrouter, skipValidation: true } },
      { token },
    );
    expect(added.errors).toBeUndefined();
    const billed = await gw.execute(Chat, { input: { providerId: added.data!.addProvider.id, model: 'openai/gpt-4o-mini', messages: userMessage() } }, { token });
    expect(billed.errors).toBeUndefined();
    // A variant OpenRouter serves but lists nowhere: no price of ours, so priced by the kind's rule, said apart.
    const unpriced = await gw.execute(Chat, { input: { providerId: added.data!.addProvider.id, model: 'openai/gpt-4o-mini:nitro', messages: userMessage() } }, { token });
    expect(unpriced.errors).toBeUndefined();

    await page.click('nav button[data-tab=providers]');
    await page.click('nav button[data-tab=usage]');
    await page.fill('#usage-controls input[name=agent]', '');
    await page.press('#usage-controls input[name=agent]', 'Enter');
    const modelRow = (model: string) => page.locator('#bill-check tbody tr').filter({ has: page.locator('strong', { hasText: new RegExp(`^${model}$`) }) });
    const row = modelRow('openai/gpt-4o-mini');
    await row.waitFor();
    expect(await page.textContent('#bill-check-status')).toMatch(/^2 models whose provider reported its own cost, since \d{4}-\d{2}-\d{2}$/);
    expect(await row.getAttribute('class')).toBe('differs');
    const [calls, ours, theirs, , differing] = (await row.locator('td').allTextContents()).slice(1);
    expect([calls, differing]).toEqual(['1', '1']);
    expect(Number(theirs.slice(1)) / Number(ours.slice(1))).toBeCloseTo(1.25, 1);
    const unpricedRow = modelRow('openai/gpt-4o-mini:nitro');
    expect(await unpricedRow.getAttribute('class')).toBeNull();
    expect((await unpricedRow.locator('td').allTextContents()).at(-1)).toBe("01 call without a price (priced by the kind's rule)");
    expect(await page.locator('#usage-log tbody tr').first().textContent()).toMatch(/\$[\d.]+provider: \$[\d.]+/);
    await snap(page, 'usage-08b-bill-check');
  });

  it('tells a member of a workspace without keys what to do, and shows them only their own usage', async () => {
    const workspace = newWorkspace();
    const member = await gw.token(workspace.claims('member', 'mia'));
    const { data } = await gw.execute(PlatformProviders, {}, { token: member });
    const platform = data!.providers.find((provider) => provider.scope === 'PLATFORM')!;
    expect((await gw.execute(Chat, { input: { providerId: platform.id, messages: userMessage(), agent: 'notes' } }, { token: member })).errors).toBeUndefined();
    const memberPage = await browser.newPage({ viewport: WIDE });
    try {
      await signIn(memberPage, gw, member);
      await memberPage.waitForSelector('#providers-table tbody tr');
      expect(await memberPage.textContent('#providers-empty')).toMatch(
        /^No keys of your own yet: calls go to the operator's platform providers.*Ask an admin to add a workspace key/,
      );
      expect(await memberPage.textContent('#platform-quota')).toMatch(/1 of 20 calls used .*19 left/);
      expect(await memberPage.inputValue('#add-provider-form select[name=scope]')).toBe('PERSONAL');
      await snap(memberPage, 'usage-09-member-providers');
      await memberPage.click('nav button[data-tab=usage]');
      await expect.poll(() => memberPage.textContent('#usage-totals')).toMatch(/^1 request \(0 failed\)/);
      expect(await memberPage.locator('#usage-log tbody tr').count()).toBe(1);
      // Grouping and filtering by person are an admin's: a member's usage is their own.
      expect(await memberPage.isHidden('#usage-log th[data-admin]')).toBe(true);
      expect(await memberPage.isHidden('#usage-controls label[data-admin]')).toBe(true);
      expect(await memberPage.isHidden('#bill-check')).toBe(true);
      expect(await memberPage.locator('#usage-log tbody tr td').count()).toBe(7);
      await snap(memberPage, 'usage-10-member-usage');
    } finally {
      await memberPage.close();
    }
  });
});
