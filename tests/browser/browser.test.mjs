// The web page (web/) in a real headless Chromium against the local API with cookie transport.
//
//   node tests/browser/browser.test.mjs        (scripts/browser-test.sh installs and builds first)
//
// Environment: LOCAL_API_BIN (default target/debug/local-api), CHROMIUM_BIN (default
// /usr/bin/chromium — Debian's package; playwright-core's own browser download is never used).
// Screenshots and the server's log go to target/browser-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { totp } from './support.mjs';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repo, 'target', 'browser-artifacts');
const localApiBin = path.resolve(repo, process.env.LOCAL_API_BIN || 'target/debug/local-api');
const chromiumBin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ACCESS_TTL_SECONDS = 3;
const PASSWORD = 'correct horse battery staple';
const email = `browser-${Date.now()}-${process.pid}@example.com`;

let api; // the local-api child process
let apiLog;
let apiPort;
let frontPort; // an origin on the CORS allow-list (a separately hosted front end)
let attackerPort; // an origin that is not: same site (localhost), other port
const servers = [];
let browser;
let context;
let page;
const responses = []; // every response the main page saw: {method, path, status}
const pageProblems = []; // console errors and uncaught exceptions on our own page

const apiOrigin = () => `http://localhost:${apiPort}`;
const REBOUND_HOST = 'rebound.attacker.test'; // resolved to 127.0.0.1 by the browser (DNS rebinding)

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function serveHtml(port, html) {
  const server = http.createServer((req, res) => {
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

function startLocalApi() {
  assert.ok(fs.existsSync(localApiBin), `${localApiBin} not found: build it (cargo build -p local-api)`);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Drop configuration the caller's shell may carry (scripts/test.sh exports signing keys):
    // this run sets its own.
    if (/^(JWT_|ACCESS_TOKEN_|REFRESH_TOKEN_|SESSION_|TOKEN_TRANSPORT$|CORS_|AUTHORIZER_|REFRESH_REUSE_|EMAIL_|APP_URL$|RESET_TOKEN_|VERIFY_TOKEN_|WEBAUTHN_)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, {
    TOKEN_TRANSPORT: 'cookie',
    ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL_SECONDS),
    JWT_LEEWAY_SECONDS: '0',
    CORS_ALLOWED_ORIGINS: `http://localhost:${frontPort}`,
    // Mailed links open the page on the origin the browser uses (the outbox keeps the mail).
    APP_URL: `http://localhost:${apiPort}`,
  });
  apiLog = fs.createWriteStream(path.join(artifacts, 'local-api.log'));
  api = spawn(localApiBin, ['--addr', `127.0.0.1:${apiPort}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`local-api did not start within 60 s:\n${seen}`)), 60_000);
    const onData = (chunk) => {
      apiLog.write(chunk);
      seen += chunk;
      if (seen.includes('listening on http://')) {
        clearTimeout(timer);
        resolve();
      }
    };
    api.stdout.on('data', onData);
    api.stderr.on('data', onData);
    api.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`local-api exited (${code ?? signal}) before listening:\n${seen}`));
    });
  });
}

function stopEverything() {
  if (api && api.exitCode === null && api.signalCode === null) api.kill('SIGTERM');
  for (const s of servers) s.close();
}
process.on('exit', stopEverything);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopEverything();
    process.exit(130);
  });
}

const shot = (name, p = page) => p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

async function expectSignedIn(p = page) {
  await p.locator('#signed-in').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await p.locator('#me-email').textContent(), email);
  assert.equal(await p.locator('#me-role').textContent(), 'user');
  assert.match(await p.locator('#me').innerText(), new RegExp(`Signed in as ${email.replace(/[.+]/g, '\\$&')} \\(user\\)`));
}

async function expectSignedOut(p = page) {
  await p.locator('#signed-out').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await p.locator('#signed-in').isVisible(), false);
}

const sawResponse = (method, pathname) => (r) =>
  r.request().method() === method && new URL(r.url()).pathname === pathname;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
  [apiPort, frontPort, attackerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  await startLocalApi();
  await serveHtml(frontPort, '<!doctype html><title>front end</title><p>allowed origin</p>');
  await serveHtml(attackerPort, `<!doctype html>
<title>win a prize</title>
<h1>You won!</h1>
<form id="attack" method="POST" action="${apiOrigin()}/auth/logout">
  <button id="go" type="submit">Claim your prize</button>
</form>`);
  browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // A container's /dev/shm can be tiny; Chromium then crashes tabs instead of failing clearly.
      '--disable-dev-shm-usage',
      // DNS rebinding, simulated: an attacker's name that now resolves to the local API's address.
      `--host-resolver-rules=MAP ${REBOUND_HOST} 127.0.0.1`,
    ],
  });
  context = await browser.newContext({ baseURL: apiOrigin() });
  page = await context.newPage();
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.origin === apiOrigin()) responses.push({ method: r.request().method(), path: url.pathname, status: r.status() });
  });
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.location().url)) pageProblems.push(m.text()); });
  page.on('pageerror', (e) => pageProblems.push(String(e)));
});

after(async () => {
  if (page && !page.isClosed()) await shot('99-final').catch(() => {});
  await browser?.close().catch(() => {});
  stopEverything();
  await new Promise((resolve) => (api && api.exitCode === null ? api.once('exit', resolve) : resolve()));
  apiLog?.end();
});

// The steps depend on each other: after a failure the rest are skipped rather than piling up.
let broken = false;
function step(name, fn) {
  test(name, async (t) => {
    if (broken) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      broken = true;
      if (page && !page.isClosed()) await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      throw e;
    }
  });
}

step('the page is served by the local API under a strict CSP and shows the login form', async () => {
  const response = await page.goto('/');
  assert.equal(response.status(), 200);
  const csp = (await response.allHeaders())['content-security-policy'] || '';
  assert.match(csp, /default-src 'self'/, `CSP header: ${csp}`);
  await expectSignedOut();
  for (const id of ['email', 'password']) {
    assert.ok(await page.locator(`label[for="${id}"]`).count(), `#${id} has a label`);
  }
  // No token at all: with cookie transport there is no Authorization identity source (README,
  // Browser clients), so the authorizer itself refuses: 403, never API Gateway's 401.
  const me = responses.find((r) => r.path === '/auth/me');
  assert.equal(me?.status, 403, 'no session yet: /auth/me is refused by the authorizer');
  await shot('01-signed-out');
});

step('register through the page signs in', async () => {
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  const [registered] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/register')),
    page.click('#register'),
  ]);
  assert.equal(registered.status(), 201, await registered.text());
  const body = await registered.json();
  assert.equal(body.access_token, undefined, 'cookie mode: no access token in the body');
  assert.equal(body.refresh_token, undefined, 'cookie mode: no refresh token in the body');
  assert.equal(body.user?.email, email);
  await expectSignedIn();
  await shot('02-registered');
});

