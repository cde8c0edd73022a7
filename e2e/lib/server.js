// Starts the real `atomes` binary for a test file: a fresh SQLite data directory, an
// administrator with a one-time password, `serve` on a free loopback port; stops it after.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readOutbox } from './mail.js';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The binary under test: $ATOMES_BIN, else ${CARGO_TARGET_DIR:-../target}/debug/atomes (relative to e2e/). */
export const ATOMES_BIN = process.env.ATOMES_BIN
  ? resolve(process.env.ATOMES_BIN) // absolute: the binary runs with the data dir as cwd
  : resolve(E2E_DIR, process.env.CARGO_TARGET_DIR ?? '../target', 'debug', 'atomes');

/** The administrator every test file gets. */
export const ADMIN = {
  email: 'admin@e2e.atomes.invalid',
  givenName: 'Camille',
  familyName: 'Testeuse',
};

// The binary rejects unknown ATOMES_* variables (ATOMES_BIN would be one) and would honour
// ATOMES_DATABASE_URL & co: give it a clean environment with only the log filter.
function childEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATOMES_')));
  return { ...env, ATOMES_LOG: 'warn' };
}

// Asks the kernel for a free port (a tiny race with other processes is acceptable here).
function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts a portal. Returns { url, dataDir, admin: { email, password }, stop(), log(),
 * deliverMail(), waitForMail(filter) }.
 * `admin.password` is the one-time password: the first login must change it.
 */
export async function startServer() {
  const dataDir = await mkdtemp(join(tmpdir(), 'atomes-e2e-'));
  const common = ['--data-dir', dataDir];
  // cwd = the data dir, so that no ./atomes.toml of the developer is picked up.
  const opts = { cwd: dataDir, env: childEnv() };

  // 1. The administrator, with a generated one-time password printed on stdout.
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(
      ATOMES_BIN,
      [...common, 'admin', 'create-admin', '--email', ADMIN.email,
        '--given-name', ADMIN.givenName, '--family-name', ADMIN.familyName],
      opts,
    ));
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    if (e.code === 'ENOENT') {
      throw new Error(`atomes binary not found at ${ATOMES_BIN}: build it (cargo build) or set ATOMES_BIN`);
    }
    throw new Error(`atomes admin create-admin failed: ${e.message}\n${e.stderr ?? ''}`);
  }
  const match = stdout.match(/One-time password \(shown once, to change at first login\): (\S+)/);
  if (!match) throw new Error(`no one-time password in the output of create-admin:\n${stdout}`);

  // 2. The synthetic demo directory of the territory, so that searches have results.
  const demo = fileURLToPath(new URL('../../data/demo/ror-92nord.ndjson', import.meta.url));
  try {
    await promisify(execFile)(ATOMES_BIN, [...common, 'directory', 'import', '--format', 'fhir', demo], opts);
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`atomes directory import failed: ${e.message}\n${e.stderr ?? ''}`);
  }

  // 3. The server on a free port; its output is kept to explain a failure.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(ATOMES_BIN, [...common, '--listen', `127.0.0.1:${port}`, 'serve'], {
    ...opts,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  let running = true;
  exited.then(() => { running = false; });

  async function stop() {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  // 3. Ready when GET /readyz answers 200 "ready" (the database answers), within 30 s.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`atomes serve exited before being ready:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200 && (await res.text()).trim() === 'ready') break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`atomes serve not ready after 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // The outbox job of the server runs every 30 s; `atomes jobs run-once mail-outbox` (another
  // process on the same database) delivers the pending messages now, as .eml files.
  async function deliverMail() {
    const { stdout: out } = await promisify(execFile)(ATOMES_BIN, [...common, 'jobs', 'run-once', 'mail-outbox'], opts);
    return !/another node is running it/.test(out);
  }

  /**
   * The newest message of the outbox matching `{ to, subject }` (subject: a RegExp or a
   * substring). Delivers the pending messages first; retries while the server's own run of
   * the job holds the lease. Fails after 10 s.
   */
  async function waitForMail({ to, subject }) {
    const matches = (m) => (!to || m.to.includes(to))
      && (!subject || (subject instanceof RegExp ? subject.test(m.subject) : m.subject.includes(subject)));
    const deadline = Date.now() + 10_000;
    for (;;) {
      await deliverMail();
      const found = (await readOutbox(join(dataDir, 'outbox'))).filter(matches);
      if (found.length > 0) return found[found.length - 1];
      if (Date.now() > deadline) {
        const all = (await readOutbox(join(dataDir, 'outbox'))).map((m) => `  ${m.to}: ${m.subject}`);
        throw new Error(`no message to ${to} about ${subject} in the outbox; it holds:\n${all.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    url, dataDir, admin: { email: ADMIN.email, password: match[1] }, stop, log: () => log, deliverMail, waitForMail,
  };
}
