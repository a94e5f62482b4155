// Two-factor login in the browser: set up an authenticator app from the Security page (the
// test computes the codes from the secret the page shows, RFC 6238), save the recovery codes,
// log in with a recovery code and with an app code, turn it off. At 360 px and desktop, light
// and dark.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentStep, fillField, fitsWidth, heading, openPage, totp, withBrowserAndServer } from './harness.js';

const env = withBrowserAndServer();

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function logIn(p, name, password) {
  await p.page.goto(`${env.server.base}/login`);
  await heading(p.page, 'Log in');
  await fillField(p.page, 'User name', name);
  await fillField(p.page, 'Password', password);
  await p.page.getByRole('button', { name: 'Log in' }).click();
}

async function logOut(p) {
  await p.page.goto(`${env.server.base}/account`);
  await heading(p.page, 'Your account');
  await p.page.getByRole('button', { name: 'Log out' }).click();
  await heading(p.page, 'Log in');
}

describe('two-factor login', () => {
  for (const [width, colorScheme] of [[360, 'light'], [360, 'dark'], [1280, 'light'], [1280, 'dark']]) {
    test(`set up an authenticator app, log in with codes, turn it off (${width} px, ${colorScheme})`, async () => {
      const p = await openPage(env.browser, `totp-${width}-${colorScheme}`, { width, colorScheme });
      const name = unique('Hedy');
      const password = 'frequency hopping phrase';
      try {
        const r = await fetch(`${env.server.base}/api/user/add`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_name: name, password }),
        });
        assert.equal(r.status, 201);
        await logIn(p, name, password);
        await heading(p.page, 'Your account');

        // Security: off, then set up (just logged in: no password again).
        await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
        await heading(p.page, 'Security');
        await p.page.getByText('Off. With it on').waitFor();
        await p.shot('security-off');
        const setUp = p.page.getByRole('form', { name: 'Set up two-factor login' });
        await setUp.getByRole('button', { name: 'Set up two-factor login' }).click();

        // The QR code is drawn in the page; the key is shown to type instead.
        const qr = p.page.getByRole('img', { name: 'QR code for your authenticator app' });
        await qr.waitFor();
        const box = await qr.boundingBox();
        assert.ok(box.width >= 150, `QR code ${box.width} px wide`);
        const secret = (await p.page.locator('code.secret').textContent()).replace(/\s/g, '');
        assert.match(secret, /^[A-Z2-7]{32}$/);
        assert.ok(await fitsWidth(p.page), `set-up fits ${width} px`);
        await p.shot('scan');
        const codeInput = p.page.getByLabel('Authentication code');
        assert.equal(await codeInput.getAttribute('inputmode'), 'numeric');
        assert.equal(await codeInput.getAttribute('autocomplete'), 'one-time-code');
        await fillField(p.page, 'Authentication code', '000000');
        await p.page.getByRole('button', { name: 'Turn on' }).click();
        await p.page.getByRole('alert').getByText('That code is not right').waitFor();
        const confirmStep = currentStep();
        await fillField(p.page, 'Authentication code', totp(secret, confirmStep));
        await p.page.getByRole('button', { name: 'Turn on' }).click();

        // The recovery codes, once: copy and download offered.
        await p.page.getByText('Two-factor login is on.').waitFor();
        const codes = await p.page.locator('ul.codes code').allTextContents();
        assert.equal(codes.length, 10);
        const download = p.page.getByRole('link', { name: 'Download' });
        assert.equal(await download.getAttribute('download'), 'accounts-recovery-codes.txt');
        assert.ok((await download.getAttribute('href')).includes(encodeURIComponent(codes[0])));
        await p.shot('recovery-codes');
        await p.page.getByRole('button', { name: 'I have saved them' }).click();
        await p.page.getByText('10 recovery codes left.').waitFor();
        await p.shot('security-on');

        // With it on, Change password and Delete ask for a code too.
        await p.page.getByRole('navigation').getByRole('link', { name: 'Change password' }).click();
        await heading(p.page, 'Change password');
        await p.page.getByLabel('Authentication code').waitFor();
        await p.shot('change-password-asks-code');
        await p.page.getByRole('navigation').getByRole('link', { name: 'Account' }).click();
        await heading(p.page, 'Your account');
        await p.page.getByRole('button', { name: 'Delete account…' }).click();
        await p.page.getByRole('form', { name: 'Delete your account?' }).getByLabel('Authentication code').waitFor();
        await p.shot('delete-asks-code');

        // Log in: the password alone asks for a code; a recovery code works.
        await logOut(p);
        await logIn(p, name, password);
        await p.page.getByLabel('Authentication code').waitFor();
        await p.page.getByText('Two-factor login is on for this account').waitFor();
        // A field that just appeared is not wrong yet.
        assert.equal(await p.page.locator('#code-message').textContent(), '');
        await p.shot('code-asked');
        await p.page.getByRole('button', { name: 'Use a recovery code instead' }).click();
        await fillField(p.page, 'Recovery code', codes[0]);
        await p.shot('recovery-code');
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await heading(p.page, 'Your account');

        // And a code from the app (the next step's: one step of drift is allowed, and the
        // confirming step is used up).
        await logOut(p);
        await logIn(p, name, password);
        await fillField(p.page, 'Authentication code', totp(secret, confirmStep + 1));
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await heading(p.page, 'Your account');
        await p.shot('signed-in-with-code');

        // Turn it off: logged in with both factors just now, so one button does it (asking
        // again once that is a while ago is `reauth.test.js`'s).
        await p.page.getByRole('navigation').getByRole('link', { name: 'Security' }).click();
        await p.page.getByText('9 recovery codes left.').waitFor();
        const turnOff = p.page.getByRole('form', { name: 'Turn off two-factor login' });
        await turnOff.getByRole('button', { name: 'Turn off' }).click();
        await p.page.getByText('Two-factor login is off.').waitFor();
        await p.page.getByText('Off. With it on').waitFor();
        await p.shot('turned-off');
        assert.deepEqual(p.problems, []);
      } finally {
        await p.close();
      }
    });
  }
});