step('logout, then login through the page shows the email; the token cookies are HttpOnly', async () => {
  await page.click('#logout');
  await expectSignedOut();
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  const [login] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/login')),
    page.click('#login'),
  ]);
  assert.equal(login.status(), 200, await login.text());
  const body = await login.json();
  assert.equal(body.access_token, undefined);
  assert.equal(body.refresh_token, undefined);
  await expectSignedIn();
  // Right after login, well within the access token's lifetime: every cookie is in the jar.
  const jar = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
  const access = jar['__Host-access_token'];
  const refresh = jar['__Secure-refresh_token'];
  const csrf = jar['__Host-csrf_token'];
  assert.ok(access && refresh && csrf, `cookies: ${Object.keys(jar).join(', ')}`);
  assert.deepEqual(
    [access.httpOnly, access.secure, access.sameSite, access.path],
    [true, true, 'Lax', '/'],
  );
  assert.deepEqual(
    [refresh.httpOnly, refresh.secure, refresh.sameSite, refresh.path],
    [true, true, 'Strict', '/auth'],
  );
  assert.deepEqual([csrf.httpOnly, csrf.secure, csrf.sameSite, csrf.path], [false, true, 'Strict', '/']);
  assert.match(access.value, /^eyJ/);
  const accessLeft = access.expires - Date.now() / 1000;
  assert.ok(accessLeft > 0 && accessLeft <= ACCESS_TTL_SECONDS + 1, `access cookie Max-Age ≈ TTL (${accessLeft} s left)`);
  await shot('03-logged-in');
});

