// Forward-auth behind real reverse proxies: Debian's nginx (auth_request) and Caddy
// (forward_auth), each in front of a small upstream that echoes the headers it receives, with
// Accounts as the authority, driven in headless Chromium with real cookies. The proxies' configs
// are e2e/proxies/nginx.conf and e2e/proxies/Caddyfile, the ones the README gives.
//
// Host names: Chromium maps *.example.test to 127.0.0.1, so the app (app.example.test) and
// Accounts (auth.example.test, --cookie-domain example.test) are different hosts of one site.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ROOT, fillField, freePort, heading, launchBrowser, openPage, startProcess, startServer,
} from './harness.js';

const PASSWORD = 'a long enough pass phrase';
const unique = (prefix) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

const RULES = `
default_policy = "deny"

[[rule]]
host = "open.example.test"
policy = "bypass"

[[rule]]
host = "*.example.test"
path = "/public"
policy = "bypass"

[[rule]]
host = "*.example.test"
path = "/admin"
policy = "signed_in"
groups = ["admins"]

[[rule]]
host = "*.example.test"
policy = "signed_in"
`;

/** The upstream app: answers every request with the headers it received, as JSON. */
async function startUpstream() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { addr: `127.0.0.1:${server.address().port}`, stop: () => new Promise((ok) => server.close(ok)) };
}

/** `template` (a file in e2e/proxies) with its {{placeholders}} filled in. */
function filled(template, values) {
  return readFileSync(join(ROOT, 'e2e', 'proxies', template), 'utf8')
    .replace(/\{\{(\w+)\}\}/g, (_, key) => {
      if (!(key in values)) throw new Error(`no value for {{${key}}} in ${template}`);
      return values[key];
    });
}

