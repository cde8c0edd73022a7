// A professional's account, from the registration to the acceptance of a new major version of
// the terms: registration (with its errors), address check by the link of the e-mail,
// approval by an administrator (second browser context, second factor), terms, profile,
// personal pages, new terms, logout; and the administrator's second login through the
// second factor. The steps share the pages and run in order; once a step fails the
// following ones are skipped.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { checkA11y, checkPageBasics, launchBrowser, newPage } from '../lib/browser.js';
import { firstAdminLogin, journey, logIn, nextDocument, pathOf, startEnrolment, submit } from '../lib/flow.js';
import { linkIn } from '../lib/mail.js';
import { startServer } from '../lib/server.js';

const ADMIN_PASSWORD = "la phrase de passe de l'administratrice des tests";

/** The professional who registers. */
const PRO = {
  givenName: 'Claire',
  familyName: 'Martin',
  profession: 'Infirmier ou infirmière',
  structure: 'Cabinet infirmier des Bords de Seine',
  phone: '01 23 45 67 89',
  newPhone: '06 12 34 56 78',
  email: 'claire.martin@e2e.atomes.invalid',
  password: 'une longue phrase de passe pour la soignante',
};

let server;
let browser;
/** The professional's page (anonymous until the login). */
let pro;
/** The administrator's page, in a context of its own (own cookies). */
let admin;
/** The administrator's authenticator app. */
let adminApp;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pro = await newPage(browser);
  admin = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const step = journey();

/** The status message of the page containing `text`, waited for. */
const status = (page, text) => page.getByRole('status').filter({ hasText: text }).waitFor();

/** Fills the registration form with `values` (labels of the form). */
async function fillRegistration(values) {
  for (const [label, value] of Object.entries(values)) {
    const field = pro.getByLabel(label, { exact: true });
    if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption({ label: value });
    else await field.fill(value);
  }
}

/** The links of the errors summary: [{ text, target }], each target checked to exist. */
async function errorLinks(page) {
  const summary = page.getByRole('alert');
  await summary.waitFor();
  const links = await summary.getByRole('link').evaluateAll((as) => as.map((a) => ({
    text: a.textContent.trim(),
    target: a.getAttribute('href'),
    exists: a.hash.length > 1 && document.getElementById(a.hash.slice(1)) !== null,
  })));
  for (const l of links) assert.ok(l.exists, `the summary links to ${l.target}, which is not on the page`);
  // Out of their context, the links must still tell which field they lead to (WCAG 2.4.4).
  const texts = links.map((l) => l.text);
  assert.equal(new Set(texts).size, texts.length, `two links of the summary say the same: ${texts.join(' | ')}`);
  return links;
}

// --- Before any account: the registration's errors, the forgotten password ---------------

step('the registration page', async () => {
  const res = await pro.goto(`${server.url}/inscription`);
  assert.equal(res.status(), 200);
  assert.equal(await checkPageBasics(pro), 'Créer un compte professionnel');
  await checkA11y(pro, 'comptes-01-inscription');
});