step('a wrong password shows the problem from the API', async (t) => {
  // In a fresh browser context (no cookies), so the signed-in page keeps its session.
  const other = await browser.newContext({ baseURL: apiOrigin() });
  try {
    const p = await other.newPage();
    await p.goto('/');
    await expectSignedOut(p);
    await p.fill('#email', email);
    await p.fill('#password', 'not the password');
    await p.click('#login');
    await p.locator('#error').waitFor({ state: 'visible' });
    assert.match(await p.locator('#error').innerText(), /invalid_credentials/);
    await shot('04-wrong-password', p);
  } finally {
    await other.close();
  }
  t.diagnostic('error shown with its code');
});

step('a reload stays signed in', async () => {
  await page.reload();
  await expectSignedIn();
});

step('document.cookie holds no token, only the CSRF cookie', async () => {
  const visible = await page.evaluate(() => document.cookie);
  assert.doesNotMatch(visible, /eyJ/, `document.cookie: ${visible}`);
  assert.doesNotMatch(visible, /access_token|refresh_token/, `document.cookie: ${visible}`);
  assert.match(visible, /(^|; )__Host-csrf_token=[A-Za-z0-9_-]+/, `document.cookie: ${visible}`);
});

step('after the access token expires the page reaches /auth/me through a silent refresh', async () => {
  await page.waitForTimeout((ACCESS_TTL_SECONDS + 1.5) * 1000);
  responses.length = 0;
  const refreshed = page.waitForResponse(sawResponse('POST', '/auth/refresh'));
  await page.click('#check');
  const refresh = await refreshed;
  assert.equal(refresh.status(), 200, await refresh.text());
  assert.equal((await refresh.request().allHeaders())['x-csrf-token']?.length > 0, true, 'refresh sends X-CSRF-Token');
  await expectSignedIn();
  await page.waitForFunction(() => !document.getElementById('check').disabled);
  const seen = responses.map((r) => `${r.method} ${r.path} ${r.status}`);
  // The client knows when the access token expires (the login's expires_in): it refreshes first,
  // so no call is refused on the way.
  assert.equal(seen[0], 'POST /auth/refresh 200', seen.join(', '));
  assert.equal(seen[1], 'GET /auth/me 200', seen.join(', '));
  await shot('05-after-silent-refresh');
});

step('after a refused access token the client refreshes once and retries once', async () => {
  // A page that knows nothing of the token's expiry (its record gone), with the access cookie
  // expired: only the authorizer's 403 tells the client.
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expectSignedIn();
  await page.waitForTimeout((ACCESS_TTL_SECONDS + 1.5) * 1000);
  responses.length = 0;
  await page.click('#check');
  await page.waitForFunction(() => !document.getElementById('check').disabled);
  await expectSignedIn();
  const seen = responses.map((r) => `${r.method} ${r.path} ${r.status}`);
  // The browser drops the expired access cookie (Max-Age = TTL), or still sends the expired
  // token: either way the authorizer refuses it (cookie transport has no 401).
  assert.deepEqual(seen.slice(0, 3), ['GET /auth/me 403', 'POST /auth/refresh 200', 'GET /auth/me 200'], seen.join(', '));
});