/** Waits until something accepts connections on `port`. */
async function untilListening(port, proc, what) {
  const deadline = Date.now() + 20000;
  for (;;) {
    // A TCP connection, not a request: nginx answers requests for unknown hosts with nothing.
    const up = await new Promise((ok) => {
      const socket = connect({ host: '127.0.0.1', port }, () => { socket.destroy(); ok(true); });
      socket.on('error', () => ok(false));
    });
    if (up) return;
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startNginx(values) {
  const prefix = mkdtempSync(join(tmpdir(), 'accounts-nginx-'));
  const port = await freePort();
  writeFileSync(join(prefix, 'nginx.conf'), filled('nginx.conf', { ...values, PREFIX: prefix, PORT: port }));
  const proc = startProcess('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], {});
  await untilListening(port, proc, 'nginx');
  return { port, log: proc.log, async stop() { await proc.stop(); rmSync(prefix, { recursive: true, force: true }); } };
}

async function startCaddy(values) {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-caddy-'));
  const port = await freePort();
  writeFileSync(join(dir, 'Caddyfile'), filled('Caddyfile', { ...values, PORT: port }));
  const proc = startProcess('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  await untilListening(port, proc, 'caddy');
  return { port, log: proc.log, async stop() { await proc.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

/** A request from Node to `port` as `host` (Node's fetch cannot name a host): status, Location and body. */
function viaProxy(port, host, path, headers = {}, method = 'GET', body = undefined) {
  return new Promise((ok, fail) => {
    const r = request({ host: '127.0.0.1', port, path, method, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => ok({ status: res.statusCode, location: res.headers.location, body }));
    });
    r.on('error', fail);
    r.end(body);
  });
}

describe('forward-auth behind real proxies', () => {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser(['--host-resolver-rules=MAP *.example.test 127.0.0.1']);
    env.dir = mkdtempSync(join(tmpdir(), 'accounts-authz-'));
    writeFileSync(join(env.dir, 'rules.toml'), RULES);
    const port = await freePort();
    env.auth = `http://auth.example.test:${port}`;
    env.server = await startServer([
      '--public-url', env.auth, '--cookie-domain', 'example.test', '--trusted-proxy', '127.0.0.1',
      '--authz-rules', join(env.dir, 'rules.toml'),
    ], { port });
    env.upstream = await startUpstream();
    const values = { ACCOUNTS: `127.0.0.1:${port}`, UPSTREAM: env.upstream.addr };
    env.nginx = await startNginx({ ...values, APP_HOST: 'nginx.example.test' });
    env.caddy = await startCaddy({ ...values, APP_HOST: 'caddy.example.test' });
  });
  after(async () => {
    await env.browser?.close();
    await env.nginx?.stop();
    await env.caddy?.stop();
    await env.upstream?.stop();
    await env.server?.stop();
    if (env.dir) rmSync(env.dir, { recursive: true, force: true });
  });

  for (const proxy of ['nginx', 'caddy']) {
    test(`${proxy}: log in through the proxy, the app sees Remote-User, rules hold, logout and revocation end it`, async () => {
      const p = await openPage(env.browser, `proxy-${proxy}`, { width: 1280 });
      const port = env[proxy].port;
      const host = `${proxy}.example.test:${port}`;
      const app = `http://${host}`;
      try {
        const name = unique('Ann');
        const authPort = Number(new URL(env.auth).port);
        const r = await viaProxy(authPort, new URL(env.auth).host, '/api/user/add', {
          'content-type': 'application/json',
        }, 'POST', JSON.stringify({ user_name: name, password: PASSWORD }));
        assert.equal(r.status, 201, r.body);

        // Not signed in: the proxy sends the browser to log in, with rd, and back after.
        await p.page.goto(`${app}/hello?x=1`);
        await heading(p.page, 'Log in');
        const login = new URL(p.page.url());
        assert.equal(login.origin, env.auth);
        assert.equal(login.searchParams.get('rd'), `${app}/hello?x=1`);
        await p.shot('login-with-rd');
        await fillField(p.page, 'User name', name);
        await fillField(p.page, 'Password', PASSWORD);
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await p.page.waitForURL(`${app}/hello?x=1`);
        const seen = JSON.parse(await p.page.locator('body').innerText());
        assert.equal(seen.headers['remote-user'], name);
        assert.equal(seen.path, '/hello?x=1');
        await p.shot('the-app-sees-the-user');

        // A client-sent Remote-User never reaches the app: replaced when signed in, dropped
        // on a bypass path.
        const cookie = (await p.page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
        const forged = await viaProxy(port, host, '/hello', { cookie, 'remote-user': 'admin' });
        assert.equal(JSON.parse(forged.body).headers['remote-user'], name);
        const open = await viaProxy(port, host, '/public/logo.png', { 'remote-user': 'admin' });
        assert.equal(open.status, 200, 'a bypass path needs no login');
        // Nothing, or empty (Caddy passes the empty header on, nginx drops it): never "admin".
        assert.ok(['', undefined].includes(JSON.parse(open.body).headers['remote-user']), open.body);
        // Nor its underscore twin, which CGI-style apps read as the same header.
        const underscored = await viaProxy(port, host, '/hello', { cookie, remote_user: 'admin' });
        assert.equal(JSON.parse(underscored.body).headers.remote_user, undefined);
        // A Host the proxy does not serve (here one a URL parser would misread) never reaches
        // the app.
        const misnamed = await viaProxy(port, `${proxy}.example.test\\public`, '/admin')
          .catch(() => ({ status: 0, body: '' }));
        assert.ok(!misnamed.body.includes('"headers"'), `${misnamed.status} ${misnamed.body}`);
        // The request line names the app, the Host header a host the rules let through: the
        // check is about the app all the same.
        if (proxy === 'nginx') {
          const raw = await new Promise((ok) => {
            let got = '';
            const socket = connect({ host: '127.0.0.1', port }, () => {
              socket.write(`GET http://${host}/admin HTTP/1.1\r\nHost: open.example.test\r\nConnection: close\r\n\r\n`);
            });
            socket.on('data', (d) => { got += d; });
            socket.on('close', () => ok(got));
            socket.on('error', () => ok(got));
          });
          assert.ok(!raw.startsWith('HTTP/1.1 200'), raw.split('\r\n')[0]);
        }
        // A group rule: not in admins, 403, however the path is spelt.
        for (const sneaky of ['//admin', '/%61dmin', '/admin;x', '/public/..;/admin']) {
          const r = await viaProxy(port, host, sneaky, { cookie });
          assert.notEqual(r.status, 200, `${sneaky}: ${r.body}`);
        }
        const admin = await viaProxy(port, host, '/admin', { cookie });
        assert.equal(admin.status, 403);

        // Revoked by an operator: refused within a second (lookups are kept that long).
        env.server.admin('revoke-sessions', name);
        const revokedAt = Date.now();
        let revoked = await viaProxy(port, host, '/hello', { cookie });
        while (revoked.status !== 302 && Date.now() - revokedAt < 1500) {
          await new Promise((r) => setTimeout(r, 50));
          revoked = await viaProxy(port, host, '/hello', { cookie });
        }
        assert.equal(revoked.status, 302, `still let in ${Date.now() - revokedAt} ms after`);
        assert.ok(revoked.location.startsWith(`${env.auth}/login?rd=`), revoked.location);

        // Logged in again and logged out: redirected again.
        await p.page.goto(`${app}/again`);
        await heading(p.page, 'Log in');
        await fillField(p.page, 'User name', name);
        await fillField(p.page, 'Password', PASSWORD);
        await p.page.getByRole('button', { name: 'Log in' }).click();
        await p.page.waitForURL(`${app}/again`);
        await p.page.goto(`${env.auth}/account`);
        await heading(p.page, 'Your account');
        await p.page.getByRole('button', { name: 'Log out' }).click();
        await heading(p.page, 'Log in');
        await p.page.goto(`${app}/again`);
        await heading(p.page, 'Log in');
        assert.deepEqual(p.problems, []);
      } catch (e) {
        e.message += `\n--- ${proxy} log ---\n${env[proxy].log()}`;
        throw e;
      } finally {
        await p.close();
      }
    });
  }
});
