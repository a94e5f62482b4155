// Test harness: the real backend serving the built app (dist/), driven in headless Chromium.
// Every page a test visits is saved as a PNG under target/e2e-screenshots/.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

function freePort() {
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

/** Starts accounts-server on a free port with a fresh embedded store. */
export async function startServer(extraArgs = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'accounts-e2e-'));
  const child = spawn(SERVER, [
    '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', DIST,
    '--password-min-length', String(MIN_LENGTH), '--ip-rate-limit', '1000', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: withoutMongo() });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`server exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
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
    // shows (signed out, name taken, wrong password), not faults. Anything else is recorded.
    const expected = /^Failed to load resource: the server responded with a status of (400|401|409)/;
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
      await page.screenshot({ path: join(SHOTS, `${safe}-${String(step).padStart(2, '0')}-${label}.png`), fullPage: true });
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