step('two tabs with an expired access token call the API at once: one rotation, neither signed out; a third sees the new session', async (t) => {
  const refreshes = async () => (await (await fetch(`${apiOrigin()}/_dev/requests`)).json()).requests['POST /auth/refresh'] ?? 0;
  const callApi = (tab) => tab.evaluate(async () => (await window.jwtAuth.client.authFetch('/auth/me')).status);
  const tabs = [await context.newPage(), await context.newPage(), await context.newPage()];
  try {
    for (const tab of tabs) {
      await tab.goto('/');
      await expectSignedIn(tab);
    }
    await page.waitForTimeout((ACCESS_TTL_SECONDS + 1.5) * 1000);
    const before = await refreshes();
    const answers = await Promise.all([callApi(tabs[0]), callApi(tabs[1])]);
    const rotations = (await refreshes()) - before;
    assert.deepEqual({ answers, rotations }, { answers: [200, 200], rotations: 1 }, 'both answered, one refresh for both');
    const third = await callApi(tabs[2]);
    const after = (await refreshes()) - before;
    assert.deepEqual({ third, after }, { third: 200, after: 1 }, 'the third tab used the new tokens without refreshing');
    for (const tab of [page, ...tabs]) {
      await tab.click('#check');
      await expectSignedIn(tab);
    }
    t.diagnostic(`two tabs at once: ${rotations} refresh; a third tab: 0`);
  } finally {
    for (const tab of tabs) await tab.close();
  }
});

step('a cross-origin form POST to /auth/logout without the CSRF header is refused', async () => {
  const evil = await context.newPage(); // same browser profile: the victim's cookies
  try {
    await evil.goto(`http://localhost:${attackerPort}/`);
    const [answer] = await Promise.all([
      evil.waitForResponse(sawResponse('POST', '/auth/logout')),
      evil.click('#go'),
    ]);
    const sentCookies = (await answer.request().allHeaders()).cookie || '';
    assert.match(sentCookies, /__Secure-refresh_token=/, 'same site: the browser did send the refresh cookie');
    assert.equal(answer.status(), 403, await answer.text());
    assert.match(answer.headers()['content-type'] || '', /application\/problem\+json/);
    const problem = await answer.json();
    assert.equal(problem.code, 'csrf_failed', JSON.stringify(problem));
    await evil.waitForLoadState();
    assert.match(await evil.locator('body').innerText(), /csrf_failed/);
    await shot('06-csrf-refused', evil);
  } finally {
    await evil.close();
  }
  responses.length = 0;
  await page.click('#check');
  await expectSignedIn();
  await page.waitForFunction(() => !document.getElementById('check').disabled);
  assert.ok(responses.some((r) => r.path === '/auth/me' && r.status === 200), 'the session still works');
});

step('CORS: the allowed origin reads /auth/me with credentials, another origin cannot', async () => {
  const p = await context.newPage();
  try {
    const probe = (url) => p.evaluate(async (u) => {
      try {
        const r = await fetch(u, { credentials: 'include' });
        return { status: r.status, body: await r.text() };
      } catch (e) {
        return { error: String(e) };
      }
    }, url);
    // Warm the access cookie (it may have expired since the last step) from the page itself.
    await page.click('#check');
    await expectSignedIn();
    await p.goto(`http://localhost:${frontPort}/`);
    const allowed = await probe(`${apiOrigin()}/auth/me`);
    assert.equal(allowed.status, 200, JSON.stringify(allowed));
    assert.equal(JSON.parse(allowed.body).email, email);
    await p.goto(`http://localhost:${attackerPort}/`);
    const refused = await probe(`${apiOrigin()}/auth/me`);
    assert.ok(refused.error, `a non-allowed origin read the answer: ${JSON.stringify(refused)}`);
    // Even knowing the CSRF cookie (same host, so readable there), the header needs a preflight
    // that a non-allowed origin does not pass.
    const forged = await p.evaluate(async (u) => {
      const csrf = (document.cookie.match(/(?:^|; )__Host-csrf_token=([^;]*)/) || [])[1] || '';
      try {
        const r = await fetch(u, {
          method: 'POST', credentials: 'include',
          headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{}',
        });
        return { status: r.status };
      } catch (e) {
        return { error: String(e) };
      }
    }, `${apiOrigin()}/auth/logout`);
    assert.ok(forged.error, `a forged header from a non-allowed origin got through: ${JSON.stringify(forged)}`);
  } finally {
    await p.close();
  }
  responses.length = 0;
  await page.click('#check');
  await expectSignedIn();
});

