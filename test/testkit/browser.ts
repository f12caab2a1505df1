// The console in Debian's Chromium, driven by playwright-core: whether a browser
// is here, a page (signed in or not yet), and screenshots of a panel wide and
// narrow (where the page must not scroll sideways).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestServer } from './server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/console');
export const WIDE = { width: 1280, height: 800 };
export const NARROW = { width: 390, height: 844 };

export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  // CI installs Chromium; there a missing browser is a failure, never a skip.
  if (process.env.CI) throw new Error(`No Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
  console.warn(`Skipping the console's browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
}

/**
 * A browser and a blank page, wide, with confirm dialogs accepted. The page has a context
 * of its own, so `page.context()` can grant permissions and open more pages beside it.
 */
export async function openBrowser(options: BrowserContextOptions = {}): Promise<{ browser: Browser; page: Page }> {
  await mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({ viewport: WIDE, ...options });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  return { browser, page };
}

/** Signs `page` in to the console with `token`, as a person would type it. */
export async function signIn(page: Page, gw: TestServer, token: string): Promise<void> {
  await page.goto(`${gw.url}/console/`);
  await page.fill('#sign-in-form textarea', token);
  await page.click('#sign-in-form button[type=submit]');
  await page.waitForSelector('#console:not([hidden])');
}

/** A browser and a page of the console signed in with `token` (confirm dialogs accepted). */
export async function openConsole(gw: TestServer, token: string, options: BrowserContextOptions = {}): Promise<{ browser: Browser; page: Page }> {
  const opened = await openBrowser(options);
  await signIn(opened.page, gw, token);
  return opened;
}

/** Screenshots the whole page as test-artifacts/console/`name`.png. */
export async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Asserts the page is no wider than its viewport: it never scrolls sideways (wide tables scroll inside their box). */
export async function expectNoSidewaysScroll(page: Page, name: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name}: the page is wider than its ${page.viewportSize()?.width} px screen`).toBeLessThanOrEqual(0);
}

/** Screenshots the page narrow, where it must not be wider than the screen, then makes it wide again. */
export async function snapNarrow(page: Page, name: string): Promise<void> {
  await page.setViewportSize(NARROW);
  // Charts follow their box's size on the next frames, not at once.
  await page.waitForTimeout(100);
  try {
    await snap(page, name);
    await expectNoSidewaysScroll(page, name);
  } finally {
    await page.setViewportSize(WIDE);
  }
}

/** Screenshots the page wide as `name`, then narrow as `name`-narrow. */
export async function snapWideAndNarrow(page: Page, name: string): Promise<void> {
  await snap(page, name);
  await snapNarrow(page, `${name}-narrow`);
}
