// Every page of the app, signed out and signed in: where each URL leads, the tab's title, and
// the main navigation's links (with the current page marked). Pins the route table's rows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heading, openPage, withBrowserAndServer } from './harness.js';

const env = withBrowserAndServer();

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Opens `path`; waits for the page with heading `h1` at `landing`; returns the tab title. */
async function visit(page, base, path, h1, landing = path) {
  await page.goto(`${base}${path}`);
  await heading(page, h1);
  await page.waitForURL(`${base}${landing}`);
  return page.title();
}

async function navLinks(page) {
  const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
  const out = [];
  for (const link of await links.all()) {
    out.push([await link.textContent(), await link.getAttribute('href'), await link.getAttribute('aria-current')]);
  }
  return out;
}

describe('routes', () => {
  test('each URL leads to its page, title and navigation, signed out and signed in', async () => {
    const p = await openPage(env.browser, 'routes', { width: 1280 });
    const { base } = env.server;
    try {
      // Signed out.
      assert.equal(await visit(p.page, base, '/', 'Log in', '/login'), 'Log in · Accounts');
      assert.equal(await visit(p.page, base, '/login', 'Log in'), 'Log in · Accounts');
      assert.deepEqual(await navLinks(p.page), [
        ['Log in', '/login', 'page'],
        ['Register', '/register', null],
      ]);
      assert.equal(await visit(p.page, base, '/register', 'Create an account'), 'Register · Accounts');
      assert.equal(await visit(p.page, base, '/account', 'Log in', '/login'), 'Log in · Accounts');
      assert.equal(await visit(p.page, base, '/security', 'Log in', '/login'), 'Log in · Accounts');
      assert.equal(await visit(p.page, base, '/apps', 'Log in', '/login'), 'Log in · Accounts');
      assert.equal(await visit(p.page, base, '/password', 'Change password'), 'Change password · Accounts');
      assert.equal(await visit(p.page, base, '/reset', 'Reset password'), 'Reset password · Accounts');
      assert.equal(await visit(p.page, base, '/nowhere', 'Page not found'), 'Not found · Accounts');
      await p.shot('signed-out-not-found');

      // Signed in (the session cookie is set for this browser context).
      const name = unique('Rosa');
      const body = JSON.stringify({ user_name: name, password: 'routes pass phrase' });
      const statuses = await p.page.evaluate(async (body) => {
        const post = (path) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return [(await post('/api/user/add')).status, (await post('/api/login')).status];
      }, body);
      assert.deepEqual(statuses, [201, 200]);
      assert.equal(await visit(p.page, base, '/', 'Your account', '/account'), 'Account · Accounts');
      assert.deepEqual(await navLinks(p.page), [
        ['Account', '/account', 'page'],
        ['Change password', '/password', null],
        ['Security', '/security', null],
        ['Apps and devices', '/apps', null],
      ]);
      assert.equal(await visit(p.page, base, '/login', 'Your account', '/account'), 'Account · Accounts');
      assert.equal(await visit(p.page, base, '/register', 'Your account', '/account'), 'Account · Accounts');
      assert.equal(await visit(p.page, base, '/security', 'Security'), 'Security · Accounts');
      assert.equal((await navLinks(p.page))[2][2], 'page');
      assert.equal(await visit(p.page, base, '/apps', 'Apps and devices'), 'Apps and devices · Accounts');
      assert.equal((await navLinks(p.page))[3][2], 'page');
      assert.equal(await visit(p.page, base, '/password', 'Change password'), 'Change password · Accounts');
      assert.equal(await visit(p.page, base, '/reset', 'Reset password'), 'Reset password · Accounts');
      assert.equal(await visit(p.page, base, '/nowhere/', 'Page not found'), 'Not found · Accounts');

      // In-app navigation sets the title too.
      await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
      await heading(p.page, 'Security');
      assert.equal(await p.page.title(), 'Security · Accounts');
      await p.shot('signed-in-security');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