/** The session list as the page shows it: one entry per session, the current one marked. */
async function listedSessions(p = page) {
  return p.locator('#sessions li').evaluateAll((items) => items.map((item) => ({
    id: item.dataset.sessionId,
    current: item.classList.contains('current'),
    text: item.textContent,
    canEnd: Boolean(item.querySelector('button.sign-out-session')),
  })));
}

/** A second browser (its own cookies), signed in to the same account. */
async function secondDevice() {
  const other = await browser.newContext({ baseURL: apiOrigin(), userAgent: 'SecondDevice/1.0 (test)' });
  const p = await other.newPage();
  await p.goto('/');
  await expectSignedOut(p);
  await p.fill('#email', email);
  await p.fill('#password', PASSWORD);
  await p.click('#login');
  await expectSignedIn(p);
  return { other, p };
}

/** Waits out the access token (its TTL, no leeway): what the device holds then is its refresh cookie. */
const accessExpiry = () => new Promise((resolve) => setTimeout(resolve, ACCESS_TTL_SECONDS * 1000 + 500));

step('DNS rebinding: a page under another name that resolves to the local API reads nothing', async () => {
  // To the browser, http://rebound.attacker.test:PORT is the attacker's own origin, so its script
  // may read every answer from there; only the Host it names tells the API apart (421).
  const outbox = await (await context.request.get('/_dev/outbox')).json();
  assert.ok(outbox.messages.length > 0, 'the outbox holds the registration mail, readable as localhost');
  const evil = await browser.newPage();
  try {
    const answer = await evil.goto(`http://${REBOUND_HOST}:${apiPort}/_dev/outbox`);
    const text = await answer.text();
    assert.equal(answer.status(), 421, text);
    assert.match(answer.headers()['content-type'] || '', /application\/problem\+json/);
    assert.equal(JSON.parse(text).code, 'misdirected_request', text);
    assert.doesNotMatch(text, /messages|token=/);
    const reads = await evil.evaluate(async () =>
      Promise.all(['/_dev/outbox', '/_dev/events', '/', '/auth/me'].map(async (p) => (await fetch(p)).status)));
    assert.deepEqual(reads, [421, 421, 421, 421]);
  } finally {
    await evil.close();
  }
});

step('sessions: a second browser appears in the list, and "Sign out" there ends it', async () => {
  const { other, p } = await secondDevice();
  await page.click('#check');
  await page.locator('#sessions li').nth(1).waitFor({ timeout: 15_000 });
  const listed = await listedSessions();
  assert.equal(listed.length, 2, JSON.stringify(listed));
  const [mine, theirs] = [listed.find((s) => s.current), listed.find((s) => !s.current)];
  assert.ok(mine && !mine.canEnd && /this device/.test(mine.text), JSON.stringify(listed));
  assert.ok(theirs && theirs.canEnd && /SecondDevice\/1\.0/.test(theirs.text), JSON.stringify(listed));
  await shot('10-two-sessions');
  // The access cookie lives 3 s: when it lapsed before the click, the authorizer refuses the
  // first DELETE (403) and the page refreshes and sends it again. The answer that counts is the last.
  const [ended] = await Promise.all([
    page.waitForResponse((r) => sawResponse('DELETE', `/auth/sessions/${theirs.id}`)(r) && r.status() !== 403),
    page.click(`#sessions li[data-session-id="${theirs.id}"] button`),
  ]);
  assert.equal(ended.status(), 204);
  await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
  // The other browser is out once its access token lapses: its refresh is refused.
  await accessExpiry();
  await p.reload();
  await expectSignedOut(p);
  await other.close();
  await expectSignedIn();
});

