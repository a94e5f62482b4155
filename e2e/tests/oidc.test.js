// Signing in to other apps: Accounts as an OpenID Connect provider, driven by `openid-client`
// (v6, an OpenID Certified relying-party library) as a real app would use it, with the login
// and the consent in headless Chromium through the real app. Discovery, an authorization URL
// with PKCE, the code exchange with ID-token validation, the signature checked against the
// JWKS (`jose`), userinfo, refresh with rotation, introspection, revocation and logout; and
// what must fail: a wrong redirect URI, a wrong PKCE verifier, a reused code, a reused refresh
// token, prompt=none without a session, a disabled account, a revoked consent.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import * as jose from 'jose';
import {
  currentStep, fillField, fitsWidth, heading, launchBrowser, openPage, startServer, totp,
} from './harness.js';

const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const PASSWORD = 'a long enough pass phrase';

/** The app's own web server: answers its callback and post-logout pages. */
async function startApp() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>The app</title><h1>The app: ${req.url.split('?')[0]}</h1>`);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, stop: () => new Promise((ok) => server.close(ok)) };
}

/** An OAuth error's code, from what openid-client threw. */
const oauthError = (e) => e?.error ?? e?.cause?.error ?? e?.code;

describe('sign in to other apps (OpenID Connect)', () => {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser();
    env.server = await startServer();
    env.app = await startApp();
    env.redirect = `${env.app.base}/cb`;
    const added = JSON.parse(env.server.admin('client', 'add', 'Wiki', '--redirect-uri', env.redirect,
      '--post-logout-uri', `${env.app.base}/bye`, '--json'));
    assert.match(added.client_id, /^[0-9a-f]{32}$/);
    assert.match(added.client_secret, /^[0-9a-f]{64}$/);
    env.config = await client.discovery(new URL(env.server.base), added.client_id, added.client_secret,
      undefined, { execute: [client.allowInsecureRequests] });
    env.server.admin('group', 'add', 'editors');
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
    await env.app?.stop();
  });

  /** A new account (with a confirmed address, in `editors`); its name. */
  async function newUser(prefix) {
    const name = unique(prefix);
    const r = await fetch(`${env.server.base}/api/user/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_name: name, password: PASSWORD }),
    });
    assert.equal(r.status, 201, await r.text());
    env.server.admin('set-email', name, `${name.toLowerCase()}@example.org`, '--verified');
    env.server.admin('group', 'add-member', 'editors', name);
    return name;
  }

  /** An authorization URL with PKCE, a nonce and a state, and what checks its answer. */
  async function authorization(config, scope = 'openid profile email groups offline_access', extra = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const checks = {
      pkceCodeVerifier: verifier,
      expectedNonce: client.randomNonce(),
      expectedState: client.randomState(),
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: env.redirect,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce: checks.expectedNonce,
      state: checks.expectedState,
      ...extra,
    });
    return { url, checks };
  }

  /** Follows `url` in the browser until the app's callback; the callback's URL. */
  async function untilCallback(page, url, act = async () => {}) {
    await page.goto(url.href);
    await act();
    await page.waitForURL((u) => u.href.startsWith(env.redirect), { timeout: 15000 });
    return new URL(page.url());
  }

  async function logIn(page, name) {
    await heading(page, 'Log in');
    await fillField(page, 'User name', name);
    await fillField(page, 'Password', PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  test('an app signs a user in, refreshes, revokes and logs out; the ID token verifies against the JWKS', async () => {
    const p = await openPage(env.browser, 'oidc-sign-in', { width: 360 });
    try {
      const name = await newUser('Ada');
      const { url, checks } = await authorization(env.config);
      const callback = await untilCallback(p.page, url, async () => {
        // Not signed in: log in first, then the consent page names the app and what it asks.
        await logIn(p.page, name);
        await heading(p.page, 'Sign in to Wiki');
        for (const line of ['know your user name', 'know your name', 'know your email address',
          'know your groups', 'stay signed in while you are away']) {
          await p.page.getByText(line, { exact: true }).waitFor();
        }
        assert.ok(await fitsWidth(p.page), 'the consent page fits 360 px');
        await p.shot('consent');
        await p.page.getByRole('button', { name: 'Allow' }).click();
      });
      assert.equal(callback.searchParams.get('iss'), env.server.base, 'RFC 9207 iss');

      // The code exchange validates the ID token (iss, aud, exp, nonce) and the state.
      const tokens = await client.authorizationCodeGrant(env.config, callback, checks);
      const claims = tokens.claims();
      assert.equal(claims.iss, env.server.base);
      assert.equal(claims.aud, env.config.clientMetadata().client_id);
      assert.equal(claims.nonce, checks.expectedNonce);
      assert.equal(claims.preferred_username, name);
      assert.equal(claims.email, `${name.toLowerCase()}@example.org`);
      assert.equal(claims.email_verified, true);
      assert.deepEqual(claims.groups, ['editors']);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.match(claims.sub, /^[0-9a-f]{32}$/, 'sub is an opaque id, not the name');
      assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 120, 'auth_time is the login');
      assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');

      // The signature, against the published keys.
      const jwks = jose.createRemoteJWKSet(new URL(env.config.serverMetadata().jwks_uri));
      const { protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
        issuer: env.server.base, audience: env.config.clientMetadata().client_id,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.ok(protectedHeader.kid);

      // Userinfo with the access token; introspection says it is active.
      const info = await client.fetchUserInfo(env.config, tokens.access_token, claims.sub);
      assert.equal(info.preferred_username, name);
      assert.deepEqual(info.groups, ['editors']);
      const active = await client.tokenIntrospection(env.config, tokens.access_token);
      assert.equal(active.active, true);
      assert.equal(active.sub, claims.sub);

      // Refresh rotates the refresh token; the old one used again revokes the whole grant.
      const refreshed = await client.refreshTokenGrant(env.config, tokens.refresh_token);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      assert.equal(refreshed.claims().sub, claims.sub);
      await client.fetchUserInfo(env.config, refreshed.access_token, claims.sub);
      await assert.rejects(client.refreshTokenGrant(env.config, tokens.refresh_token),
        (e) => oauthError(e) === 'invalid_grant');
      await assert.rejects(client.fetchUserInfo(env.config, refreshed.access_token, claims.sub),
        'a replayed refresh token revokes the tokens issued after it');
      await assert.rejects(client.refreshTokenGrant(env.config, refreshed.refresh_token),
        (e) => oauthError(e) === 'invalid_grant');

      // Signed in and allowed already: the next sign-in goes straight back, no page shown.
      const again = await authorization(env.config);
      const second = await client.authorizationCodeGrant(env.config,
        await untilCallback(p.page, again.url), again.checks);
      // Revocation: the refresh token revokes its grant, and its access token with it.
      await client.tokenRevocation(env.config, second.refresh_token);
      await assert.rejects(client.refreshTokenGrant(env.config, second.refresh_token),
        (e) => oauthError(e) === 'invalid_grant');
      assert.equal((await client.tokenIntrospection(env.config, second.access_token)).active, false);

      // Logout with the ID token as hint: back to the app, and the session is over.
      const bye = client.buildEndSessionUrl(env.config, {
        id_token_hint: second.id_token,
        post_logout_redirect_uri: `${env.app.base}/bye`,
        state: 'see-you',
      });
      await p.page.goto(bye.href);
      await p.page.waitForURL((u) => u.href.startsWith(`${env.app.base}/bye`), { timeout: 15000 });
      assert.equal(new URL(p.page.url()).searchParams.get('state'), 'see-you');
      // The session is over: our own pages ask to log in again.
      await p.page.goto(`${env.server.base}/account`);
      await heading(p.page, 'Log in');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('what must fail: wrong redirect URI, wrong PKCE verifier, a reused code, prompt=none signed out', async () => {
    const p = await openPage(env.browser, 'oidc-refusals', { width: 1280 });
    try {
      // An unregistered redirect URI is an error page here: nothing goes to that address.
      const bad = new URL((await authorization(env.config)).url);
      bad.searchParams.set('redirect_uri', 'https://evil.example/steal');
      await p.page.goto(bad.href);
      await p.page.getByText('is not a redirect URI registered for Wiki').waitFor();
      assert.ok(p.page.url().startsWith(env.server.base), p.page.url());
      await p.shot('unregistered-redirect');
      const unknown = new URL(bad);
      unknown.searchParams.set('client_id', 'no-such-app');
      await p.page.goto(unknown.href);
      await p.page.getByText('is not registered with this service').waitFor();
      assert.ok(p.page.url().startsWith(env.server.base), p.page.url());

      // prompt=none without a session: back to the app with login_required.
      const silent = await authorization(env.config, 'openid', { prompt: 'none' });
      const refused = await untilCallback(p.page, silent.url);
      await assert.rejects(client.authorizationCodeGrant(env.config, refused, silent.checks),
        (e) => oauthError(e) === 'login_required');

      const name = await newUser('Bob');
      const { url, checks } = await authorization(env.config);
      const callback = await untilCallback(p.page, url, async () => {
        await logIn(p.page, name);
        await p.page.getByRole('button', { name: 'Allow' }).click();
      });
      // A wrong PKCE verifier: refused (and the code is spent).
      await assert.rejects(client.authorizationCodeGrant(env.config, callback,
        { ...checks, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
      (e) => oauthError(e) === 'invalid_grant');

      // A reused code: refused, and the tokens issued for it are revoked.
      const fresh = await authorization(env.config);
      const code = await untilCallback(p.page, fresh.url);
      const tokens = await client.authorizationCodeGrant(env.config, code, fresh.checks);
      await assert.rejects(client.authorizationCodeGrant(env.config, code, fresh.checks),
        (e) => oauthError(e) === 'invalid_grant');
      await assert.rejects(client.fetchUserInfo(env.config, tokens.access_token, tokens.claims().sub));
      assert.deepEqual(p.problems.filter((m) => !m.includes('status of 400')), []);
    } finally {
      await p.close();
    }
  });

  test('a user revokes an app on Apps and devices; a disabled account gets no tokens', async () => {
    const p = await openPage(env.browser, 'oidc-apps-page', { width: 1280, colorScheme: 'dark' });
    try {
      const name = await newUser('Cy');
      const { url, checks } = await authorization(env.config);
      const tokens = await client.authorizationCodeGrant(env.config, await untilCallback(p.page, url, async () => {
        await logIn(p.page, name);
        await p.page.getByRole('button', { name: 'Allow' }).click();
      }), checks);

      // The page lists the app and this browser; revoking drops every token.
      await p.page.goto(`${env.server.base}/apps`);
      await heading(p.page, 'Apps and devices');
      await p.page.getByText('Wiki', { exact: true }).waitFor();
      await p.page.getByText('(this browser)').waitFor();
      await p.shot('apps-and-devices');
      await p.page.getByText('may know your user name, know your name').waitFor();
      await p.page.setViewportSize({ width: 360, height: 780 });
      assert.ok(await fitsWidth(p.page), 'Apps and devices fits 360 px');
      await p.shot('apps-and-devices-360');
      await p.page.setViewportSize({ width: 1280, height: 780 });
      await p.page.getByRole('button', { name: 'Revoke Wiki' }).click();
      await p.page.getByText('The app can no longer sign you in').waitFor();
      await p.page.getByText('No apps sign you in with this account yet.').waitFor();
      await p.shot('revoked');
      await assert.rejects(client.refreshTokenGrant(env.config, tokens.refresh_token),
        (e) => oauthError(e) === 'invalid_grant');
      // Revoked consent: the app asks again.
      const again = await authorization(env.config);
      await p.page.goto(again.url.href);
      await heading(p.page, 'Sign in to Wiki');
      const back = await untilCallback(p.page, again.url, async () => {
        await p.page.getByRole('button', { name: 'Allow' }).click();
      });
      const second = await client.authorizationCodeGrant(env.config, back, again.checks);

      // Disabled by an operator: the refresh token stops working, and so does userinfo.
      env.server.admin('disable', name);
      await assert.rejects(client.refreshTokenGrant(env.config, second.refresh_token),
        (e) => oauthError(e) === 'invalid_grant');
      await assert.rejects(client.fetchUserInfo(env.config, second.access_token, second.claims().sub));
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('with two-factor login on, the app sign-in asks for the code; the ID token says otp', async () => {
    const p = await openPage(env.browser, 'oidc-second-factor', { width: 360 });
    try {
      const name = await newUser('Eve');
      const base = env.server.base;
      const json = { 'content-type': 'application/json', origin: base };
      const post = (path, body, cookie) => fetch(`${base}${path}`, {
        method: 'POST', headers: cookie ? { ...json, cookie } : json, body: JSON.stringify(body),
      });
      const login = await post('/api/login', { user_name: name, password: PASSWORD });
      const cookie = login.headers.get('set-cookie').split(';')[0];
      const setup = await (await post('/api/mfa/totp/setup', {}, cookie)).json();
      const step = currentStep();
      assert.equal((await post('/api/mfa/totp/confirm', { code: totp(setup.secret, step) }, cookie)).status, 200);

      const { url, checks } = await authorization(env.config, 'openid');
      const callback = await untilCallback(p.page, url, async () => {
        await logIn(p.page, name);
        await p.page.getByLabel('Authentication code').waitFor();
        await p.shot('code-step');
        await fillField(p.page, 'Authentication code', totp(setup.secret, step + 1));
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await heading(p.page, 'Sign in to Wiki');
        await p.page.getByRole('button', { name: 'Allow' }).click();
      });
      const tokens = await client.authorizationCodeGrant(env.config, callback, checks);
      assert.deepEqual(tokens.claims().amr, ['pwd', 'otp']);
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('an app asking for a fresh login (prompt=login) gets the user to confirm it is them', async () => {
    const p = await openPage(env.browser, 'oidc-fresh-login', { width: 1280 });
    try {
      const name = await newUser('Fay');
      const first = await authorization(env.config, 'openid');
      const one = await client.authorizationCodeGrant(env.config, await untilCallback(p.page, first.url, async () => {
        await logIn(p.page, name);
        await p.page.getByRole('button', { name: 'Allow' }).click();
      }), first.checks);
      // A login older than 30 s does not count as fresh.
      await new Promise((r) => setTimeout(r, 31_000));
      const fresh = await authorization(env.config, 'openid', { prompt: 'login' });
      const callback = await untilCallback(p.page, fresh.url, async () => {
        const dialog = p.page.getByRole('dialog', { name: "Confirm it's you" });
        await dialog.waitFor();
        await p.shot('confirm-for-the-app');
        await fillField(dialog, 'Current password', PASSWORD);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
      });
      const two = await client.authorizationCodeGrant(env.config, callback, fresh.checks);
      assert.ok(two.claims().auth_time >= one.claims().auth_time + 30, 'auth_time is the new confirmation');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });

  test('ES256 and EdDSA apps get ID tokens signed that way; a public app must use PKCE', async () => {
    const p = await openPage(env.browser, 'oidc-algorithms', { width: 360 });
    try {
      const name = await newUser('Di');
      let first = true;
      for (const alg of ['ES256', 'EdDSA']) {
        const added = JSON.parse(env.server.admin('client', 'add', `Public ${alg}`, '--public', '--trusted',
          '--signing-alg', alg, '--redirect-uri', env.redirect, '--json'));
        assert.equal(added.client_secret, undefined, 'a public app has no secret');
        const config = await client.discovery(new URL(env.server.base), added.client_id, undefined,
          client.None(), { execute: [client.allowInsecureRequests] });
        const { url, checks } = await authorization(config, 'openid');
        const callback = await untilCallback(p.page, url, async () => {
          if (first) await logIn(p.page, name);
          first = false;
        });
        const tokens = await client.authorizationCodeGrant(config, callback, checks);
        const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
        const { protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
          issuer: env.server.base, audience: added.client_id,
        });
        assert.equal(protectedHeader.alg, alg);
        // Without PKCE, a public app's request goes back with invalid_request.
        const noPkce = client.buildAuthorizationUrl(config, { redirect_uri: env.redirect, scope: 'openid', state: 's' });
        const refused = await untilCallback(p.page, noPkce);
        assert.equal(refused.searchParams.get('error'), 'invalid_request');
      }
      assert.deepEqual(p.problems, []);
    } finally {
      await p.close();
    }
  });
});
