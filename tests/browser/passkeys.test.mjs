// Passkeys on the web page, in a real headless Chromium with the browser's own WebAuthn stack
// and a virtual authenticator (DevTools protocol: ctap2, internal transport, resident keys, user
// verification): register, add a passkey, sign out, sign in with it (no address typed), use it
// as the second factor of an account with MFA, and remove it.
//
//   node tests/browser/passkeys.test.mjs   (scripts/browser-test.sh installs and builds first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { artifacts, chromiumBin, freePort, startLocalApi, totp } from './support.mjs';

const PASSWORD = 'correct horse battery staple';
const EMAIL = `passkey-${Date.now()}@example.com`;
let api;
let apiPort;
let browser;
let context;
let page;
let authenticator;
const problems = [];
// localhost, not 127.0.0.1: an IP address cannot be an RP ID.
const origin = () => `http://localhost:${apiPort}`;

before(async () => {
  apiPort = await freePort();
  api = await startLocalApi({ port: apiPort, log: 'local-api-passkeys.log' });
  browser = await chromium.launch({
    executablePath: chromiumBin,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ baseURL: origin() });
  page = await context.newPage();
  page.on('console', (message) => {
    const refusal = /Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
    if (message.type() === 'error' && !refusal) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  authenticator = { cdp, id: added.authenticatorId };
});

after(async () => {
  await browser?.close();
  api?.kill('SIGTERM');
});

const credentials = async () =>
  (await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.id })).credentials;

async function signedIn() {
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await page.locator('#me-email').textContent(), EMAIL);
}

async function signOut() {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#signed-out').waitFor({ state: 'visible' });
}

test('a registered user adds a passkey on the page, and the authenticator holds it', async () => {
  await page.goto('/');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#passkey-login').isVisible(), true, 'the browser has WebAuthn');
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await signedIn();
  await page.fill('#passkey-name', 'Test laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  const item = page.locator('#passkeys li').first();
  await item.waitFor({ timeout: 20_000 });
  assert.match(await item.textContent(), /^Test laptop — this device only — never used/);
  const held = await credentials();
  assert.equal(held.length, 1);
  assert.equal(held[0].isResidentCredential, true, 'a discoverable credential');
  assert.equal(held[0].rpId, 'localhost');
  await page.screenshot({ path: `${artifacts}/passkeys-added.png` });
});

test('signed out, the passkey signs in without an address or a password', async () => {
  await signOut();
  assert.equal(await page.locator('#passkeys li, #sessions li').count(), 0, 'signed out, the page keeps no list of the account');
  await page.fill('#email', '');
  const answer = page.waitForResponse((r) => r.url().endsWith('/auth/passkeys/login') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  assert.equal((await answer).status(), 200);
  await signedIn();
  await page.locator('#passkeys li').filter({ hasText: 'last used' }).waitFor();
  const held = await credentials();
  assert.ok(held[0].signCount >= 2, `the counter moved on: ${held[0].signCount}`);
});

test('with MFA on, the passkey answers the second step in place of a code', async () => {
  // MFA needs a proved address. Adding the passkey was a credential event: the first link is
  // void, so a new one (the page's resend), then the app's code.
  await page.getByRole('button', { name: 'Send the confirmation email again' }).click();
  await page.locator('#status').filter({ hasText: 'A new confirmation link is on its way.' }).waitFor();
  const outbox = await (await page.request.get('/_dev/outbox')).json();
  const links = outbox.messages.filter((m) => m.to === EMAIL).map((m) => m.text.match(/#token=([A-Za-z0-9_-]+)/)).filter(Boolean);
  assert.equal(links.length, 2, 'the registration mail and the resent one');
  const voided = await page.request.post('/auth/email/verify', { data: { token: links[0][1] } });
  assert.equal(voided.status(), 401, 'the link mailed before the passkey was added is void');
  assert.equal((await page.request.post('/auth/email/verify', { data: { token: links[1][1] } })).status(), 200);
  await page.reload();
  await signedIn();
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await page.locator('#mfa-enrol').waitFor({ state: 'visible' });
  const secret = (await page.locator('#mfa-secret').textContent()).trim();
  await page.fill('#mfa-confirm-code', totp(secret));
  await page.fill('#mfa-confirm-password', PASSWORD);
  await page.getByRole('button', { name: 'Turn it on' }).click();
  await page.locator('#mfa-codes').waitFor({ state: 'visible' });
  await signOut();

  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#mfa-step').waitFor({ state: 'visible' });
  const usePasskey = page.getByRole('button', { name: 'Use a passkey instead' });
  assert.equal(await usePasskey.isVisible(), true, 'the account has a passkey to offer');
  const verified = page.waitForResponse((r) => r.url().endsWith('/auth/mfa/verify'));
  await usePasskey.click();
  assert.equal((await verified).status(), 200);
  await signedIn();
  await page.screenshot({ path: `${artifacts}/passkeys-second-step.png` });
});

test('the passkey is removed from the account and signs in no more', async () => {
  const item = page.locator('#passkeys li').first();
  await item.getByRole('button', { name: /^Remove the passkey/ }).click();
  await page.locator('#passkeys li').first().waitFor({ state: 'detached' });
  assert.match(await page.locator('#status').textContent(), /is removed/);
  await signOut();
  const answer = page.waitForResponse((r) => r.url().endsWith('/auth/passkeys/login'));
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  assert.equal((await answer).status(), 401, 'the authenticator still holds it; the account does not');
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#signed-out').isVisible(), true);
});

test('the page logged no script error', () => {
  assert.deepEqual(problems, []);
});
