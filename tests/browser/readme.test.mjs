// The page at / as the README leads a newcomer to it: the local API started with no
// configuration at all (the README's `cargo run --release -p local-api`, here on a free port),
// then http://localhost:PORT/ in a browser. Register, reload, logout and login must work there
// without setting TOKEN_TRANSPORT: the local API's default gives the page its cookies and curl
// its tokens in the body. (browser.test.mjs covers the page in depth, with cookie transport.)
//
//   node --test tests/browser/readme.test.mjs     (scripts/browser-test.sh builds and runs it)
//
// Screenshots and the server's log go to target/browser-artifacts/readme/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repo, 'target', 'browser-artifacts', 'readme');
const localApiBin = path.resolve(repo, process.env.LOCAL_API_BIN || 'target/debug/local-api');
const chromiumBin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const email = `readme-${Date.now()}-${process.pid}@example.com`;

let api;
let apiLog;
let apiPort;
let browser;
let page;
const pageProblems = [];

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

// A newcomer's shell: nothing that configures the API (scripts/test.sh exports keys, mail and
// transport settings for other steps; none of them may leak in here).
function newcomerEnv() {
  const env = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name];
  return env;
}

function startLocalApi() {
  assert.ok(fs.existsSync(localApiBin), `${localApiBin} not found: build it (cargo build -p local-api)`);
  apiLog = fs.createWriteStream(path.join(artifacts, 'local-api.log'));
  api = spawn(localApiBin, ['--addr', `127.0.0.1:${apiPort}`], { env: newcomerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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

function stopApi() {
  if (api && api.exitCode === null && api.signalCode === null) api.kill('SIGTERM');
}
process.on('exit', stopApi);

const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const sawResponse = (method, pathname) => (r) =>
  r.request().method() === method && new URL(r.url()).pathname === pathname;

async function expectSignedIn() {
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await page.locator('#me-email').textContent(), email);
  assert.equal((await page.locator('#error').innerText()).trim(), '', 'no error is shown');
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
  apiPort = await freePort();
  await startLocalApi();
  browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext()).newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.location().url)) pageProblems.push(m.text()); });
  page.on('pageerror', (e) => pageProblems.push(String(e)));
});

after(async () => {
  await browser?.close().catch(() => {});
  stopApi();
  await new Promise((resolve) => (api && api.exitCode === null ? api.once('exit', resolve) : resolve()));
  apiLog?.end();
});

test('with no configuration, the page registers, stays signed in over a reload, logs out and in', async () => {
  // The README says http://localhost:3000/; localhost is a secure context, so Secure cookies stay.
  await page.goto(`http://localhost:${apiPort}/`);
  await page.locator('#signed-out').waitFor({ state: 'visible', timeout: 15_000 });
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  const [registered, me] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/register')),
    page.waitForResponse(sawResponse('GET', '/auth/me')),
    page.click('#register'),
  ]);
  assert.equal(registered.status(), 201, await registered.text());
  // The default transport is `both`: the body has the tokens (for curl), the page uses cookies.
  assert.match((await registered.json()).access_token ?? '', /^eyJ/, 'tokens in the body too');
  assert.equal(me.status(), 200, 'the page reaches /auth/me by its cookie');
  await expectSignedIn();
  await shot('01-registered');

  await page.reload();
  await expectSignedIn();

  await page.click('#logout');
  await page.locator('#signed-out').waitFor({ state: 'visible', timeout: 15_000 });
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  const [login] = await Promise.all([
    page.waitForResponse(sawResponse('POST', '/auth/login')),
    page.click('#login'),
  ]);
  assert.equal(login.status(), 200, await login.text());
  await expectSignedIn();
  await shot('02-logged-in-again');
  const real = pageProblems.filter((m) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(m));
  assert.deepEqual(real, [], 'no console error or CSP violation');
});
