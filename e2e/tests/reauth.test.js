// "Confirm it's you" in the browser: once the last login is older than the re-authentication
// window, each sensitive change on the Security page opens a dialog (the password, with
// two-factor login on also a code, or a passkey), then goes through without being asked for
// again. Cancelling changes nothing. On a server with a 4-second window, so the test waits for
// it to pass (polling the session's `reauth_until`) instead of asking a clock to move. Both
// stores, at 360 px light and desktop dark.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  currentStep, fillField, fitsWidth, heading, launchBrowser, openPage, startServer, totp,
  virtualAuthenticator,
} from './harness.js';

const WINDOW_SECS = 4;
const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Waits until the page's session needs a re-authentication (its window has passed). */
async function windowPassed(page) {
  const until = await page.evaluate(async () => (await (await fetch('/api/session')).json()).reauth_until);
  assert.ok(until, 'the session says until when');
  const wait = Date.parse(until) - Date.now() + 250;
  assert.ok(wait <= (WINDOW_SECS + 1) * 1000, `window ends in ${wait} ms`);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

for (const [store, width, colorScheme] of [['embedded', 360, 'light'], ['mongodb', 1280, 'dark']]) {
  describe(`confirm it's you (${store} store)`, () => {
    const env = {};
    before(async () => {
      env.browser = await launchBrowser();
      env.server = await startServer(['--reauth-window', String(WINDOW_SECS)], { mongodb: store === 'mongodb' });
    });
    after(async () => {
      await env.browser?.close();
      await env.server?.stop();
    });

    test(`sensitive changes ask again after a while (${width} px, ${colorScheme})`, async () => {
      const p = await openPage(env.browser, `reauth-${store}-${width}-${colorScheme}`, { width, colorScheme });
      const name = unique('Barbara');
      const password = 'liskov substitution';
      try {
        const { cdp, authenticatorId } = await virtualAuthenticator(p.page);
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
        await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
        await heading(p.page, 'Security');
        await p.page.getByText('No passkeys yet.').waitFor();

        // Set up two-factor login a while after logging in: the dialog asks for the password.
        await windowPassed(p.page);
        await p.page.getByRole('button', { name: 'Set up two-factor login' }).click();
        const dialog = p.page.getByRole('dialog', { name: "Confirm it's you" });
        await dialog.waitFor();
        assert.equal(await p.page.evaluate(() => document.activeElement?.id), 'reauth_password');
        assert.equal(await dialog.getByLabel('Authentication code').count(), 0);
        assert.ok(await fitsWidth(p.page), `the dialog fits ${width} px`);
        await p.shot('asked');
        await fillField(dialog, 'Current password', 'not my password');
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await dialog.getByRole('alert').getByText('Wrong user name or password').waitFor();
        await p.shot('wrong-password');
        await fillField(dialog, 'Current password', password);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        // Confirmed: the set-up went on by itself.
        await p.page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
        await dialog.waitFor({ state: 'hidden' });
        const secret = (await p.page.locator('code.secret').textContent()).replace(/\s/g, '');
        const confirmStep = currentStep();
        await fillField(p.page, 'Authentication code', totp(secret, confirmStep));
        await p.page.getByRole('button', { name: 'Turn on' }).click();
        await p.page.getByText('Two-factor login is on.').waitFor();
        const codes = await p.page.locator('ul.codes code').allTextContents();
        await p.page.getByRole('button', { name: 'I have saved them' }).click();
        await p.page.getByText('10 recovery codes left.').waitFor();

        // Add a passkey: now the dialog asks for a code too. Cancelling changes nothing.
        await windowPassed(p.page);
        const add = p.page.getByRole('form', { name: 'Add a passkey' });
        await fillField(add, 'Name', 'Virtual key');
        await add.getByRole('button', { name: 'Add a passkey' }).click();
        await dialog.waitFor();
        await dialog.getByLabel('Authentication code').waitFor();
        // Opened again, it starts empty: nothing typed last time, no errors yet.
        assert.equal(await dialog.getByLabel('Current password').inputValue(), '');
        assert.equal(await dialog.getByText('is required').count(), 0);
        await p.shot('asked-with-code');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'hidden' });
        await add.getByRole('alert').getByText('Not confirmed: nothing was changed.').waitFor();
        await p.shot('cancelled');
        assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 0);
        await add.getByRole('button', { name: 'Add a passkey' }).click();
        await dialog.waitFor();
        await fillField(dialog, 'Current password', password);
        await fillField(dialog, 'Authentication code', totp(secret, confirmStep + 1));
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await p.page.getByText('Passkey "Virtual key" added.').waitFor();
        await p.page.locator('.passkey-name').getByText('Virtual key').waitFor();
        assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length, 1);

        // Remove it: the dialog offers the passkey itself, which confirms.
        await windowPassed(p.page);
        await p.page.getByRole('button', { name: 'Remove passkey Virtual key' }).click();
        await dialog.waitFor();
        await p.shot('asked-passkey-offered');
        await dialog.getByRole('button', { name: 'Use a passkey instead' }).click();
        await p.page.getByRole('status').getByText('Passkey removed.').waitFor();
        await p.page.getByText('No passkeys yet.').waitFor();
        await dialog.waitFor({ state: 'hidden' });

        // Turn two-factor login off: Escape cancels; then the password and a recovery code.
        await windowPassed(p.page);
        await p.page.getByRole('button', { name: 'Turn off' }).click();
        await dialog.waitFor();
        await p.page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'hidden' });
        await p.page.getByRole('alert').getByText('Not confirmed: nothing was changed.').first().waitFor();
        await p.page.getByRole('button', { name: 'Turn off' }).click();
        await dialog.waitFor();
        await fillField(dialog, 'Current password', password);
        await dialog.getByRole('button', { name: 'Use a recovery code instead' }).click();
        await fillField(dialog, 'Recovery code', codes[0]);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await p.page.getByText('Two-factor login is off.').waitFor();
        await p.page.getByText('Off. With it on').waitFor();
        await p.shot('turned-off');
        assert.deepEqual(p.problems, []);
      } finally {
        await p.close();
      }
    });
  });
}
