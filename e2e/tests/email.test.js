// Email in the browser, against a real SMTP server (aiosmtpd): register with an address, open
// the link from the mail to confirm it; forget the password, read the mail, open its link,
// choose a new password, log in. At 360 px and 1280 px, light and dark. And a server without
// mail: the Forgot page says to ask the administrator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  currentStep, fillField, fitsWidth, heading, launchBrowser, linkIn, openPage, startServer,
  startSmtpServer, totp,
} from './harness.js';

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

describe('email', () => {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser();
    env.smtp = await startSmtpServer();
    env.server = await startServer(['--smtp-url', env.smtp.url]);
    env.plain = await startServer();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
    await env.plain?.stop();
    await env.smtp?.stop();
  });

  for (const [width, colorScheme] of [[360, 'light'], [360, 'dark'], [1280, 'light'], [1280, 'dark']]) {
    test(`confirm an address, then recover a forgotten password by mail (${width} px, ${colorScheme})`, async () => {
      const p = await openPage(env.browser, `email-${width}-${colorScheme}`, { width, colorScheme });
      const name = unique('Mary');
      const address = `${name.toLowerCase()}@example.org`;
      const first = 'a first pass phrase';
      const chosen = 'a newly chosen phrase';
      try {
        // Register with an address: the account page says it waits for confirmation.
        await p.page.goto(`${env.server.base}/register`);
        await heading(p.page, 'Create an account');
        await fillField(p.page, 'User name', name);
        await fillField(p.page, 'Password', first);
        await fillField(p.page, 'Email (optional)', 'not an address');
        await p.page.getByRole('button', { name: 'Create account' }).click();
        await p.page.locator('#email-message').getByText('Enter an email address').waitFor();
        await fillField(p.page, 'Email (optional)', address);
        assert.ok(await fitsWidth(p.page), `register fits ${width} px`);
        await p.shot('register-with-email');
        await p.page.getByRole('button', { name: 'Create account' }).click();
        await heading(p.page, 'Your account');
        await p.page.getByText('Check your inbox for a link to confirm').waitFor();
        await p.page.getByText(`${address} (not confirmed yet`).waitFor();
        await p.shot('account-unconfirmed');

        // The link from the mail confirms it.
        const verify = await env.smtp.waitFor(address, 'Confirm your email address');
        const link = linkIn(verify, 'verify');
        assert.ok(link.startsWith(env.server.base), link);
        await p.page.goto(link);
        await heading(p.page, 'Confirm your email address');
        await p.page.getByText(`Email address ${address} confirmed.`).waitFor();
        assert.ok(await fitsWidth(p.page), `verify page fits ${width} px`);
        await p.shot('verified');
        await p.page.getByRole('link', { name: 'Go to your account' }).click();
        await heading(p.page, 'Your account');
        await p.page.getByText(`${address} (confirmed)`).waitFor();

        // Change it (just logged in: no need to confirm it is you): the new one waits for its
        // link, the old one is told.
        const second = `${name.toLowerCase()}@example.net`;
        await p.page.getByRole('button', { name: 'Change email address' }).click();
        await fillField(p.page, 'New email address', second);
        await p.shot('change-address');
        await p.page.getByRole('button', { name: 'Save' }).click();
        await p.page.getByText('Check your inbox for a link to confirm your email address.').waitFor();
        await p.page.getByText(`${second} (not confirmed yet`).waitFor();
        await env.smtp.waitFor(address, 'Your email address was changed');
        const confirmSecond = await env.smtp.waitFor(second, 'Confirm your email address');
        await p.page.goto(linkIn(confirmSecond, 'verify'));
        await p.page.getByText(`Email address ${second} confirmed.`).waitFor();
        await p.page.goto(`${env.server.base}/account`);
        await p.page.getByText(`${second} (confirmed)`).waitFor();
        await p.shot('changed-address');
        // Opened again, the link is used up and says so.
        await p.page.goto(link);
        await p.page.getByRole('alert').getByText('This verification link is not valid').waitFor();
        await p.shot('verify-used');

        // Log out, forget the password: Log in leads to Forgot password.
        await p.page.goto(`${env.server.base}/account`);
        await p.page.getByRole('button', { name: 'Log out' }).click();
        await heading(p.page, 'Log in');
        await p.page.getByRole('link', { name: 'Forgot your password?' }).click();
        await heading(p.page, 'Forgot password');
        await fillField(p.page, 'User name or email', second.toUpperCase());
        assert.ok(await fitsWidth(p.page), `forgot page fits ${width} px`);
        await p.page.getByRole('button', { name: 'Send the link' }).click();
        await p.page.getByText('If that account has a confirmed email address').waitFor();
        await p.shot('forgot-sent');

        // The mail's link opens Reset password; the new password logs in.
        const reset = await env.smtp.waitFor(second, 'Reset your password');
        await p.page.goto(linkIn(reset, 'reset'));
        await heading(p.page, 'Reset password');
        await fillField(p.page, 'New password', chosen);
        await p.shot('reset-from-mail');
        await p.page.getByRole('button', { name: 'Set password' }).click();
        await heading(p.page, 'Log in');
        await p.page.getByText('Your password is set').waitFor();
        await fillField(p.page, 'Password', chosen);
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await heading(p.page, 'Your account');
        await env.smtp.waitFor(second, 'Your password was changed');
        await p.shot('signed-in-again');
        assert.deepEqual(p.problems, []);
      } finally {
        await p.close();
      }
    });
  }

  test('a mailed reset link asks for the code when two-factor login is on', async () => {
    const p = await openPage(env.browser, 'email-reset-with-code');
    const base = env.server.base;
    const name = unique('Tess');
    const address = `${name.toLowerCase()}@example.org`;
    const json = { 'content-type': 'application/json', origin: base };
    const post = async (path, body, cookie) => {
      const r = await fetch(`${base}${path}`, {
        method: 'POST', headers: cookie ? { ...json, cookie } : json, body: JSON.stringify(body),
      });
      return r;
    };
    try {
      // An account with a confirmed address and two-factor login on, set up over the API.
      assert.equal((await post('/api/user/add', { user_name: name, password: 'a first pass phrase', email: address })).status, 201);
      const verify = await env.smtp.waitFor(address, 'Confirm your email address');
      const token = linkIn(verify, 'verify').split('#token=')[1];
      assert.equal((await post('/api/email/verify', { token })).status, 200);
      const login = await post('/api/login', { user_name: name, password: 'a first pass phrase' });
      const cookie = login.headers.get('set-cookie').split(';')[0];
      const setup = await (await post('/api/mfa/totp/setup', {}, cookie)).json();
      const step = currentStep();
      assert.equal((await post('/api/mfa/totp/confirm', { code: totp(setup.secret, step) }, cookie)).status, 200);

      // Forgot → the mail's link → a new password: the page asks for the code, then sets it.
      await p.page.goto(`${base}/forgot`);
      await fillField(p.page, 'User name or email', name);
      await p.page.getByRole('button', { name: 'Send the link' }).click();
      await p.page.getByText('If that account has a confirmed email address').waitFor();
      const reset = await env.smtp.waitFor(address, 'Reset your password');
      await p.page.goto(linkIn(reset, 'reset'));
      await heading(p.page, 'Reset password');
      await fillField(p.page, 'New password', 'a newly chosen phrase');
      await p.page.getByRole('button', { name: 'Set password' }).click();
      await p.page.getByText('Two-factor login is on for this account').waitFor();
      await p.page.getByLabel('Authentication code').waitFor();
      assert.equal(await p.page.getByText('Code is required').count(), 0);
      await p.shot('reset-asks-code');
      await fillField(p.page, 'Authentication code', totp(setup.secret, step + 1));
      await p.page.getByRole('button', { name: 'Set password' }).click();
      await heading(p.page, 'Log in');
      await p.page.getByText('Your password is set').waitFor();
      await p.shot('reset-with-code-done');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('without mail, Forgot password says to ask the administrator', async () => {
    const p = await openPage(env.browser, 'email-off');
    try {
      await p.page.goto(`${env.plain.base}/login`);
      await p.page.getByRole('link', { name: 'Forgot your password?' }).click();
      await heading(p.page, 'Forgot password');
      await p.page.getByText('Ask its administrator for one').waitFor();
      // Nothing to fill in that could not work: no form, a way back.
      assert.equal(await p.page.getByRole('button', { name: 'Send the link' }).count(), 0);
      assert.equal(await p.page.getByRole('link', { name: 'Log in' }).count() > 0, true);
      await p.shot('forgot-without-mail');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
