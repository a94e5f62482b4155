// Test harness: the real backend serving the built app (dist/), driven in headless Chromium.
// Every page a test visits is saved as a PNG under target/e2e-screenshots/.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const SERVER = process.env.ACCOUNTS_SERVER_BIN ?? join(ROOT, 'target', 'debug', 'accounts-server');
const DIST = process.env.ACCOUNTS_DIST ?? join(ROOT, 'dist');
const SHOTS = join(ROOT, 'target', 'e2e-screenshots');
export const MIN_LENGTH = 12;

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
    s.on('error', fail);
  });
}

/** This environment minus MONGODB_URI: the app tests use the embedded store. */
function withoutMongo() {
  const env = { ...process.env };
  delete env.MONGODB_URI;
  return env;
}

/** Runs `command` with its output collected, for error messages (and shown with TEST_LOG). */
export function startProcess(command, args, options) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let log = '';
  const collect = (d) => { log += d; if (process.env.TEST_LOG) process.stderr.write(d); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        if (options.detached) process.kill(-child.pid, 'SIGTERM');
        else child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

/**
 * Polls `url` until it answers 200, for at most `seconds`; fails with the process's output if
 * it exits first or the time runs out (never gives up silently).
 */
async function waitUntilServed(url, proc, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not up yet */ }
    if (proc.child.exitCode !== null) throw new Error(`${what} exited:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within ${seconds} s:\n${proc.log()}`);
}

/**
 * Starts accounts-server on `port` (default: a free one) with a fresh embedded store, or with
 * `mongodb` a fresh database on the test MongoDB server (`ACCOUNTS_TEST_MONGODB_URI`, which
 * scripts/test.sh sets). The browser reaches it as http://localhost:PORT, its default public
 * URL: passkeys need a domain name, not an IP address.
 */
