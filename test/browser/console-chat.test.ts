// The console's chat playground in Chromium against the simulator: a multi-turn conversation with a
// system prompt and a tool answered by hand, an image attachment, the fallback chain of a turn, and
// GraphiQL served from the gateway's own assets with no request leaving for the internet.
// Screenshots go to test-artifacts/console/chat-*.png.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest, Simulator } from '../../src/simulator/simulator.js';
import { expectNoSidewaysScroll, hasChromium, NARROW, openBrowser, openConsole, snap, WIDE } from '../testkit/browser.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { UpdatePreferences } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const WEATHER_TOOL = [
  {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
];
/** A 1×1 transparent PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

type WireMessage = { role: string; content?: unknown; tool_calls?: Array<{ id: string; function: { name: string } }>; tool_call_id?: string };

describe.skipIf(!hasChromium)('the chat playground in Chromium', () => {
  let gw: TestServer;
  let sim: Simulator;
  let browser: Browser;
  let page: Page;
  let token: string;
  // The database is shared with other test files on Postgres: rows are counted in this file's workspace.
  let workspaceId: string;

  /** The chat requests the simulator got on its OpenAI door, newest last. */
  const chatRequests = () => sim.requests.filter((r: RecordedRequest) => r.protocol === 'openai' && r.method === 'POST' && r.path.endsWith('/chat/completions'));
  const lastMessages = () => (chatRequests().at(-1)!.body as { messages: WireMessage[] }).messages;
  const assistantTurns = () => page.locator('#chat-output .turn.assistant');

  beforeAll(async () => {
    [gw, sim] = await Promise.all([startTestServer({ CHAT_RETRY_BASE_MS: '5' }), startSimulator()]);
    const owner = await newOwner(gw);
    ({ token } = owner);
    workspaceId = owner.workspace.id;
    await addSimProvider(gw, sim, token, { kind: 'OPENAI', label: 'Sim OpenAI', script: 'chunks=8' });
    ({ browser, page } = await openConsole(gw, token));
    await page.click('nav button[data-tab=chat]');
    await page.selectOption('#chat-form select[name=providerId]', { label: 'Sim OpenAI (OPENAI)' });
  });

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
  });

  it('refuses tools that are not JSON in the page, and shows the API refusing a bad tool next to the field', async () => {
    const sent = chatRequests().length;
    await page.click('#chat-tools summary');
    await page.fill('#chat-form textarea[name=tools]', '[{"name": "get_weather",');
    await page.fill('#chat-form textarea[name=content]', 'Hello');
    await page.click('#chat-send');
    await expect.poll(() => page.textContent('[data-error-for=tools]')).toMatch(/^Not JSON: .*\(INVALID_JSON\)$/);
    expect(await page.locator('#chat-output .turn').count()).toBe(0);

    await page.fill('#chat-form textarea[name=tools]', JSON.stringify([{ name: 'get weather!', parameters: { type: 'object' } }]));
    await page.click('#chat-send');
    await expect.poll(() => page.textContent('[data-error-for=tools]')).toContain('(BAD_USER_INPUT)');
    expect(chatRequests().length).toBe(sent);
    await page.waitForSelector('#chat-form[data-state=done]');
    await page.click('#chat-clear');
    expect(await page.textContent('[data-error-for=tools]')).toBe('');
  });

  it('estimates what the next turn would cost on its route without calling anyone', async () => {
    const sent = chatRequests().length;
    const rows = await gw.db.prisma.usageEvent.count({ where: { workspaceId } });
    await page.fill('#chat-form textarea[name=tools]', '');
    await page.fill('#chat-form textarea[name=content]', 'How much would this cost?');
    await page.click('#chat-estimate');
    await expect.poll(() => page.textContent('#chat-estimate-result')).toMatch(/^This turn would cost \$[\d.]+ to \$[\d.]+ \(first: Sim OpenAI · gpt-4o-mini\)\.$/);
    expect(chatRequests().length).toBe(sent);
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId } })).toBe(rows);
    expect(await page.inputValue('#chat-form textarea[name=content]')).toBe('How much would this cost?');
    await page.fill('#chat-form textarea[name=content]', '');
  });

  it('holds a multi-turn tool conversation: the model asks for a tool, the result is typed by hand, the model answers with it', async () => {
    await page.fill('#chat-form textarea[name=system]', 'You are a weather desk.');
    await page.fill('#chat-form textarea[name=tools]', JSON.stringify(WEATHER_TOOL, null, 2));
    await page.fill('#chat-form input[name=maxTokens]', '200');
    await page.fill('#chat-form textarea[name=content]', 'What is the weather in Paris?');
    await page.click('#chat-send');

    // The call streams in with its arguments, and a form waits for its result.
    await page.waitForSelector('#chat-form[data-state=tool-calls]');
    const call = assistantTurns().nth(0).locator('.tool-call');
    expect(await call.locator('code').textContent()).toBe('get_weather');
    expect(JSON.parse((await call.locator('pre.arguments').textContent())!)).toEqual({ city: 'sample' });
    expect(await page.isDisabled('#chat-send')).toBe(true);
    expect(await assistantTurns().nth(0).locator('.usage').textContent()).toContain('finished: tool calls');
    const first = chatRequests().at(-1)!.body as { max_tokens?: number; max_completion_tokens?: number; tools: unknown[] };
    expect(first.max_completion_tokens ?? first.max_tokens).toBe(200);
    expect(first.tools).toHaveLength(1);
    await snap(page, 'chat-01-tool-call');

    await call.locator('textarea[name=result]').fill('18 degrees and sunny');
    await call.locator('button[type=submit]').click();
    await page.waitForSelector('#chat-form[data-state=done]');
    expect(await assistantTurns().nth(1).locator('pre.text').textContent()).toContain('Tool said: 18 degrees and sunny');
    // The simulator saw the system prompt, the call and the typed result answering it.
    const [system, user, assistant, tool] = lastMessages();
    expect(system).toEqual({ role: 'system', content: 'You are a weather desk.' });
    expect(user).toMatchObject({ role: 'user', content: 'What is the weather in Paris?' });
    expect(assistant!.tool_calls?.[0]?.function.name).toBe('get_weather');
    expect(tool).toMatchObject({ role: 'tool', tool_call_id: assistant!.tool_calls![0]!.id, content: '18 degrees and sunny' });

    // A third turn carries the whole conversation; the model has used its one tool turn and answers.
    await page.fill('#chat-form textarea[name=content]', 'And tomorrow?');
    await page.click('#chat-send');
    await page.waitForSelector('#chat-form[data-state=done]');
    expect(await assistantTurns().nth(2).locator('pre.text').textContent()).toContain('Echo: And tomorrow?');
    expect(lastMessages().map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
    expect(await assistantTurns().nth(2).locator('.route').textContent()).toBe('Route: Sim OpenAI · gpt-4o-mini');
    expect(await assistantTurns().nth(2).locator('.usage').textContent()).toMatch(/\d+ tokens \(\d+ prompt \+ \d+ completion, provider\) · finished: stop/);
    await snap(page, 'chat-02-conversation');

    await page.click('#chat-clear');
    expect(await page.locator('#chat-output .turn').count()).toBe(0);
  });

  it('sends an attached image as an image part, and refuses one over the size bound', async () => {
    await page.fill('#chat-form textarea[name=tools]', '');
    await page.setInputFiles('#chat-form input[name=images]', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(600 * 1024) });
    await expect.poll(() => page.textContent('[data-error-for=messages]')).toContain('huge.png: an image may be at most 512 KiB');
    await page.setInputFiles('#chat-form input[name=images]', { name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await page.waitForSelector('#chat-attachments li img');
    await page.fill('#chat-form textarea[name=content]', 'What is in this picture?');
    await page.click('#chat-send');
    await page.waitForSelector('#chat-form[data-state=done]');
    expect(await page.locator('#chat-attachments li').count()).toBe(0);
    expect(await page.locator('#chat-output .turn.user img').getAttribute('src')).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    expect(await assistantTurns().last().locator('pre.text').textContent()).toContain('Echo: What is in this picture? (1 image)');
    const [, user] = lastMessages();
    expect(user!.content).toEqual([
      { type: 'text', text: 'What is in this picture?' },
      { type: 'image_url', image_url: expect.objectContaining({ url: `data:image/png;base64,${PNG.toString('base64')}` }) },
    ]);
    await snap(page, 'chat-03-image');
  });

  it('shows the fallback chain a turn took', async () => {
    const { id: failingId } = await addSimProvider(gw, sim, token, { kind: 'OPENAI', label: 'Failing OpenAI', script: 'status=503' });
    const { id: backupId } = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'Backup Claude' });
    expect((await gw.execute(UpdatePreferences, { input: { fallbackProviderId: backupId } }, { token })).errors).toBeUndefined();
    await page.click('nav button[data-tab=providers]');
    await page.locator('#providers-table tr', { hasText: 'Backup Claude' }).waitFor();
    await page.click('nav button[data-tab=chat]');
    await page.click('#chat-clear');
    await page.selectOption('#chat-form select[name=providerId]', failingId);
    await page.fill('#chat-form textarea[name=content]', 'Anyone there?');
    await page.click('#chat-send');
    await page.waitForSelector('#chat-form[data-state=done]');
    expect(await assistantTurns().last().locator('.route').textContent()).toMatch(/^Route: Failing OpenAI · gpt-4o-mini ✗ [A-Z_]+ → fell back to Backup Claude · claude-/);
    expect(await assistantTurns().last().locator('pre.text').textContent()).toContain('Echo: Anyone there?');
    await snap(page, 'chat-04-fallback');

    // The API behind it: each START of the chain, a fallback's with the error code that left the provider before.
    const starts: Array<{ providerId: string; fallbackReason: string | null }> = [];
    const query = 'subscription ($input: ChatInput!) { chatStream(input: $input) { type providerId fallbackReason } }';
    for await (const result of gw.ws(token).iterate({ query, variables: { input: { providerId: failingId, messages: userMessage() } } })) {
      const chunk = (result.data as { chatStream: { type: string; providerId: string; fallbackReason: string | null } }).chatStream;
      if (chunk.type === 'START') starts.push({ providerId: chunk.providerId, fallbackReason: chunk.fallbackReason });
    }
    expect(starts).toEqual([
      { providerId: failingId, fallbackReason: null },
      { providerId: backupId, fallbackReason: 'PROVIDER_UNAVAILABLE' },
    ]);
  });

  it('is usable on a narrow screen, with no horizontal scrolling of the page', async () => {
    await page.setViewportSize(NARROW);
    await page.click('#chat-clear');
    await page.selectOption('#chat-form select[name=providerId]', { label: 'Sim OpenAI (OPENAI)' });
    await page.$eval('#chat-tools', (details) => {
      (details as HTMLDetailsElement).open = true;
    });
    await page.fill('#chat-form textarea[name=tools]', JSON.stringify(WEATHER_TOOL));
    await page.fill('#chat-form textarea[name=content]', 'Weather in Lyon, please');
    await page.click('#chat-send');
    await page.waitForSelector('#chat-form[data-state=tool-calls]');
    await snap(page, 'chat-05-narrow');
    await expectNoSidewaysScroll(page, 'chat-05-narrow');
    await page.setViewportSize(WIDE);
  });
});

describe.skipIf(!hasChromium)('GraphiQL without the internet', () => {
  let gw: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    gw = await startTestServer();
    ({ browser, page } = await openBrowser());
  });

  afterAll(async () => {
    await browser?.close();
    await disposeAll();
  });

  it('renders its editor from the gateway alone and runs a query', async () => {
    const leaving: string[] = [];
    const local = new URL(gw.url).host;
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host === local || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      leaving.push(url.href);
      return route.abort();
    });
    await page.goto(gw.graphqlUrl);
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.waitFor({ timeout: 20_000 });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ __typename }');
    await page.click('.graphiql-execute-button');
    await expect.poll(() => page.locator('.graphiql-response').textContent(), { timeout: 10_000 }).toMatch(/"__typename":\s*"Query"/);
    await snap(page, 'chat-06-graphiql-offline');
    expect(leaving).toEqual([]);
  });
});
