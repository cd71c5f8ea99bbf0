// The administration page (/admin) in a real headless Chromium against the local API, on a
// phone-sized screen: an administrator defines a role, finds a user, assigns the role, sees a
// held role refused deletion, disables and deletes the account; a user gets no console.
//
//   node tests/browser/admin.test.mjs        (scripts/browser-test.sh installs and builds first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { artifacts, chromiumBin, freePort, localApiBin, startLocalApi } from './support.mjs';
const PASSWORD = 'correct horse battery staple';
const ADMIN = `admin-${Date.now()}@example.com`;
const USER = `member-${Date.now()}@example.com`;

let api;
let apiPort;
let browser;
const problems = []; // console errors and uncaught exceptions on our pages

async function startAdminApi() {
  api = await startLocalApi({
    port: apiPort,
    args: ['--admin', ADMIN],
    env: { LOCAL_ADMIN_PASSWORD: PASSWORD },
    log: 'local-api-admin.log',
  });
}

const origin = () => `http://localhost:${apiPort}`;

async function phone() {
  const context = await browser.newContext({ baseURL: origin(), viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  // The API's refusals (4xx) are part of the flows; anything else logged as an error is not.
  page.on('console', (message) => {
    const refusal = /Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
    if (message.type() === 'error' && !refusal) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { context, page };
}

async function signIn(page, email) {
  await page.goto('/');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 15_000 });
}

async function fitsTheScreen(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `scroll width ${scroll} > viewport ${width}`);
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  assert.ok(fs.existsSync(localApiBin), `${localApiBin} not found: cargo build -p local-api`);
  apiPort = await freePort();
  await startAdminApi();
  const registered = await fetch(`${origin()}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: USER, password: PASSWORD }),
  });
  assert.equal(registered.status, 201);
  browser = await chromium.launch({ executablePath: chromiumBin, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  api?.kill('SIGTERM');
});

test('an administrator manages roles and a user from a phone', async () => {
  const { context, page } = await phone();
  await signIn(page, ADMIN);
  await page.goto('/admin');
  await page.locator('#users').waitFor({ state: 'visible', timeout: 15_000 });
  assert.match(await page.locator('#status').textContent(), /Signed in as admin-/);

  // A role.
  await page.fill('#role-name', 'support');
  await page.fill('#role-description', 'Help desk');
  await page.fill('#role-permissions', 'orders:read\nusers:read');
  await page.click('#save-role');
  await page.locator('#role-list li', { hasText: 'support — orders:read users:read (0 holding)' }).waitFor();
  await page.fill('#role-name', 'Bad Name');
  await page.click('#save-role');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').textContent(), /validation_failed/);

  // The user, found by address, gets the role.
  await page.fill('#search-email', USER.toUpperCase());
  await page.click('#search');
  await page.locator('#user-list li', { hasText: USER }).getByRole('button', { name: 'Open' }).click();
  await page.locator('#user').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#user-email').textContent(), USER);
  await page.locator('#role-choices input[value="support"]').check();
  await page.click('#save-roles');
  await page.locator('#status', { hasText: 'Roles saved.' }).waitFor();
  assert.equal(await page.locator('#user-permissions').textContent(), 'orders:read users:read');
  await fitsTheScreen(page);
  await page.screenshot({ path: path.join(artifacts, 'admin-user.png'), fullPage: true });

  // A held role is not deleted: the API's refusal is shown.
  await page.locator('#role-list li', { hasText: 'support' }).getByRole('button', { name: 'Delete' }).click();
  await page.locator('#error', { hasText: 'conflict' }).waitFor();

  // Disable, then delete the account (confirmed); then the role can go.
  await page.click('#toggle-disabled');
  await page.locator('#user-state', { hasText: 'disabled' }).waitFor();
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#delete-user');
  await page.locator('#status', { hasText: 'Account deleted.' }).waitFor();
  await page.locator('#role-list li', { hasText: 'support' }).getByRole('button', { name: 'Delete' }).click();
  await page.locator('#status', { hasText: 'Role support deleted.' }).waitFor();
  await fitsTheScreen(page);
  const gone = await fetch(`${origin()}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: USER, password: PASSWORD }),
  });
  assert.equal(gone.status, 401, 'the deleted account signs in no more');
  await context.close();
  assert.deepEqual(problems, [], 'no console error or exception (a CSP violation included)');
});

test('a user gets no console', async () => {
  const email = `plain-${Date.now()}@example.com`;
  await fetch(`${origin()}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const { context, page } = await phone();
  await signIn(page, email);
  await page.goto('/admin');
  await page.locator('#status', { hasText: 'This page is for administrators.' }).waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('#users').isVisible(), false);
  assert.equal(await page.locator('#roles').isVisible(), false);
  await context.close();
});
