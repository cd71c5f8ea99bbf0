// Sign-in with another provider on the web page, in a real headless Chromium: the local API
// configured with panva's oidc-provider (a real OpenID provider, RS256); the button, the
// provider's redirects, the callback, the page trading its login code for the cookies; the
// linked account in settings, its unlink refused while it is the only way in; and a second
// person's link of that same provider account refused as account_exists.
//
//   node tests/browser/federation.test.mjs   (scripts/browser-test.sh installs and builds first)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { artifacts, chromiumBin, freePort, startLocalApi, startUpstreamProvider } from './support.mjs';

const PASSWORD = 'correct horse battery staple';
const UPSTREAM_EMAIL = `upstream-${Date.now()}@example.com`;
let api;
let provider;
let apiPort;
let browser;
const problems = [];
const origin = () => `http://localhost:${apiPort}`;

async function newPage() {
  const context = await browser.newContext({ baseURL: origin() });
  const page = await context.newPage();
  page.on('console', (message) => {
    const refusal = /Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
    if (message.type() === 'error' && !refusal) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { context, page };
}

before(async () => {
  apiPort = await freePort();
  provider = await startUpstreamProvider({ redirectUri: `${origin()}/auth/oauth/op/callback`, login: UPSTREAM_EMAIL });
  api = await startLocalApi({
    port: apiPort,
    log: 'local-api-federation.log',
    env: {
      PUBLIC_BASE_URL: origin(),
      OAUTH_REDIRECT_URIS: `${origin()}/`,
      OAUTH_PROVIDERS: JSON.stringify([{
        id: 'op', name: 'Test OP', kind: 'oidc', issuer: provider.issuer,
        client_id: provider.clientId, client_secret: provider.clientSecret,
      }]),
    },
  });
  browser = await chromium.launch({
    executablePath: chromiumBin,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  api?.kill('SIGTERM');
  provider?.child.kill('SIGTERM');
});

test('a first sign-in with the provider makes an account and lists the linked provider', async () => {
  const { context, page } = await newPage();
  await page.goto('/');
  const button = page.getByRole('button', { name: 'Sign in with Test OP' });
  await button.click();
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 20_000 });
  await page.screenshot({ path: `${artifacts}/federation-signed-in.png` });
  assert.equal(await page.locator('#me-email').textContent(), UPSTREAM_EMAIL);
  assert.equal(new URL(page.url()).hash, '', 'the login code left the address bar');
  const identities = page.locator('#identities li');
  await identities.first().waitFor();
  assert.match(await identities.first().textContent(), new RegExp(`^op: ${UPSTREAM_EMAIL}`));
  // The only way in stays: no password yet.
  await identities.first().getByRole('button', { name: 'Unlink' }).click();
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#error').textContent(), /only way to sign in/);
  // The session works as a password login's: a reload is still signed in (cookies, refresh).
  await page.reload();
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  await context.close();
});

test('linking a provider account someone else has is refused as account_exists', async () => {
  const { context, page } = await newPage();
  const email = `linker-${Date.now()}@example.com`;
  await page.goto('/');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 15_000 });
  await page.getByRole('button', { name: 'Link Test OP' }).click();
  await page.locator('#error').waitFor({ state: 'visible', timeout: 20_000 });
  assert.match(await page.locator('#error').textContent(), /already uses that address|link the provider/);
  assert.equal(await page.locator('#identities li').count(), 0);
  await context.close();
  assert.deepEqual(problems, []);
});