step('sessions: "Sign out everywhere else" ends the other browser and keeps this one', async () => {
  const { other, p } = await secondDevice();
  await page.click('#check');
  await page.locator('#sessions li').nth(1).waitFor({ timeout: 15_000 });
  const [out] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/logout')),
    page.click('#sign-out-others'),
  ]);
  assert.equal(out.status(), 204);
  await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
  const [left] = await listedSessions();
  assert.ok(left.current, JSON.stringify(left));
  await shot('11-signed-out-elsewhere');
  await accessExpiry();
  await p.reload();
  await expectSignedOut(p);
  await other.close();
  // This browser goes on past its own access token: its refresh cookie still works.
  await page.reload();
  await expectSignedIn();
});

step('logout ends the session: a reload shows the login form and /auth/me is refused', async () => {
  await page.waitForFunction(() => !document.getElementById('logout').disabled);
  const [loggedOut] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/logout')),
    page.click('#logout'),
  ]);
  assert.equal(loggedOut.status(), 204);
  assert.equal(loggedOut.request().headers()['x-csrf-token']?.length > 0, true);
  await expectSignedOut();
  const names = (await context.cookies()).map((c) => c.name);
  for (const name of ['__Host-access_token', '__Secure-refresh_token', '__Host-csrf_token']) {
    assert.ok(!names.includes(name), `${name} cleared (jar: ${names.join(', ')})`);
  }
  responses.length = 0;
  await page.reload();
  await expectSignedOut();
  await page.waitForFunction(() => document.getElementById('status').textContent === 'Not signed in.');
  const seen = responses.map((r) => `${r.method} ${r.path} ${r.status}`);
  // Cookie transport: no identity source, so the authorizer answers, and refuses with 403.
  assert.ok(seen.includes('GET /auth/me 403'), seen.join(', '));
  assert.ok(!seen.some((s) => s.startsWith('POST /auth/refresh')), `no refresh without a session: ${seen.join(', ')}`);
  await shot('07-logged-out');
});

// The newest link to `path` the API mailed to `to`, from the local API's outbox, read from the
// text body with the contract's regex.
async function mailedLink(to, pathname) {
  const outbox = await (await fetch(`${apiOrigin()}/_dev/outbox`)).json();
  const links = outbox.messages
    .filter((m) => m.to === to)
    .map((m) => m.text.match(new RegExp(`(http\\S+${pathname}#token=([A-Za-z0-9_-]+))`)))
    .filter(Boolean);
  assert.ok(links.length, `no ${pathname} link mailed to ${to}: ${JSON.stringify(outbox.messages.map((m) => [m.to, m.subject]))}`);
  return links[links.length - 1][1];
}

// Opens a mailed link as a mail client does: a fresh load (never a same-document hash change).
async function openLink(link) {
  await page.goto('about:blank');
  await page.goto(link);
}

const NEW_PASSWORD = 'a new passphrase from the reset link';

step('the verification link from the outbox confirms the address; a second open says it is spent', async () => {
  // "Sign out everywhere else" above was a credential event: it voided the link mailed at
  // registration (docs/api.md, "Credential events"). Ask for a new one, as its owner would.
  const resent = await fetch(`${apiOrigin()}/auth/email/verify/resend`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  assert.equal(resent.status, 202, await resent.text());
  const link = await mailedLink(email, '/verify-email');
  responses.length = 0;
  await openLink(link);
  await page.locator('#verify').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
  assert.ok(!responses.some((r) => r.method === 'POST'), 'opening the link spends nothing');
  const [confirmed] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/email/verify')),
    page.click('#verify-confirm'),
  ]);
  assert.equal(confirmed.status(), 200, await confirmed.text());
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('is confirmed'));
  await shot('08-email-verified');
  await openLink(link);
  await page.click('#verify-confirm');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').innerText(), /invalid, expired or already used/);
  await shot('09-verify-link-spent');
});

