// The development flow from the README, end to end: `trunk serve` (started first, as on a
// fresh clone before the server has made ./data) proxying to the server on its default port.
// The server runs as the README says, with the dev server as its public URL: the proxy names
// that host, and signed-in writes (change password, log out) come from the dev server's
// origin, which the cross-origin guard must take as the service's own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  fillField, heading, launchBrowser, openPage, requireFreePort, startServer, startTrunkServe,
} from './harness.js';

let browser;
let trunk;
let server;

before(async () => {
  await requireFreePort(8080);
  await requireFreePort(5000);
  trunk = await startTrunkServe();
  server = await startServer(['--public-url', 'http://localhost:8080'], { port: 5000 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await trunk?.stop();
});

describe('development flow (trunk serve)', () => {
  test('register, change password, log in, log out through the dev server', async () => {
    const p = await openPage(browser, 'dev-server', { width: 1280 });
    const name = `Dev${Date.now().toString(36)}`;
    try {
      await p.page.goto(`${trunk.base}/register`);
      await heading(p.page, 'Create an account');
      await fillField(p.page, 'User name', name);
      await fillField(p.page, 'Password', 'first pass phrase');
      await p.page.getByRole('button', { name: 'Create account' }).click();
      await heading(p.page, 'Your account');
      await p.page.locator('.user-name').getByText(name).waitFor();

      await p.page.getByRole('link', { name: 'Change password' }).first().click();
      await heading(p.page, 'Change password');
      await fillField(p.page, 'Current password', 'first pass phrase');
      await fillField(p.page, 'New password', 'second pass phrase');
      await p.page.getByRole('button', { name: 'Change password' }).click();
      await heading(p.page, 'Log in');
      await p.page.getByText('Password changed').waitFor();

      await fillField(p.page, 'Password', 'second pass phrase');
      await p.page.getByRole('button', { name: 'Log in' }).click();
      await heading(p.page, 'Your account');
      await p.page.getByRole('button', { name: 'Log out' }).click();
      await heading(p.page, 'Log in');
      await p.page.getByText('You are logged out').waitFor();
      await p.shot('logged-out');

      // Signed out for real: the server no longer knows the session.
      const who = await p.page.evaluate(async () => (await fetch('/api/session')).status);
      assert.equal(who, 401);
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