step('an empty registration lists its errors, each linked to its field', async () => {
  await submit(pro, 'Créer mon compte');
  assert.equal(pathOf(pro), '/inscription');
  const links = await errorLinks(pro);
  const targets = links.map((l) => l.target);
  for (const field of ['#given_name', '#family_name', '#profession', '#structure', '#phone', '#email', '#password']) {
    assert.ok(targets.includes(field), `no error for ${field} in ${JSON.stringify(links)}`);
  }
  assert.match(await pro.getByRole('alert').locator('p').first().textContent(), /champs sont à corriger/);
  // Each field in error says so, and points to its message.
  assert.equal(await pro.locator('#given_name').getAttribute('aria-invalid'), 'true');
  assert.match(await pro.locator('#given_name').getAttribute('aria-describedby'), /given_name-error/);
  // A link of the summary leads to its field.
  await pro.getByRole('alert').getByRole('link').first().click();
  await pro.waitForURL(/#given_name$/);
  await checkA11y(pro, 'comptes-02-inscription-vide');
});

step('invalid values are refused, field by field, the entries kept', async () => {
  await fillRegistration({
    Prénom: PRO.givenName,
    Nom: PRO.familyName,
    Profession: PRO.profession,
    'Numéro RPPS (facultatif)': '1234',
    "Structure d'exercice": PRO.structure,
    Téléphone: '12',
    'Adresse e-mail professionnelle': 'pas-une-adresse',
    'Mot de passe': 'court',
    'Confirmation du mot de passe': 'autre chose',
  });
  await submit(pro, 'Créer mon compte');
  const targets = (await errorLinks(pro)).map((l) => l.target);
  for (const field of ['#rpps', '#phone', '#email', '#password']) {
    assert.ok(targets.includes(field), `no error for ${field} in ${targets}`);
  }
  for (const field of ['#given_name', '#family_name', '#profession', '#structure']) {
    assert.ok(!targets.includes(field), `unexpected error for ${field}`);
  }
  assert.equal(await pro.locator('#family_name').inputValue(), PRO.familyName, 'entries are kept');
  assert.equal(await pro.locator('#password').inputValue(), '', 'passwords are not sent back');
  await checkA11y(pro, 'comptes-03-inscription-invalide');
});

step('the forgotten password page', async () => {
  await pro.goto(`${server.url}/mot-de-passe-oublie`);
  assert.equal(await checkPageBasics(pro), 'Mot de passe oublié');
  await checkA11y(pro, 'comptes-04-mot-de-passe-oublie');
  await pro.getByLabel('Adresse e-mail').fill('personne@e2e.atomes.invalid');
  await submit(pro, 'Recevoir un lien');
  assert.equal(await checkPageBasics(pro), 'Vérifiez votre boîte de réception');
  await checkA11y(pro, 'comptes-05-mot-de-passe-oublie-envoye');
});

// --- Registration, address check, approval ---------------------------------------------

step('a valid registration asks to check the mailbox', async () => {
  await pro.goto(`${server.url}/inscription`);
  await fillRegistration({
    Prénom: PRO.givenName,
    Nom: PRO.familyName,
    Profession: PRO.profession,
    "Structure d'exercice": PRO.structure,
    Téléphone: PRO.phone,
    'Adresse e-mail professionnelle': PRO.email,
    'Mot de passe': PRO.password,
    'Confirmation du mot de passe': PRO.password,
  });
  await submit(pro, 'Créer mon compte');
  assert.equal(await checkPageBasics(pro), 'Vérifiez votre boîte de réception');
  await checkA11y(pro, 'comptes-06-inscription-envoyee');
});

step('the link of the e-mail confirms the address', async () => {
  const mail = await server.waitForMail({ to: PRO.email, subject: 'confirmez votre adresse' });
  const link = linkIn(mail, '/compte/verification');
  assert.match(link, /^\/compte\/verification\?jeton=[0-9a-f]{64}$/);
  await pro.goto(server.url + link);
  assert.equal(await checkPageBasics(pro), 'Confirmer votre adresse e-mail');
  await checkA11y(pro, 'comptes-07-verification');
  await submit(pro, 'Confirmer mon adresse');
  assert.equal(await checkPageBasics(pro), 'Adresse confirmée');
  await pro.getByText("L'équipe du DAC va maintenant valider votre inscription").waitFor();
  await checkA11y(pro, 'comptes-08-adresse-confirmee');
});

step('before the approval, the login says the account waits', async () => {
  await pro.goto(`${server.url}/connexion`);
  await logIn(pro, PRO.email, PRO.password);
  assert.equal(await checkPageBasics(pro), 'Inscription en cours de validation');
  await pro.getByRole('link', { name: 'Se connecter' }).waitFor();
  await checkA11y(pro, 'comptes-09-en-attente-de-validation');
});

step('the administrator logs in (second factor enrolled) and opens the account from the e-mail', async () => {
  adminApp = await firstAdminLogin(admin, server, ADMIN_PASSWORD);
  const mail = await server.waitForMail({ to: server.admin.email, subject: 'attend votre validation' });
  const link = linkIn(mail, mail.text.match(/\/admin\/comptes\/\d+/)[0]);
  await admin.goto(server.url + link);
  assert.equal(await checkPageBasics(admin), `${PRO.givenName} ${PRO.familyName}`);
  await checkA11y(admin, 'comptes-10-admin-compte-a-valider');
});

step('the administrator validates the registration', async () => {
  await submit(admin, "Valider l'inscription");
  assert.match(pathOf(admin), /^\/admin\/comptes\/\d+$/);
  await admin.getByRole('status').waitFor();
  assert.equal(await admin.getByRole('button', { name: "Valider l'inscription" }).count(), 0);
  await admin.getByRole('button', { name: 'Désactiver le compte' }).waitFor();
  await checkA11y(admin, 'comptes-11-admin-compte-valide');
});

step('the outbox of the back office shows the message sent to the professional', async () => {
  const mail = await server.waitForMail({ to: PRO.email, subject: 'votre compte est activé' });
  assert.equal(linkIn(mail, '/connexion'), '/connexion');
  await admin.goto(`${server.url}/admin/courriels`);
  const row = admin.getByRole('row').filter({ hasText: 'votre compte est activé' });
  await nextDocument(admin, () => row.getByRole('link').click());
  assert.match(pathOf(admin), /^\/admin\/courriels\/\d+$/);
  await admin.getByText('a été validé par l\'équipe du DAC', { exact: false }).waitFor();
  await checkA11y(admin, 'comptes-12-admin-courriel');
});

// --- The professional's first use ------------------------------------------------------

step('the first login asks to accept the terms', async () => {
  await pro.goto(`${server.url}/connexion`);
  await logIn(pro, PRO.email, PRO.password);
  assert.equal(pathOf(pro), '/conditions');
  assert.equal(await checkPageBasics(pro), "Acceptation des conditions d'utilisation");
  await pro.getByRole('button', { name: 'Je refuse' }).waitFor();
  // Nothing else is open before the acceptance.
  await pro.goto(`${server.url}/compte`);
  assert.equal(pathOf(pro), '/conditions');
  await checkA11y(pro, 'comptes-13-conditions-premiere-fois');
});

step('accepting the terms opens the portal where the person was going', async () => {
  await submit(pro, "J'accepte");
  assert.equal(pathOf(pro), '/compte');
  assert.equal(await checkPageBasics(pro), 'Mon compte');
  await checkA11y(pro, 'comptes-14-mon-compte');
  // Nothing more to accept: /conditions sends on.
  await pro.goto(`${server.url}/conditions`);
  assert.equal(pathOf(pro), '/');
});

step('the profile: a new phone number is saved and confirmed', async () => {
  await pro.goto(`${server.url}/compte`);
  assert.equal(await pro.getByLabel('Téléphone').inputValue(), PRO.phone);
  await pro.getByLabel('Téléphone').fill(PRO.newPhone);
  await submit(pro, 'Enregistrer mes informations');
  assert.equal(pathOf(pro), '/compte');
  await status(pro, 'Vos informations sont enregistrées.');
  assert.equal(await pro.getByLabel('Téléphone').inputValue(), PRO.newPhone);
  await checkA11y(pro, 'comptes-15-profil-enregistre');
});

step('an invalid phone number is refused on the profile', async () => {
  await pro.getByLabel('Téléphone').fill('12');
  await submit(pro, 'Enregistrer mes informations');
  const targets = (await errorLinks(pro)).map((l) => l.target);
  assert.deepEqual(targets, ['#phone']);
  await checkA11y(pro, 'comptes-16-profil-erreur');
});

step('the access history', async () => {
  await pro.goto(`${server.url}/compte`);
  await nextDocument(pro, () => pro.getByRole('link', { name: "Historique d'accès" }).click());
  assert.equal(pathOf(pro), '/compte/historique');
  await checkPageBasics(pro);
  await checkA11y(pro, 'comptes-17-historique');
});

step('the second factor page, then its enrolment with the QR code', async () => {
  await pro.goto(`${server.url}/compte/securite`);
  assert.equal(await checkPageBasics(pro), 'Double authentification');
  await checkA11y(pro, 'comptes-18-securite');
  await startEnrolment(pro);
  await pro.getByRole('img', { name: /Code QR/ }).waitFor();
  await pro.getByLabel('Code à 6 chiffres').waitFor();
  await checkA11y(pro, 'comptes-19-securite-qr-code');
});

step('the account closure page', async () => {
  await pro.goto(`${server.url}/compte/fermeture`);
  await checkPageBasics(pro);
  await checkA11y(pro, 'comptes-20-fermeture');
});

// --- A new major version of the terms ----------------------------------------------------

step('the administrator publishes a major version of the terms', async () => {
  await admin.goto(`${server.url}/admin/documents`);
  await nextDocument(admin, () => admin.getByRole('link', { name: /Préparer une nouvelle version : Conditions générales/ }).click());
  await admin.getByLabel(/^Majeure/).check();
  await admin.getByLabel('Résumé des modifications').fill('Nouvelle règle de partage des informations entre professionnels.');
  await admin.getByLabel('Texte (Markdown)').fill(
    `${await admin.getByLabel('Texte (Markdown)').inputValue()}\n\n## Partage des informations\n\nLes informations partagées restent couvertes par le secret professionnel.\n`,
  );
  await submit(admin, 'Enregistrer le brouillon');
  await status(admin, 'Brouillon enregistré');
  await nextDocument(admin, () => admin.getByRole('link', { name: /Publier la version 2/ }).click());
  assert.match(pathOf(admin), /\/publier$/);
  await checkA11y(admin, 'comptes-21-admin-publication-majeure');
  await submit(admin, 'Publier la version 2');
  assert.equal(pathOf(admin), '/admin/documents');
  await status(admin, 'est publiée');
});

step("the professional's next page is the new version to accept", async () => {
  await pro.goto(`${server.url}/compte`);
  assert.equal(pathOf(pro), '/conditions');
  assert.equal(new URL(pro.url()).searchParams.get('suite'), '/compte');
  assert.equal(await checkPageBasics(pro), "Acceptation des conditions d'utilisation");
  const changes = pro.getByRole('region', { name: 'Ce qui change' });
  await changes.getByText('Nouvelle règle de partage des informations entre professionnels.').waitFor();
  await changes.getByText('(modification majeure)').waitFor();
  await checkA11y(pro, 'comptes-22-conditions-nouvelle-version');
});

step('accepting the new version leads on to the page asked for', async () => {
  await submit(pro, "J'accepte");
  assert.equal(pathOf(pro), '/compte');
  assert.equal(await checkPageBasics(pro), 'Mon compte');
});

step('the professional goes on using the portal', async () => {
  const res = await pro.goto(`${server.url}/annuaire`);
  assert.equal(res.status(), 200);
  assert.equal(pathOf(pro), '/annuaire');
  await checkPageBasics(pro);
});

step('the professional logs out', async () => {
  await submit(pro, 'Se déconnecter');
  assert.equal(pathOf(pro), '/');
  await pro.getByRole('link', { name: 'Se connecter' }).waitFor();
  await pro.goto(`${server.url}/compte`);
  assert.equal(pathOf(pro), '/connexion');
});

// --- The administrator's second login --------------------------------------------------------

step("the administrator's next login asks for the second factor", async () => {
  await submit(admin, 'Se déconnecter');
  await admin.goto(`${server.url}/connexion`);
  await logIn(admin, server.admin.email, ADMIN_PASSWORD);
  assert.equal(pathOf(admin), '/connexion/second-facteur');
  assert.equal(await checkPageBasics(admin), 'Double authentification');
  await checkA11y(admin, 'comptes-23-admin-second-facteur');
});

step('a fresh code of the authenticator opens the back office', async () => {
  await admin.getByLabel('Code de vérification').fill(await adminApp.nextCode());
  await submit(admin, 'Valider');
  assert.equal(pathOf(admin), '/admin');
  assert.equal(await checkPageBasics(admin), 'Administration');
});
