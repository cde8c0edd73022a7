// The administrator's first visit: one-time password, forced change, second factor enrolment,
// back office, logout, and a second login through the second factor.
// The steps share one page and run in order; once a step fails the following ones are skipped.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { checkA11y, checkPageBasics, launchBrowser, newPage } from '../lib/browser.js';
import {
  changePassword as changePasswordOn, confirmEnrolment, journey, logIn as logInOn, nextDocument, pathOf,
  startEnrolment, submit as submitOn,
} from '../lib/flow.js';
import { startServer } from '../lib/server.js';
import { codeAt, stepAt } from '../lib/totp.js';

const NEW_PASSWORD = 'une phrase de passe pour les tests de bout en bout';

let server;
let browser;
let page;
/** The administrator's authenticator app, once enrolled. */
let app;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const step = journey();
const path = () => pathOf(page);
const submit = (name) => submitOn(page, name);
const logIn = (password) => logInOn(page, server.admin.email, password);
const changePassword = (current, next) => changePasswordOn(page, current, next);

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

step('a new passphrase leads to the mandatory second factor', async () => {
  await changePassword(server.admin.password, NEW_PASSWORD);
  assert.equal(path(), '/compte/securite');
  assert.equal(await checkPageBasics(page), 'Double authentification');
  await page.getByRole('status').filter({ hasText: 'vous devez activer la double authentification' }).waitFor();
  await checkA11y(page, 'admin-05-securite-obligatoire');
});

step('the back office waits for the second factor', async () => {
  await page.goto(`${server.url}/admin`);
  assert.equal(path(), '/compte/securite');
});

step('the enrolment shows a QR code and the secret', async () => {
  app = await startEnrolment(page);
  await page.locator('.qr svg').waitFor();
  await checkA11y(page, 'admin-06-securite-qr-code');
});

step('a wrong code is refused with a French alert', async () => {
  // A code of none of the steps the portal accepts now (the current one and one on each side).
  const now = stepAt();
  const valid = [now - 1, now, now + 1, now + 2].map((s) => codeAt(app.secret, s));
  const wrong = ['123456', '654321', '111111', '222222', '333333'].find((c) => !valid.includes(c));
  await page.getByLabel('Code à 6 chiffres').fill(wrong);
  await submit('Activer');
  assert.equal(path(), '/compte/securite/activer');
  await page.getByRole('alert').filter({ hasText: "Ce code n'est pas valable" }).waitFor();
  await checkA11y(page, 'admin-07-securite-code-refuse');
});

step('the right code shows the recovery codes once', async () => {
  await confirmEnrolment(page, app);
  await checkA11y(page, 'admin-08-codes-de-secours');
});

step('with the second factor, the back office opens', async () => {
  await nextDocument(page, () => page.getByRole('link', { name: "J'ai conservé mes codes" }).click());
  assert.equal(path(), '/admin');
  assert.equal(await checkPageBasics(page), 'Administration');
  await checkA11y(page, 'admin-09-tableau-de-bord');
});

step('the mail outbox', async () => {
  await page.getByRole('link', { name: 'Consulter les courriels' }).click();
  await page.waitForURL('**/admin/courriels');
  assert.equal(path(), '/admin/courriels');
  assert.equal(await checkPageBasics(page), 'Courriels envoyés');
  await checkA11y(page, 'admin-10-courriels');
});

