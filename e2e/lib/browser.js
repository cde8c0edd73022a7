// Debian's Chromium driven by playwright-core, and the accessibility check run on every page.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOT_DIR = join(E2E_DIR, 'screenshots');
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The browser: Debian's package (no Playwright download); $CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The WCAG 2.1 level A and AA rules of axe-core. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Launches headless Chromium (Playwright gives it a fresh temporary --user-data-dir). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A page in its own context (own cookies). `bypassCSP` lets checkA11y inject axe-core
 * despite the portal's `script-src 'self'`; it changes nothing else on the page.
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({
    bypassCSP: true,
    locale: 'fr-FR',
    viewport: { width: 1280, height: 800 },
    ...options,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000); // fail fast: every page here is local
  return page;
}

/**
 * Runs axe-core (WCAG 2.1 AA) on the page as it is now, saves a full-page screenshot to
 * screenshots/<name>.png and the raw results to screenshots/<name>.axe.json, then throws a
 * readable list if there is any violation. The screenshot is taken first, so a failing page
 * can be looked at.
 */
export async function checkA11y(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] }),
    WCAG_TAGS,
  );
  const keep = ({ id, impact, help, helpUrl, nodes }) =>
    ({ id, impact, help, helpUrl, nodes: nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })) });
  writeFileSync(
    join(SCREENSHOT_DIR, `${name}.axe.json`),
    JSON.stringify({ url: page.url(), violations: results.violations.map(keep), incomplete: results.incomplete.map(keep) }, null, 2),
  );
  if (results.violations.length > 0) {
    const lines = results.violations.flatMap((v) => [
      `- ${v.id} [${v.impact}] ${v.help} (${v.helpUrl})`,
      ...v.nodes.map((n) => `    at ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s*\n\s*/g, ' ')}`),
    ]);
    throw new Error(`axe: ${results.violations.length} WCAG 2.1 AA violation(s) on ${name} (${page.url()}):\n${lines.join('\n')}`);
  }
}

/** The common page checks: French document, exactly one h1. Returns the h1's text. */
export async function checkPageBasics(page) {
  const lang = await page.getAttribute('html', 'lang');
  if (lang !== 'fr') throw new Error(`html[lang] is ${JSON.stringify(lang)}, expected "fr" on ${page.url()}`);
  const h1 = page.locator('h1');
  const count = await h1.count();
  if (count !== 1) throw new Error(`${count} h1 on ${page.url()}, expected exactly 1`);
  return (await h1.textContent()).trim();
}
