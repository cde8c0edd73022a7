// A phone-sized viewport (375×667): the home and login pages pass axe and reflow without
// horizontal scrolling (WCAG 1.4.10).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkA11y, checkPageBasics, launchBrowser, newPage } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await newPage(browser, {
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const [path, name] of [['/', 'accueil'], ['/connexion', 'connexion']]) {
  test(`mobile 375×667 ${path}`, async () => {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 200);
    await checkPageBasics(page);
    // Both checks run, so that one failure does not hide the other.
    const problems = [];
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    if (widths.page > widths.viewport) {
      problems.push(`horizontal scrolling on ${path}: the page is ${widths.page}px wide in a ${widths.viewport}px viewport`);
    }
    await checkA11y(page, `mobile-${name}`).catch((e) => problems.push(e.message));
    if (problems.length > 0) assert.fail(problems.join('\n'));
  });
}
