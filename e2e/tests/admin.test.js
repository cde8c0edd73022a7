// The administrator's first visit: one-time password, forced change, back office, logout.
// The steps share one page and run in order; once a step fails the following ones are skipped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkA11y, checkPageBasics, launchBrowser, newPage } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

const NEW_PASSWORD = 'une phrase de passe pour les tests de bout en bout';

let server;
let browser;
let page;
let broken = false;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A journey step: skipped after an earlier failure, so only the first failure is reported. */
function step(name, fn) {
  test(name, async (t) => {
    if (broken) return t.skip('an earlier step failed');
    try {
      await fn();
    } catch (e) {
      broken = true;
      throw e;
    }
  });
}

/** The path of the current page. */
const path = () => new URL(page.url()).pathname;

/** Clicks a submit button and waits until the next document has loaded (same URL or not). */
async function submit(name) {
  await page.evaluate(() => { window.e2eOldDocument = true; });
  await page.getByRole('button', { name }).click();
  await page.waitForFunction(() => !window.e2eOldDocument && document.readyState === 'complete');
}

/** Fills the login form and submits it. */
async function logIn(password) {
  await page.getByLabel('Adresse e-mail').fill(server.admin.email);
  await page.getByLabel('Mot de passe', { exact: true }).fill(password);
  await submit('Se connecter');
}

/** Fills the password change form and submits it. */
async function changePassword(current, next) {
  await page.getByLabel('Mot de passe actuel').fill(current);
  await page.getByLabel('Nouveau mot de passe', { exact: true }).fill(next);
  await page.getByLabel('Confirmation du nouveau mot de passe').fill(next);
  await submit('Enregistrer');
}

step('the login page', async () => {
  const res = await page.goto(`${server.url}/connexion`);
  assert.equal(res.status(), 200);
  assert.equal(await checkPageBasics(page), 'Connexion');
  await checkA11y(page, 'admin-01-connexion');
});

step('a wrong password is refused with a French alert', async () => {
  await logIn('pas le bon mot de passe');
  assert.equal(path(), '/connexion');
  await assert.doesNotReject(
    page.getByRole('alert').filter({ hasText: 'Adresse e-mail ou mot de passe incorrect' }).waitFor(),
  );
  await checkA11y(page, 'admin-02-connexion-erreur');
});

step('the one-time password leads to the forced password change', async () => {
  await logIn(server.admin.password);
  assert.equal(path(), '/compte/mot-de-passe');
  assert.equal(await checkPageBasics(page), 'Changer de mot de passe');
  await page.getByRole('status').filter({ hasText: 'choisissez-en un nouveau' }).waitFor();
  // The header shows the account and the logout button.
  await page.getByRole('button', { name: 'Se déconnecter' }).waitFor();
  await checkA11y(page, 'admin-03-mot-de-passe-impose');
});

step('the back office waits for the password change', async () => {
  await page.goto(`${server.url}/admin`);
  assert.equal(path(), '/compte/mot-de-passe');
});

step('a wrong current password shows the French error', async () => {
  await changePassword('ceci n est pas le mot de passe', NEW_PASSWORD);
  assert.equal(path(), '/compte/mot-de-passe');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Le mot de passe actuel est incorrect.');
  await checkA11y(page, 'admin-04-mot-de-passe-erreur');
});

step('a new passphrase opens the back office', async () => {
  await changePassword(server.admin.password, NEW_PASSWORD);
  assert.equal(path(), '/admin');
  assert.equal(await checkPageBasics(page), 'Administration');
  await checkA11y(page, 'admin-05-tableau-de-bord');
});

step('the mail outbox', async () => {
  await page.getByRole('link', { name: 'Consulter les courriels' }).click();
  await page.waitForURL('**/admin/courriels');
  assert.equal(path(), '/admin/courriels');
  assert.equal(await checkPageBasics(page), 'Courriels envoyés');
  await checkA11y(page, 'admin-06-courriels');
});

step('logout with the header button', async () => {
  await submit('Se déconnecter');
  assert.equal(path(), '/');
  await page.getByRole('link', { name: 'Se connecter' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Se déconnecter' }).count(), 0);
  await checkA11y(page, 'admin-07-apres-deconnexion');
});

step('after logout /admin redirects to the login page', async () => {
  const res = await page.goto(`${server.url}/admin`);
  assert.equal(res.status(), 200);
  assert.equal(path(), '/connexion');
  await checkA11y(page, 'admin-08-admin-redirige');
});

step('the new passphrase logs in straight to the back office', async () => {
  await logIn(NEW_PASSWORD);
  assert.equal(path(), '/admin');
  assert.equal(await checkPageBasics(page), 'Administration');
});
