// Every public page: status, one h1, lang="fr", axe WCAG 2.1 AA, screenshot, and the skip link
// reached with the keyboard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkA11y, checkPageBasics, launchBrowser, newPage } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

// [path, screenshot name, expected status]
const PAGES = [
  ['/', 'accueil', 200],
  ['/annuaire', 'annuaire', 200],
  ['/annuaire?q=ssiad&autour=Colombes&age=58', 'annuaire-resultats', 200],
  ['/annuaire?q=ehpad&autour=Nulle-part', 'annuaire-erreur', 200],
  ['/annuaire?q=medecine&places=1', 'annuaire-places', 200],
  ['/actualites', 'actualites', 200],
  ['/evenements', 'evenements', 200],
  ['/adhesion', 'adhesion', 200],
  ['/applications', 'applications', 200],
  ['/contact', 'contact', 200],
  ['/cgu', 'cgu', 200],
  ['/donnees-personnelles', 'donnees-personnelles', 200],
  ['/mentions-legales', 'mentions-legales', 200],
  ['/accessibilite', 'accessibilite', 200],
  ['/connexion', 'connexion', 200],
  ['/cette-page-n-existe-pas', 'erreur-404', 404],
];

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const [path, name, status] of PAGES) {
  test(`public page ${path} (${status})`, async () => {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), status, `HTTP status of ${path}`);
    await checkPageBasics(page);
    await checkA11y(page, `public-${name}`);

    // Keyboard: from a fresh load, the first Tab reaches the skip link, and activating it
    // moves the focus to <main>.
    await page.goto(server.url + path);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({
      text: document.activeElement.textContent.trim(),
      href: document.activeElement.getAttribute('href'),
    }));
    assert.deepEqual(focused, { text: 'Aller au contenu', href: '#contenu' }, 'first Tab stop');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.tagName === 'MAIN');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'contenu');
  });
}

test('a result opens its sheet, whose error report form is accessible too', async () => {
  await page.goto(server.url + '/annuaire?q=ssiad&autour=Colombes&age=58');
  const link = page.locator('a[href^="/annuaire/offre-"], a[href^="/annuaire/etablissement-"]').first();
  const href = await link.getAttribute('href');
  assert.ok(href, 'a result links to its sheet');
  const res = await page.goto(server.url + href);
  assert.equal(res.status(), 200, `HTTP status of ${href}`);
  await checkPageBasics(page);
  await checkA11y(page, 'annuaire-fiche');
  const report = page.locator('a[href$="/signaler"]').first();
  const reportHref = await report.getAttribute('href');
  assert.ok(reportHref, 'the sheet offers « Signaler une erreur »');
  const form = await page.goto(server.url + reportHref);
  assert.equal(form.status(), 200);
  await checkPageBasics(page);
  await checkA11y(page, 'annuaire-signaler');
  // Sent empty: the errors are listed, the page stays accessible.
  await page.evaluate(() => { window.e2eOldDocument = true; });
  await page.locator('main form button[type=submit]').first().click();
  await page.waitForFunction(() => !window.e2eOldDocument && document.readyState === 'complete');
  await checkPageBasics(page);
  await checkA11y(page, 'annuaire-signaler-erreurs');
});

test('« Places disponibles uniquement » keeps the results with places free, and says how many', async () => {
  await page.goto(server.url + '/annuaire');
  await page.locator('#q').fill('medecine');
  await page.getByLabel('Places disponibles uniquement').check();
  await page.evaluate(() => { window.e2eOldDocument = true; });
  await page.locator('main form button[type=submit]').first().click();
  await page.waitForFunction(() => !window.e2eOldDocument && document.readyState === 'complete');
  assert.match(page.url(), /places=1/);
  assert.ok(await page.getByLabel('Places disponibles uniquement').isChecked(), 'the box stays ticked');
  const results = await page.locator('.result').count();
  assert.ok(results > 0, 'some offers have places free');
  assert.equal(await page.locator('.result .result-available').count(), results);
  const first = await page.locator('.result-available').first().textContent();
  assert.match(first, /^\d+ (lit|place)s? disponibles? \(au \d\d\/\d\d\/\d{4}\)$/);
});

test('the sheet of a health centre lists its professionals', async () => {
  await page.goto(server.url + '/annuaire?q=medecine+generale');
  const href = await page.locator('a[href^="/annuaire/offre-"]').first().getAttribute('href');
  await page.goto(server.url + href);
  assert.ok(await page.locator('#professionnels').count() === 1, `professionals on ${href}`);
  assert.match(await page.locator('.practitioners li').first().textContent(), /^Dr /);
  await checkA11y(page, 'annuaire-fiche-professionnels');
});

test('search as you type: results update in place, the address follows, the count is announced', async () => {
  await page.goto(server.url + '/annuaire');
  await page.evaluate(() => { window.e2eOldDocument = true; });
  await page.locator('#q').pressSequentially('ehpad', { delay: 30 });
  const status = page.locator('#search-status');
  await page.waitForFunction(() => /résultat/.test(document.getElementById('search-status').textContent));
  const announced = (await status.textContent()).trim();
  assert.match(announced, /^(\d+ résultats|1 résultat|Aucun résultat)$/);
  assert.ok(await page.locator('#search-results .result').count() > 0, 'results shown');
  assert.equal(await page.evaluate(() => window.e2eOldDocument), true, 'no page load');
  assert.equal(new URL(page.url()).search, '?q=ehpad');
  const heading = (await page.locator('#resultats').textContent()).replace(/\s+/g, ' ').trim();
  assert.ok(heading.startsWith(announced), `${heading} / ${announced}`);
  await checkA11y(page, 'annuaire-instantane');

  // Narrowing the search: the list and the facets follow, still without a page load.
  const before = announced;
  await page.locator('#autour').fill('Gennevilliers');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('autour') === 'Gennevilliers');
  await page.waitForFunction(
    (old) => document.getElementById('search-status').textContent.trim() !== '' && document.getElementById('resultats')?.textContent.includes('Gennevilliers'),
    before,
  );
  assert.equal(await page.evaluate(() => window.e2eOldDocument), true, 'no page load');
  assert.ok(await page.locator('#search-results .facets').count() === 1, 'facets refreshed with the results');
  await checkA11y(page, 'annuaire-instantane-autour');
  // Ticking « Places disponibles uniquement » narrows at once; an unticked box is not sent.
  await page.getByLabel('Places disponibles uniquement').check();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('places') === '1');
  await page.getByLabel('Places disponibles uniquement').uncheck();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('places'));
  assert.equal(await page.evaluate(() => window.e2eOldDocument), true, 'no page load');
  // The export link carries the same search.
  const href = await page.locator('a[href^="/annuaire/export.csv"]').getAttribute('href');
  assert.match(href, /q=ehpad/);
  assert.match(href, /autour=Gennevilliers/);
});