step('forgot password: the reset link from the outbox sets a new password that then logs in', async () => {
  await page.goto('/');
  await expectSignedOut();
  await page.click('#forgot-open');
  await page.locator('#forgot').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'forgot-heading', 'focus follows the view');
  await page.fill('#forgot-email', email);
  const [asked] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/password/forgot')),
    page.click('#forgot-send'),
  ]);
  assert.equal(asked.status(), 202);
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('on its way'));
  await shot('10-forgot-sent');

  const link = await mailedLink(email, '/reset-password');
  await openLink(link);
  await page.locator('#reset').waitFor({ state: 'visible' });
  await page.fill('#reset-password', NEW_PASSWORD);
  const [reset] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/password/reset')),
    page.click('#reset-submit'),
  ]);
  assert.equal(reset.status(), 204, await reset.text());
  await page.locator('#reset-done').waitFor({ state: 'visible' });
  await shot('11-password-reset');

  await openLink(link);
  await page.fill('#reset-password', 'yet another passphrase here');
  await page.click('#reset-submit');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').innerText(), /invalid, expired or already used/);

  await page.goto('/');
  await expectSignedOut();
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').innerText(), /invalid_credentials/, 'the old password is gone');
  await page.fill('#password', NEW_PASSWORD);
  await page.click('#login');
  await expectSignedIn();
  assert.match(await page.locator('#me-verified').innerText(), /confirmed\./);
});

step('on a 390 px wide phone screen the page fits without sideways scrolling', async () => {
  const phone = await browser.newContext({ baseURL: apiOrigin(), viewport: { width: 390, height: 844 } });
  try {
    const p = await phone.newPage();
    await p.goto('/');
    await expectSignedOut(p);
    const widths = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(widths[0] <= widths[1], `scroll width ${widths[0]} > viewport ${widths[1]}`);
    const button = await p.locator('#login').boundingBox();
    assert.ok(button.height >= 44, `tap target ${button.height} px high`);
    await shot('12-phone-390', p);
    await p.click('#forgot-open');
    await shot('13-phone-390-forgot', p);
  } finally {
    await phone.close();
  }
});

let mfaSecret = '';
let recoveryCodes = [];

async function signInWithPassword() {
  await page.click('#logout');
  await expectSignedOut();
  await page.fill('#email', email);
  await page.fill('#password', NEW_PASSWORD);
  const [login] = await Promise.all([page.waitForResponse(sawResponse('POST', '/auth/login')), page.click('#login')]);
  assert.equal(login.status(), 401, await login.text());
  assert.equal((await login.json()).code, 'mfa_required');
  await page.locator('#mfa-step').waitFor({ state: 'visible' });
  const names = (await context.cookies()).map((c) => c.name);
  assert.ok(!names.includes('__Host-access_token'), `no session before the second step (jar: ${names.join(', ')})`);
}

step('mfa: turning it on shows a QR code and the key; a code computed from the key confirms it', async () => {
  assert.match(await page.locator('#mfa-state').innerText(), /is off/);
  const [started] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/mfa/totp')),
    page.click('#mfa-start'),
  ]);
  assert.equal(started.status(), 200, await started.text());
  assert.ok(started.request().headers()['x-csrf-token']?.length > 0, 'enrolment sends its CSRF proof');
  await page.locator('#mfa-enrol').waitFor({ state: 'visible' });
  const qr = page.locator('#mfa-qr');
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  // The QR code rendered (an image the CSP allowed, decoded to its size).
  await page.waitForFunction(() => document.getElementById('mfa-qr').naturalWidth > 0);
  mfaSecret = (await page.locator('#mfa-secret').innerText()).trim();
  assert.match(mfaSecret, /^[A-Z2-7]{32}$/);
  await shot('15-mfa-enrol');
  await page.fill('#mfa-confirm-code', totp(mfaSecret));
  // Turning it on takes the current password: a stolen session alone cannot add an authenticator.
  await page.fill('#mfa-confirm-password', NEW_PASSWORD);
  const [confirmed] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/mfa/totp/confirm')),
    page.click('#mfa-confirm'),
  ]);
  assert.equal(confirmed.status(), 200, await confirmed.text());
  await page.locator('#mfa-codes').waitFor({ state: 'visible' });
  recoveryCodes = await page.locator('#recovery-codes li').allInnerTexts();
  assert.equal(recoveryCodes.length, 10);
  assert.match(await page.locator('#mfa-state').innerText(), /is on/);
  assert.equal(await page.locator('#mfa-secret').innerText(), '', 'the key leaves the page once confirmed');
  await shot('16-mfa-recovery-codes');
});