step('a local entry of the directory: list, form with errors, creation, sheet with « Modifier »', async () => {
  await page.goto(`${server.url}/admin`);
  await page.getByRole('link', { name: 'Entrées locales' }).click();
  await page.waitForURL('**/admin/annuaire/entrees');
  assert.equal(await checkPageBasics(page), "Entrées locales de l'annuaire");
  await checkA11y(page, 'admin-annuaire-01-entrees');
  await page.getByRole('link', { name: 'Ajouter une entrée locale' }).click();
  await page.waitForURL('**/admin/annuaire/entrees/nouvelle');
  await checkA11y(page, 'admin-annuaire-02-formulaire');
  // Sent with a wrong telephone and no commune: 422, errors listed, the page stays accessible.
  await page.locator('#name').fill('Groupe de parole des aidants');
  await page.locator('#phone').fill('12 34');
  await submit('Enregistrer');
  await page.getByRole('alert').filter({ hasText: 'champs sont à corriger' }).waitFor();
  await checkA11y(page, 'admin-annuaire-03-erreurs');
  await page.locator('#activity_field').selectOption('03');
  await page.locator('#commune').fill('Colombes');
  await page.locator('#phone').fill('01 23 45 67 89');
  await submit('Enregistrer');
  assert.match(path(), /^\/admin\/annuaire\/entrees\/\d+$/);
  await page.getByRole('status').filter({ hasText: "L'entrée est enregistrée" }).waitFor();
  await checkA11y(page, 'admin-annuaire-04-enregistree');
  await page.getByRole('link', { name: 'Voir la fiche' }).click();
  await page.waitForURL('**/annuaire/offre-*');
  await page.getByRole('link', { name: 'Modifier' }).waitFor();
  await page.getByText('Source : saisie locale (DAC), mise à jour le').waitFor();
  await checkA11y(page, 'admin-annuaire-05-fiche');
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
  await checkA11y(page, 'admin-11-apres-deconnexion');
});

step('after logout /admin redirects to the login page', async () => {
  const res = await page.goto(`${server.url}/admin`);
  assert.equal(res.status(), 200);
  assert.equal(path(), '/connexion');
  await checkA11y(page, 'admin-12-admin-redirige');
});

step('the next login asks for a code of the authenticator app', async () => {
  await logIn(NEW_PASSWORD);
  assert.equal(path(), '/connexion/second-facteur');
  assert.equal(await checkPageBasics(page), 'Double authentification');
  // Nothing but the second factor yet.
  await page.goto(`${server.url}/admin`);
  assert.notEqual(path(), '/admin');
  await page.goto(`${server.url}/connexion/second-facteur`);
  await checkA11y(page, 'admin-13-second-facteur');
});

step('a fresh code opens the back office', async () => {
  await page.getByLabel('Code de vérification').fill(await app.nextCode());
  await submit('Valider');
  assert.equal(path(), '/admin');
  assert.equal(await checkPageBasics(page), 'Administration');
});

step('the directory imports: a refused file is explained, a good one imported', async () => {
  await page.goto(`${server.url}/admin`);
  await page.getByRole('link', { name: "Imports de l'annuaire" }).click();
  await page.waitForURL('**/admin/annuaire/imports');
  assert.equal(await checkPageBasics(page), "Imports de l'annuaire");
  await checkA11y(page, 'admin-imports-01-formulaire');
  await page.getByLabel('Format du fichier').selectOption('finess-csv');
  await page.getByLabel(/^Extrait complet/).check();
  await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('bonjour\n') });
  await submit('Importer');
  assert.equal(path(), '/admin/annuaire/imports');
  await page.getByRole('alert').filter({ hasText: "Ce fichier n'est pas un extrait FINESS etalab" }).waitFor();
  await checkA11y(page, 'admin-imports-02-fichier-refuse');
  const csv = readFileSync(new URL('../../tests/fixtures/finess/etalab-malformed.csv', import.meta.url));
  await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'etalab.csv', mimeType: 'text/csv', buffer: csv });
  await submit('Importer');
  assert.match(path(), /^\/admin\/annuaire\/imports\/\d+$/);
  await page.getByRole('status').filter({ hasText: "L'import est terminé" }).waitFor();
  assert.ok((await page.locator('tr.rejected').count()) > 0);
  await checkA11y(page, 'admin-imports-03-detail');
  await page.getByRole('link', { name: 'Retour aux imports' }).click();
  await page.waitForURL('**/admin/annuaire/imports');
  // Newest first (the test server may have imported its own sample before).
  assert.match(await page.locator('tbody tr').first().textContent(), /etalab\.csv/);
});
