// Helpers of the journeys: ordered steps, navigation that waits for the next document, and
// the administrator's first login (one-time password, forced change, second factor).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator } from './totp.js';

/**
 * Ordered steps sharing state: once one fails the following ones are skipped, so only the
 * first failure is reported. Returns `step(name, fn)`.
 */
export function journey() {
  let broken = false;
  return function step(name, fn) {
    test(name, async (t) => {
      if (broken) return t.skip('an earlier step failed');
      try {
        await fn();
      } catch (e) {
        broken = true;
        throw e;
      }
    });
  };
}

/** The path of the page's URL. */
export const pathOf = (page) => new URL(page.url()).pathname;

/** Runs `action` (a click…) and waits until the next document has loaded, same URL or not. */
export async function nextDocument(page, action) {
  await page.evaluate(() => { window.e2eOldDocument = true; });
  await action();
  await page.waitForFunction(() => !window.e2eOldDocument && document.readyState === 'complete');
}

/** Clicks the button `name` (a form's submit) and waits for the next document. */
export function submit(page, name) {
  return nextDocument(page, () => page.getByRole('button', { name, exact: true }).click());
}

/** Fills the login form and submits it. */
export async function logIn(page, email, password) {
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe', { exact: true }).fill(password);
  await submit(page, 'Se connecter');
}

/** Fills the password change form and submits it. */
export async function changePassword(page, current, next) {
  await page.getByLabel('Mot de passe actuel').fill(current);
  await page.getByLabel('Nouveau mot de passe', { exact: true }).fill(next);
  await page.getByLabel('Confirmation du nouveau mot de passe').fill(next);
  await submit(page, 'Enregistrer');
}

/**
 * On /compte/securite without a second factor: starts the enrolment, reads the secret shown
 * under the QR code, and returns an authenticator for it (the page then shows the code form).
 */
export async function startEnrolment(page) {
  assert.equal(pathOf(page), '/compte/securite');
  await submit(page, 'Activer la double authentification');
  assert.equal(pathOf(page), '/compte/securite');
  const secret = (await page.locator('code.secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, 'the secret, grouped by 4');
  return new Authenticator(secret);
}

/** Submits a fresh code of `app` in the enrolment form: the recovery codes page follows. */
export async function confirmEnrolment(page, app) {
  await page.getByLabel('Code à 6 chiffres').fill(await app.nextCode());
  await submit(page, 'Activer');
  assert.equal(await page.locator('h1').textContent(), 'Vos codes de secours');
  const codes = await page.locator('.recovery-codes code').allTextContents();
  assert.equal(codes.length, 10, 'ten recovery codes');
}

/**
 * The administrator's whole first login, without checks of its own (the admin test checks
 * each page): one-time password, forced change to `newPassword`, second factor enrolment;
 * ends on /admin. Returns the authenticator.
 */
export async function firstAdminLogin(page, server, newPassword) {
  await page.goto(`${server.url}/connexion`);
  await logIn(page, server.admin.email, server.admin.password);
  assert.equal(pathOf(page), '/compte/mot-de-passe');
  await changePassword(page, server.admin.password, newPassword);
  const app = await startEnrolment(page);
  await confirmEnrolment(page, app);
  await nextDocument(page, () => page.getByRole('link', { name: "J'ai conservé mes codes" }).click());
  assert.equal(pathOf(page), '/admin');
  return app;
}
