// Account recovery in the browser: an operator issues a reset link with the admin command, the
// user opens it, sets a new password and logs in. At 360 px and desktop, light and dark.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MIN_LENGTH, fillField, fitsWidth, heading, openPage, withBrowserAndServer,
} from './harness.js';

const env = withBrowserAndServer();

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function registerByApi(base, name, password) {
  const r = await fetch(`${base}/api/user/add`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_name: name, password }),
  });
  assert.equal(r.status, 201);
}

describe('account recovery', () => {
  for (const [width, colorScheme] of [[360, 'light'], [360, 'dark'], [1280, 'light'], [1280, 'dark']]) {
    test(`an operator's reset link sets a new password (${width} px, ${colorScheme})`, async () => {
      const p = await openPage(env.browser, `reset-link-${width}-${colorScheme}`, { width, colorScheme });
      const name = unique('Grace');
      const forgotten = 'forgotten pass phrase';
      const chosen = 'freshly chosen phrase';
      try {
        await registerByApi(env.server.base, name, forgotten);

        // The login page says where to turn: this server sends no mail, so to its administrator.
        await p.page.goto(`${env.server.base}/login`);
        await heading(p.page, 'Log in');
        await p.page.getByRole('link', { name: 'Forgot your password?' }).click();
        await heading(p.page, 'Forgot password');
        await p.page.getByText('Ask its administrator for one').waitFor();
        await p.shot('login-forgot-line');

        // The operator's command prints the link; the user opens it.
        const link = env.server.admin('reset-link', name.toUpperCase()).trim();
        assert.match(link, new RegExp(`^${env.server.base}/reset#token=[0-9a-f]{64}$`));
        await p.page.goto(link);
        await heading(p.page, 'Reset password');
        await p.page.locator('#newpassword-hint').getByText(`At least ${MIN_LENGTH} characters`).waitFor();
        assert.ok(await fitsWidth(p.page), `reset page fits ${width} px`);
        await p.shot('reset-page');

        // The rules are checked before sending, then the new password is set.
        await fillField(p.page, 'New password', 'short');
        await p.page.locator('#newpassword-message').getByText(`at least ${MIN_LENGTH} characters`).waitFor();
        await p.shot('reset-rules');
        await fillField(p.page, 'New password', chosen);
        await p.page.getByRole('button', { name: 'Set password' }).click();

        // On to Log in, with a message and the name filled in; the link left the history.
        await heading(p.page, 'Log in');
        await p.page.getByText('Your password is set').waitFor();
        assert.equal(await p.page.getByLabel('User name').inputValue(), name);
        assert.doesNotMatch(p.page.url(), /token/);
        await p.shot('after-reset');
        await fillField(p.page, 'Password', chosen);
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await heading(p.page, 'Your account');
        await p.shot('signed-in');

        // The link works once.
        await p.page.goto(link);
        await heading(p.page, 'Reset password');
        await fillField(p.page, 'New password', 'another fresh phrase');
        await p.page.getByRole('button', { name: 'Set password' }).click();
        await p.page.getByRole('alert').getByText('This reset link is not valid').waitFor();
        await p.shot('used-link');
        assert.deepEqual(p.problems, []);
      } finally {
        await p.close();
      }
    });
  }

  test('a reset page without its token says which link it needs', async () => {
    const p = await openPage(env.browser, 'reset-without-token');
    try {
      await p.page.goto(`${env.server.base}/reset`);
      await heading(p.page, 'Reset password');
      await p.page.getByText('This page needs the whole link from your email or your administrator').waitFor();
      assert.equal(await p.page.getByRole('button', { name: 'Set password' }).count(), 0);
      await p.shot('no-token');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