export async function startServer(extraArgs = [], { port, mongodb = false } = {}) {
  port ??= await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'accounts-e2e-'));
  const env = withoutMongo();
  if (mongodb) {
    const uri = process.env.ACCOUNTS_TEST_MONGODB_URI;
    if (!uri) throw new Error('ACCOUNTS_TEST_MONGODB_URI is not set: run scripts/test.sh, which starts a MongoDB server');
    env.MONGODB_URI = uri;
    env.MONGODB_DB = `accounts_e2e_${process.pid}_${port}`;
  }
  const proc = startProcess(SERVER, [
    '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', DIST,
    '--password-min-length', String(MIN_LENGTH), '--ip-rate-limit', '1000', ...extraArgs,
  ], { env });
  await waitUntilServed(`http://127.0.0.1:${port}/health/ready`, proc, 20, 'accounts-server');
  const base = `http://localhost:${port}`;
  return {
    base,
    log: proc.log,
    /** `accounts-server admin ARGS…` against this server's socket, as an operator runs it; its stdout. */
    admin(...args) {
      return execFileSync(SERVER, ['admin', '--socket', join(dataDir, 'admin.sock'), ...args], {
        env: withoutMongo(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A real SMTP server (Python's aiosmtpd with backend/tests/support/smtp_server.py, which keeps
 * each message it accepts as JSON), as the Rust mail tests use; `ACCOUNTS_TEST_AIOSMTPD_PYTHON`
 * (set by scripts/test.sh) names the Python that has aiosmtpd.
 */
export async function startSmtpServer() {
  const python = process.env.ACCOUNTS_TEST_AIOSMTPD_PYTHON;
  if (!python) throw new Error('ACCOUNTS_TEST_AIOSMTPD_PYTHON is not set: run scripts/test.sh, which installs aiosmtpd');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'accounts-e2e-mail-'));
  const proc = startProcess(python, [
    join(ROOT, 'backend', 'tests', 'support', 'smtp_server.py'), '--port', String(port), '--dir', dir,
  ], {});
  const deadline = Date.now() + 20000;
  while (!proc.log().includes('ready')) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`smtp_server.py did not start:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const messages = () => readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    /** The first message to `to` with this subject, once it has arrived (at most 20 s). */
    async waitFor(to, subject) {
      const until = Date.now() + 20000;
      for (;;) {
        const found = messages().find((m) => m.rcpt_tos.includes(to) && m.headers.subject === subject);
        if (found) return found;
        if (Date.now() > until) throw new Error(`no "${subject}" to ${to} within 20 s: ${JSON.stringify(messages())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The link to `page` (`verify`, `reset`) in a message's plain-text part. */
export function linkIn(message, page) {
  const found = message.text.match(new RegExp(`https?://\\S+/${page}#token=[0-9a-f]{64}`));
  if (!found) throw new Error(`no ${page} link in ${message.text}`);
  return found[0];
}

/** Fails clearly if something already listens on `port` (a leftover server, say). */
export async function requireFreePort(port) {
  await new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', () => fail(new Error(`port ${port} is in use; the development flow needs it`)));
    s.listen(port, '127.0.0.1', () => s.close(ok));
  });
}

/**
 * The README's development app server, `scripts/dev-app.sh` (Trunk.toml: the app on
 * 127.0.0.1:8080, the API proxied to 127.0.0.1:5000 naming the host localhost:8080, so the
 * server must run with `--public-url http://localhost:8080`), writing into its own folder so
 * dist/ keeps the release build. Resolves once the app's page is served.
 */
export async function startTrunkServe() {
  const distDir = mkdtempSync(join(tmpdir(), 'accounts-trunk-serve-'));
  const proc = startProcess(join(ROOT, 'scripts', 'dev-app.sh'), ['--dist', distDir], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: 'true' },
    // Its own process group, so stopping it stops trunk and the builds it started.
    detached: true,
  });
  // A cold development build of the app can take minutes on two cores.
  await waitUntilServed('http://127.0.0.1:8080/', proc, 600, 'trunk serve');
  return {
    base: 'http://127.0.0.1:8080',
    async stop() {
      await proc.stop();
      rmSync(distDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers `before`/`after` hooks of the calling test file that start Chromium and a server
 * (with `serverArgs`) and stop them; their handles are on the returned object once running.
 */
export function withBrowserAndServer(serverArgs = [], options = {}) {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser();
    env.server = await startServer(serverArgs, options);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
  });
}

/**
 * A page that records console errors, page errors and CSP violations, and saves a screenshot of
 * every step. `width` defaults to a 360 px phone.
 */
export async function openPage(browser, testName, { width = 360, height = 780, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // Chromium logs every 4xx fetch as an error; these statuses are answers the app expects and
    // shows (signed out, name taken, wrong password, confirm it is you), not faults. Anything else
    // is recorded.
    const expected = /^Failed to load resource: the server responded with a status of (400|401|403|409)/;
    if (m.type() === 'error' && !expected.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  mkdirSync(SHOTS, { recursive: true });
  let step = 0;
  const safe = testName.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  return {
    page,
    problems,
    async shot(label) {
      step += 1;
      // A modal dialog is fixed to the viewport: a full-page capture would misplace its backdrop.
      const fullPage = (await page.locator('dialog[open]').count()) === 0;
      await page.screenshot({ path: join(SHOTS, `${safe}-${String(step).padStart(2, '0')}-${label}.png`), fullPage });
    },
    async close() { await context.close(); },
  };
}

/** Waits until the app has rendered a page with this heading. */
export async function heading(page, text) {
  await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 15000 });
}

export async function fillField(page, label, value) {
  const input = page.getByLabel(label, { exact: true });
  await input.fill(value);
  await input.blur();
}

/** Asserts the page does not scroll sideways (it fits the viewport). */
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** RFC 4648 base32 to bytes. */
function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

/** The TOTP code (SHA-1, 6 digits, 30 s) of `secret` at time step `step`. */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32(secret)).update(counter).digest();
  const o = h[19] & 0x0f;
  const n = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** A platform authenticator that holds discoverable credentials and verifies the user. */
export async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
