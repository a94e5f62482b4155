// The browser app under load: a `503 overloaded` reply is retried once after its Retry-After;
// if the server is still busy, the app says so in plain words instead of failing silently.
// The replies are shaped by Playwright's request interception in front of the real server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fillField, heading, openPage, withBrowserAndServer } from './harness.js';

const env = withBrowserAndServer();

const overloaded = {
  status: 503,
  headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
  body: JSON.stringify({
    type: '/problems/overloaded', title: 'Server busy', status: 503, code: 'overloaded',
    detail: 'The server is busy checking other passwords. Please retry in a moment.',
  }),
};

async function registerThenLogOut(p, name, password) {
  await p.page.goto(`${env.server.base}/register`);
  await heading(p.page, 'Create an account');
  await fillField(p.page, 'User name', name);
  await fillField(p.page, 'Password', password);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await heading(p.page, 'Your account');
  await p.page.getByRole('button', { name: 'Log out' }).click();
  await heading(p.page, 'Log in');
}

describe('under load', () => {
  test('one overloaded reply is retried after Retry-After and the login goes through', async () => {
    const p = await openPage(env.browser, 'overload-retry', { width: 1280 });
    const name = `Ola${Date.now().toString(36)}`;
    try {
      await registerThenLogOut(p, name, 'olas long pass phrase');
      const seen = [];
      await p.page.route('**/api/login', async (route) => {
        seen.push(Date.now());
        if (seen.length === 1) await route.fulfill(overloaded);
        else await route.continue();
      });
      await fillField(p.page, 'User name', name);
      await fillField(p.page, 'Password', 'olas long pass phrase');
      await p.page.getByRole('button', { name: 'Log in' }).click();
      await heading(p.page, 'Your account');
      assert.equal(seen.length, 2, 'one retry');
      assert.ok(seen[1] - seen[0] >= 900, `retried after ${seen[1] - seen[0]} ms`);
      // The 503 is the app's expected answer here, not a fault.
      assert.deepEqual(p.problems.filter((m) => !/status of 503/.test(m)), []);
    } finally {
      await p.close();
    }
  });

  test('a server that stays busy gets a plain message, and the form is usable again', async () => {
    const p = await openPage(env.browser, 'overload-busy');
    const name = `Obi${Date.now().toString(36)}`;
    try {
      await registerThenLogOut(p, name, 'obis long pass phrase');
      let calls = 0;
      await p.page.route('**/api/login', async (route) => {
        calls += 1;
        await route.fulfill(overloaded);
      });
      await fillField(p.page, 'User name', name);
      await fillField(p.page, 'Password', 'obis long pass phrase');
      await p.page.getByRole('button', { name: 'Log in' }).click();
      await p.page.getByRole('alert').getByText('The service is busy right now').waitFor();
      assert.equal(calls, 2, 'tried twice, then gave up');
      assert.equal(await p.page.getByRole('button', { name: 'Log in' }).isEnabled(), true);
      await p.shot('busy');
      assert.deepEqual(p.problems.filter((m) => !/status of 503/.test(m)), []);
    } finally {
      await p.close();
    }
  });
});
