// The console in Debian's Chromium, driven by playwright-core: whether a browser
// is here, a signed-in page, and screenshots of a panel wide and narrow (where
// the page must not scroll sideways).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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

/** A browser and a page of the console signed in with `token` (confirm dialogs accepted). */
export async function openConsole(gw: TestServer, token: string): Promise<{ browser: Browser; page: Page }> {
  await mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: WIDE });
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${gw.url}/console/`);
  await page.fill('#sign-in-form textarea', token);
  await page.click('#sign-in-form button[type=submit]');
  await page.waitForSelector('#console:not([hidden])');
  return { browser, page };
}

/** Screenshots the page wide, then narrow, where it must not be wider than the screen. */
export async function snapWideAndNarrow(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.setViewportSize(NARROW);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-narrow.png`), fullPage: true });
  await page.setViewportSize(WIDE);
  expect(overflow, `${name}: the page is wider than a 390 px screen`).toBeLessThanOrEqual(0);
}
