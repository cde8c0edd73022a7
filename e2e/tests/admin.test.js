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

step('the legal documents of the back office', async () => {
  await page.goto(`${server.url}/admin`);
  await page.getByRole('link', { name: 'Gérer les documents légaux' }).click();
  await page.waitForURL('**/admin/documents');
  assert.equal(await checkPageBasics(page), 'Documents légaux');
  await checkA11y(page, 'admin-documents-01-liste');
});

step('a minor version of the terms: draft, preview, confirmation, publication', async () => {
  await page.getByRole('link', { name: /Préparer une nouvelle version : Conditions générales/ }).click();
  await page.waitForURL('**/admin/documents/nouveau?document=terms');
  assert.equal(await checkPageBasics(page), "Nouvelle version : Conditions générales d'utilisation");
  await checkA11y(page, 'admin-documents-02-nouvelle-version');
  await page.getByLabel('Résumé des modifications').fill('Coquilles corrigées.');
  await page.getByLabel(/^Mineure/).check();
  await submit('Enregistrer le brouillon');
  assert.match(path(), /^\/admin\/documents\/\d+$/);
  await page.getByRole('status').filter({ hasText: 'Brouillon enregistré' }).waitFor();
  await checkA11y(page, 'admin-documents-03-brouillon');
  await page.getByRole('link', { name: /Publier la version 2/ }).click();
  await page.waitForURL('**/publier');
  await checkA11y(page, 'admin-documents-04-confirmation');
  await submit('Publier la version 2');
  assert.equal(path(), '/admin/documents');
  await page.getByRole('status').filter({ hasText: 'est publiée' }).waitFor();
  await checkA11y(page, 'admin-documents-05-publiee');
});

step('the public page shows the version in force and the previous one', async () => {
  await page.goto(`${server.url}/cgu`);
  await page.getByText('Version 2, en vigueur depuis le').waitFor();
  await page.getByRole('link', { name: 'Version 1', exact: true }).click();
  await page.waitForURL('**/cgu/versions/1');
  await checkPageBasics(page);
  await checkA11y(page, 'admin-documents-06-cgu-version-1');
});

step('the conditions of third-party services are accepted before the first use', async () => {
  await page.goto(`${server.url}/admin/documents`);
  await page.getByLabel('Clé de la fonction').fill('applications');
  await submit('Préparer les conditions');
  await page.getByLabel('Titre').fill('Conditions des services tiers');
  await page.getByLabel('Texte (Markdown)').fill('## Services tiers\n\nIls sont fournis sous la responsabilité de leurs éditeurs.');
  await submit('Enregistrer le brouillon');
  await page.getByRole('link', { name: /Publier la version 1/ }).click();
  await page.waitForURL('**/publier');
  await submit('Publier la version 1');
  await page.goto(`${server.url}/applications`);
  assert.equal(path(), '/conditions/fonction/applications');
  assert.equal(await checkPageBasics(page), 'Conditions des services tiers');
  await checkA11y(page, 'admin-documents-07-conditions-fonction');
  await submit("J'accepte");
  assert.equal(path(), '/applications');
  assert.equal(await checkPageBasics(page), 'Applications');
  await checkA11y(page, 'admin-documents-08-applications');
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
