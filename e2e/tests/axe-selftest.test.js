// Guards the guard: checkA11y must fail, readably, on a page with known WCAG violations, so
// that "0 violations" elsewhere means axe really ran.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkA11y, launchBrowser, newPage } from '../lib/browser.js';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('checkA11y reports the violations of a known-bad page', async () => {
  const page = await newPage(browser);
  // No lang, an image without alt, an input without label.
  await page.setContent('<!DOCTYPE html><html><head><title>Mauvais</title></head><body><main>'
    + '<h1>Mauvais</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10">'
    + '<input type="text"></main></body></html>');
  await assert.rejects(checkA11y(page, 'selftest-known-bad'), (e) => {
    for (const rule of ['html-has-lang', 'image-alt', 'label']) {
      assert.match(e.message, new RegExp(`- ${rule} \\[`), `${rule} missing from:\n${e.message}`);
    }
    return true;
  });
});
