// Passkeys in the browser with Chromium's virtual authenticator (DevTools protocol
// `WebAuthn.addVirtualAuthenticator`, via a Playwright CDP session): add a passkey on the
// Security page, log in with it without typing a user name, remove it. On both stores, at
// 360 px and desktop, light and dark.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fillField, fitsWidth, heading, launchBrowser, openPage, startServer, virtualAuthenticator } from './harness.js';

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

for (const store of ['embedded', 'mongodb']) {
  describe(`passkeys (${store} store)`, () => {
    const env = {};
    before(async () => {
      env.browser = await launchBrowser();
      env.server = await startServer([], { mongodb: store === 'mongodb' });
    });
    after(async () => {
      await env.browser?.close();
      await env.server?.stop();
    });

    const looks = store === 'embedded'
      ? [[360, 'light'], [1280, 'dark']]
      : [[360, 'dark'], [1280, 'light']];
    for (const [width, colorScheme] of looks) {
      test(`add a passkey, log in with it alone, remove it (${width} px, ${colorScheme})`, async () => {
        const p = await openPage(env.browser, `passkey-${store}-${width}-${colorScheme}`, { width, colorScheme });
        const name = unique('Grace');
        const password = 'compiler of languages';
        try {
          const { cdp, authenticatorId } = await virtualAuthenticator(p.page);
          const r = await fetch(`${env.server.base}/api/user/add`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_name: name, password }),
          });
          assert.equal(r.status, 201);
          await p.page.goto(`${env.server.base}/login`);
          await heading(p.page, 'Log in');
          await fillField(p.page, 'User name', name);
          await fillField(p.page, 'Password', password);
          await p.page.getByRole('button', { name: 'Log in', exact: true }).click();
          await heading(p.page, 'Your account');

          // Add one on the Security page: just logged in, so no password again; then the
          // authenticator.
          await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
          await heading(p.page, 'Security');
          await p.page.getByText('No passkeys yet.').waitFor();
          const add = p.page.getByRole('form', { name: 'Add a passkey' });
          await fillField(add, 'Name', 'Virtual key');
          await p.shot('add-passkey');
          await add.getByRole('button', { name: 'Add a passkey' }).click();
          await p.page.getByText('Passkey "Virtual key" added.').waitFor();
          await p.page.locator('.passkey-name').getByText('Virtual key').waitFor();
          assert.ok(await fitsWidth(p.page), `security page fits ${width} px`);
          await p.shot('passkey-added');
          const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
          assert.equal(credentials.length, 1);
          assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

          // Log out; log in with the passkey alone: no user name, no password.
          await p.page.goto(`${env.server.base}/account`);
          await p.page.getByRole('button', { name: 'Log out' }).click();
          await heading(p.page, 'Log in');
          await p.shot('login-with-passkey');
          await p.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
          await heading(p.page, 'Your account');
          await p.page.locator('.user-name').getByText(name).waitFor();
          await p.shot('signed-in-with-passkey');
          const session = await p.page.evaluate(async () => (await fetch('/api/session')).json());
          assert.equal(session.passkeys, 1);

          // Remove it: the next passkey login is refused.
          await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
          await p.page.locator('.passkey-name').getByText('Virtual key').waitFor();
          await p.page.getByRole('button', { name: 'Remove passkey Virtual key' }).click();
          await p.page.getByText('No passkeys yet.').waitFor();
          await p.shot('passkey-removed');
          await p.page.goto(`${env.server.base}/account`);
          await p.page.getByRole('button', { name: 'Log out' }).click();
          await heading(p.page, 'Log in');
          await p.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
          await p.page.getByRole('alert').getByText('The passkey was not accepted').waitFor();
          await p.shot('removed-passkey-refused');
          assert.deepEqual(p.problems, []);
        } finally {
          await p.close();
        }
      });
    }
  });
}

// The passkey list is a form of its own: while it loads or removes, its Remove buttons are
// disabled; what fails shows in its error banner, not in the status line.
describe('passkey list (embedded store)', () => {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser();
    env.server = await startServer();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });

  const unavailable = {
    status: 503,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({
      type: '/problems/store_unavailable', title: 'Service temporarily unavailable', status: 503,
      code: 'store_unavailable', detail: 'The passkey store is taking a break.',
    }),
  };

  test('loading and removing are busy while in flight, and their failures are errors', async () => {
    const p = await openPage(env.browser, 'passkey-list-states', { width: 1280 });
    const name = unique('Ida');
    const password = 'analytical engine notes';
    try {
      await virtualAuthenticator(p.page);
      const r = await fetch(`${env.server.base}/api/user/add`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_name: name, password }),
      });
      assert.equal(r.status, 201);
      await p.page.goto(`${env.server.base}/login`);
      await fillField(p.page, 'User name', name);
      await fillField(p.page, 'Password', password);
      await p.page.getByRole('button', { name: 'Log in', exact: true }).click();
      await heading(p.page, 'Your account');

      // The list cannot load: the banner says why.
      await p.page.route('**/api/passkeys', (route) => route.fulfill(unavailable));
      await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
      await p.page.getByRole('alert').getByText('The passkey store is taking a break.').waitFor();
      assert.equal(await p.page.getByText('No passkeys yet.').count(), 0);
      await p.shot('list-failed');
      await p.page.unroute('**/api/passkeys');

      // Adding one loads the list again, and the error goes.
      const add = p.page.getByRole('form', { name: 'Add a passkey' });
      await fillField(add, 'Name', 'Virtual key');
      await add.getByRole('button', { name: 'Add a passkey' }).click();
      await p.page.locator('.passkey-name').getByText('Virtual key').waitFor();
      await p.page.getByText('The passkey store is taking a break.').waitFor({ state: 'hidden' });

      // A removal in flight disables Remove; its failure is an error, and the key stays.
      const remove = p.page.getByRole('button', { name: 'Remove passkey Virtual key' });
      let release;
      const held = new Promise((ok) => { release = ok; });
      await p.page.route('**/api/passkeys/*', async (route) => {
        await held;
        await route.fulfill(unavailable);
      });
      await remove.click();
      await p.page.waitForFunction(() => document.querySelector('.passkeys button')?.disabled === true);
      assert.equal(await p.page.locator('.passkeys').getAttribute('aria-busy'), 'true');
      await p.shot('removing');
      release();
      await p.page.getByRole('alert').getByText('The passkey store is taking a break.').waitFor();
      assert.equal(await remove.isEnabled(), true);
      assert.equal(await p.page.getByText('Passkey removed.').count(), 0);
      await p.page.locator('.passkey-name').getByText('Virtual key').waitFor();
      await p.shot('remove-failed');
      await p.page.unroute('**/api/passkeys/*');

      // Again, with the server: removed, and said so.
      await remove.click();
      await p.page.getByText('No passkeys yet.').waitFor();
      await p.page.getByRole('status').getByText('Passkey removed.').waitFor();
      await p.page.getByText('The passkey store is taking a break.').waitFor({ state: 'hidden' });
      await p.shot('removed');
      // The 503s are the answers this test shaped, not faults.
      assert.deepEqual(p.problems.filter((m) => !/status of 503/.test(m)), []);
    } finally {
      await p.close();
    }
  });
});
