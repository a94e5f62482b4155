// End-to-end flows of the browser app in headless Chromium, against the real server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MIN_LENGTH, fillField, fitsWidth, heading, openPage, withBrowserAndServer,
} from './harness.js';

const env = withBrowserAndServer();

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function register(p, base, name, password) {
  await p.page.goto(`${base}/register`);
  await heading(p.page, 'Create an account');
  await fillField(p.page, 'User name', name);
  await fillField(p.page, 'Password', password);
  await p.shot('register-filled');
  await p.page.getByRole('button', { name: 'Create account' }).click();
}

async function logIn(p, name, password) {
  await fillField(p.page, 'User name', name);
  await fillField(p.page, 'Password', password);
  await p.page.getByRole('button', { name: 'Log in' }).click();
}

describe('browser app', () => {
  test('register, account, change password, log out (360 px phone)', async () => {
    const p = await openPage(env.browser, 'main-flow');
    const name = unique('Ada');
    const first = 'first pass phrase';
    const second = 'second pass phrase';
    try {
      // Signed out: the account page sends us to log in.
      await p.page.goto(`${env.server.base}/account`);
      await heading(p.page, 'Log in');
      assert.match(p.page.url(), /\/login$/);
      await p.shot('signed-out-redirect');

      // Inline validation appears after leaving a field, with the server's policy.
      await p.page.goto(`${env.server.base}/register`);
      await heading(p.page, 'Create an account');
      await fillField(p.page, 'Password', 'short');
      const pwMessage = p.page.locator('#password-message');
      await assert.doesNotReject(pwMessage.getByText(`at least ${MIN_LENGTH} characters`).waitFor());
      assert.equal(await p.page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');
      await p.shot('inline-validation');

      // Register: signed in straight away, the account page shows the user.
      await register(p, env.server.base, name, first);
      await heading(p.page, 'Your account');
      await p.page.locator('.user-name').getByText(name).waitFor();
      assert.match(await p.page.getByRole('status').textContent(), /Welcome/);
      assert.ok(await fitsWidth(p.page), 'account page fits 360 px');
      await p.shot('account');

      // Reload keeps the session and the URL; a signed-in user opening Log in goes to Account.
      await p.page.reload();
      await heading(p.page, 'Your account');
      await p.page.goto(`${env.server.base}/login`);
      await heading(p.page, 'Your account');
      assert.match(p.page.url(), /\/account$/);

      // Change password: the app sends us to log in again.
      await p.page.getByRole('link', { name: 'Change password' }).first().click();
      await heading(p.page, 'Change password');
      assert.equal(await p.page.getByLabel('User name').inputValue(), name);
      await fillField(p.page, 'Current password', first);
      await fillField(p.page, 'New password', second);
      await p.shot('change-password');
      await p.page.getByRole('button', { name: 'Change password' }).click();
      await heading(p.page, 'Log in');
      await p.page.getByText('Password changed').waitFor();
      assert.equal(await p.page.getByLabel('User name').inputValue(), name);
      await p.shot('after-change');

      // The old password is refused, the new one works.
      await fillField(p.page, 'Password', first);
      await p.page.getByRole('button', { name: 'Log in' }).click();
      await p.page.getByRole('alert').getByText('Wrong user name or password').waitFor();
      await p.shot('old-password-refused');
      await fillField(p.page, 'Password', second);
      await p.page.getByRole('button', { name: 'Log in' }).click();
      await heading(p.page, 'Your account');

      // Back/forward work with real URLs.
      await p.page.goBack();
      await p.page.waitForURL(/\/(login|account)$/);
      await p.page.goForward();
      await heading(p.page, 'Your account');

      // Log out: the account page redirects to log in again.
      await p.page.getByRole('button', { name: 'Log out' }).click();
      await heading(p.page, 'Log in');
      await p.page.getByText('You are logged out').waitFor();
      await p.shot('logged-out');
      await p.page.goto(`${env.server.base}/account`);
      await heading(p.page, 'Log in');
      assert.ok(await fitsWidth(p.page), 'login page fits 360 px');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('a taken user name shows the server message next to the field', async () => {
    const name = unique('Bob');
    const a = await openPage(env.browser, 'duplicate-first', { width: 1280 });
    await register(a, env.server.base, name, 'bobs pass phrase');
    await heading(a.page, 'Your account');
    await a.close();

    const p = await openPage(env.browser, 'duplicate-name', { width: 1280 });
    try {
      await register(p, env.server.base, name.toUpperCase(), 'another pass phrase');
      const message = p.page.locator('#user_name-message');
      await message.getByText('already taken').waitFor();
      assert.equal(await p.page.getByLabel('User name').getAttribute('aria-invalid'), 'true');
      assert.match(p.page.url(), /\/register$/);
      await p.shot('taken');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('a wrong password shows the generic message', async () => {
    const name = unique('Cy');
    const p = await openPage(env.browser, 'wrong-password', { width: 1280, colorScheme: 'dark' });
    try {
      await register(p, env.server.base, name, 'cys pass phrase');
      await heading(p.page, 'Your account');
      await p.page.getByRole('button', { name: 'Log out' }).click();
      await heading(p.page, 'Log in');
      await logIn(p, name, 'not the pass phrase');
      await p.page.getByRole('alert').getByText('Wrong user name or password.').waitFor();
      await p.shot('wrong-password');
      // An unknown user gets exactly the same message.
      await logIn(p, unique('nobody'), 'not the pass phrase');
      await p.page.getByRole('alert').getByText('Wrong user name or password.').waitFor();
      // The login form does not apply sign-up rules: a short password is sent, not blocked.
      await logIn(p, name, 'short');
      await p.page.getByRole('alert').getByText('Wrong user name or password.').waitFor();
      assert.equal(await p.page.locator('#password-message').textContent(), '');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('delete account, with confirmation', async () => {
    const name = unique('Dee');
    const password = 'dees pass phrase';
    const p = await openPage(env.browser, 'delete-account', { width: 1280 });
    try {
      await register(p, env.server.base, name, password);
      await heading(p.page, 'Your account');
      await p.page.getByRole('button', { name: 'Delete account…' }).click();
      await p.page.getByRole('heading', { name: 'Delete your account?' }).waitFor();
      await p.shot('confirm');
      // Cancel keeps everything.
      await p.page.getByRole('button', { name: 'Cancel' }).click();
      await p.page.getByRole('button', { name: 'Delete account…' }).click();
      await fillField(p.page, 'Password', 'wrong pass phrase');
      await p.page.getByRole('button', { name: 'Delete permanently' }).click();
      await p.page.getByRole('alert').getByText('Wrong user name or password').waitFor();
      await fillField(p.page, 'Password', password);
      await p.page.getByRole('button', { name: 'Delete permanently' }).click();
      await heading(p.page, 'Create an account');
      await p.page.getByText('Your account was deleted').waitFor();
      await p.shot('deleted');
      await p.page.goto(`${env.server.base}/login`);
      await heading(p.page, 'Log in');
      await logIn(p, name, password);
      await p.page.getByRole('alert').getByText('Wrong user name or password.').waitFor();
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});

describe('with password expiry', () => {
  test('an expired password moves the user to Change password with the name filled in', async () => {
    const name = unique('Eve');
    const p = await openPage(env.browser, 'expired-password', { colorScheme: 'dark' });
    try {
      await register(p, env.server.base, name, 'eves pass phrase');
      await heading(p.page, 'Your account');
      await p.page.getByRole('button', { name: 'Log out' }).click();
      await heading(p.page, 'Log in');
      // Expired by the operator rather than by waiting out --password-max-age: the login gets
      // the same reply (401 password_expired) either way, and the HTTP tests move the server's
      // clock past the maximum age.
      env.server.admin('expire-password', name);
      await logIn(p, name, 'eves pass phrase');
      await heading(p.page, 'Change password');
      await p.page.getByText('Your password has expired').waitFor();
      assert.equal(await p.page.getByLabel('User name').inputValue(), name);
      await p.shot('expired');
      await fillField(p.page, 'Current password', 'eves pass phrase');
      await fillField(p.page, 'New password', 'eves new phrase');
      await p.page.getByRole('button', { name: 'Change password' }).click();
      await heading(p.page, 'Log in');
      await logIn(p, name, 'eves new phrase');
      await heading(p.page, 'Your account');
      await p.shot('after-renewal');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