step('mfa: after logout the password asks for the code, and the next code signs in', async () => {
  await signInWithPassword();
  await shot('17-mfa-code-asked');
  // The confirming code's step is spent: an app shows the next one within seconds; the API
  // accepts one step of skew, so the next step's code works now.
  await page.fill('#mfa-code', totp(mfaSecret, Date.now() / 1000 + 30));
  const [verified] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/mfa/verify')),
    page.click('#mfa-verify'),
  ]);
  assert.equal(verified.status(), 200, await verified.text());
  assert.equal((await verified.json()).access_token, undefined, 'cookie mode: tokens in cookies only');
  await expectSignedIn();
  const names = (await context.cookies()).map((c) => c.name);
  assert.ok(names.includes('__Host-access_token') && names.includes('__Secure-refresh_token'), names.join(', '));
  await shot('18-mfa-signed-in');
});

step('mfa: a recovery code signs in once', async () => {
  await signInWithPassword();
  await page.fill('#mfa-recovery', recoveryCodes[0]);
  const [verified] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/mfa/verify')),
    page.click('#mfa-verify'),
  ]);
  assert.equal(verified.status(), 200, await verified.text());
  await expectSignedIn();
  await signInWithPassword();
  await page.fill('#mfa-recovery', recoveryCodes[0]);
  await page.click('#mfa-verify');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').innerText(), /wrong or already used/);
  await page.fill('#mfa-recovery', recoveryCodes[1]);
  await page.click('#mfa-verify');
  await expectSignedIn();
});

step('mfa: turning it off takes a recovery code; then the password alone signs in', async () => {
  await page.fill('#mfa-disable-code', recoveryCodes[2]);
  const [off] = await Promise.all([
    page.waitForResponse(sawResponse('DELETE', '/auth/mfa/totp')),
    page.click('#mfa-disable'),
  ]);
  assert.equal(off.status(), 204, await off.text());
  assert.match(await page.locator('#mfa-state').innerText(), /is off/);
  await page.click('#logout');
  await expectSignedOut();
  await page.fill('#email', email);
  await page.fill('#password', NEW_PASSWORD);
  await page.click('#login');
  await expectSignedIn();
});

step('change email: the confirmation link moves the account to the new address', async () => {
  const newEmail = `moved-${email}`;
  await page.fill('#new-email', newEmail);
  await page.fill('#change-email-password', NEW_PASSWORD);
  const [asked] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/email')),
    page.click('#change-email'),
  ]);
  assert.equal(asked.status(), 202, await asked.text());
  assert.ok(asked.request().headers()['x-csrf-token']?.length > 0, 'a change sends its CSRF proof');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('confirmation link'));
  const link = await mailedLink(newEmail, '/verify-email');
  await openLink(link);
  await page.click('#verify-confirm');
  await page.waitForFunction((e) => document.getElementById('status').textContent.includes(e), newEmail);
  await shot('14-email-changed');
});

step('the page raised no console error or CSP violation', async () => {
  // Chromium logs the API's expected 4xx answers (401 from /auth/me, ...) as failed resources.
  const real = pageProblems.filter((m) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(m));
  assert.deepEqual(real, []);
});
