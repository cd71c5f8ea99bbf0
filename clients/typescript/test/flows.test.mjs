// Every flow of the client against the local API, bearer transport (Node has no cookie jar).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AuthClient, AuthError, MemoryStorage, createAuthClient } from '../dist/index.js';
import { PASSWORD, address, localApi, totp } from './support.mjs';

let api;
before(async () => {
  // A grace period of 1 s for concurrent refreshes (10 s by default): the reuse test waits past it.
  api = await localApi('flows', { REFRESH_REUSE_GRACE_SECONDS: '1' });
});
after(() => api.stop());

const client = (options = {}) => createAuthClient({ baseUrl: api.base, ...options });

async function rejects(promise, status, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof AuthError, `an AuthError, not ${error}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    return true;
  });
}

test('register, me, sessions, typed errors', async () => {
  const auth = client();
  assert.equal(auth.transport, 'bearer');
  const email = address('register');
  const registered = await auth.register(email, PASSWORD);
  assert.equal(registered.status, 'signed_in');
  assert.equal(registered.user.email, email);
  const stored = await auth.tokens();
  assert.match(stored.accessToken, /^ey/);
  assert.ok(stored.accessExpiresAt > Date.now() + 800_000, 'expiry from expires_in (900 s)');

  const me = await auth.me();
  assert.equal(me.email, email);
  const sessions = await auth.sessions.list();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].current, true);

  await rejects(client().register(email, PASSWORD), 409, 'email_taken');
  await rejects(client().login(email, 'wrong password here'), 401, 'invalid_credentials');
  const invalid = await client().register('not an address', 'short').catch((e) => e);
  assert.equal(invalid.code, 'validation_failed');
  assert.deepEqual(invalid.fields.map((f) => f.field).sort(), ['email', 'password']);
  // Signed out: the authorizer's own answer, typed (403: with cookies allowed it is always asked).
  await rejects(client().me(), 403, 'forbidden');
  // Any route, typed by openapi.yaml.
  const jwks = await auth.call('get', '/.well-known/jwks.json', { auth: false });
  assert.ok(jwks.keys.length >= 1);
});

test('login from a second device, end it, sign out others and everywhere', async () => {
  const email = address('devices');
  const first = client();
  await first.register(email, PASSWORD);
  const second = client();
  const ended = [];
  second.subscribe((event) => event.type === 'signed_out' && ended.push(event.reason));
  assert.equal((await second.login(email, PASSWORD)).status, 'signed_in');

  const other = (await first.sessions.list()).find((s) => !s.current);
  await first.sessions.end(other.id);
  // The second device's session is over: its refresh token is refused, its state cleared.
  assert.equal(await second.refresh(), false);
  assert.deepEqual(ended, ['token_revoked']);
  assert.equal(await second.tokens(), null);

  const third = client();
  await third.login(email, PASSWORD);
  await first.logout('others');
  assert.equal(await third.refresh(), false);
  assert.ok(await first.refresh(), 'the caller keeps its session');

  const fourth = client();
  await fourth.login(email, PASSWORD);
  await fourth.logout('global');
  assert.equal(await fourth.tokens(), null);
  assert.equal(await first.refresh(), false, 'global logout ends every session');
});

test('a stolen refresh token used after the owner refreshed ends the session for both', async () => {
  const email = address('reuse');
  const storage = new MemoryStorage();
  const reasons = [];
  const owner = client({ storage, onSignedOut: (reason) => reasons.push(reason) });
  await owner.register(email, PASSWORD);
  const stolen = new MemoryStorage();
  stolen.set(storage.get());
  assert.ok(await owner.refresh());
  const thief = client({ storage: stolen, onSignedOut: (reason) => reasons.push(`thief ${reason}`) });
  // Past the grace period for concurrent refreshes: reuse.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(await thief.refresh(), false);
  assert.equal(await owner.refresh(), false);
  assert.deepEqual(reasons, ['thief token_reused', 'token_revoked']);
});

test('email verification, password change and reset', async () => {
  const email = address('email');
  const auth = client();
  await auth.register(email, PASSWORD);
  const user = await auth.email.verify(await api.linkToken(email, 'verify-email'));
  assert.equal(user.email_verified, true);
  await rejects(auth.email.verify(await api.linkToken(email, 'verify-email')), 401, 'invalid_token');

  const changed = await auth.changePassword(PASSWORD, 'another fine passphrase');
  assert.equal(changed.email, email);
  assert.equal((await auth.me()).email, email, 'still signed in, with the renewed tokens');
  await rejects(auth.changePassword('wrong current one', 'yet another passphrase'), 401, 'invalid_credentials');

  await auth.email.forgotPassword(email);
  await auth.email.resetPassword(await api.linkToken(email, 'reset-password'), 'reset passphrase here');
  assert.equal(await auth.refresh(), false, 'a reset ends every session');
  assert.equal((await client().login(email, 'reset passphrase here')).status, 'signed_in');
  await auth.email.resendVerification(email);
});

test('MFA: enrol, the second step as a typed result, recovery code, disable', async () => {
  const email = address('mfa');
  const auth = client();
  await auth.register(email, PASSWORD);
  await auth.email.verify(await api.linkToken(email, 'verify-email'));
  const enrolment = await auth.mfa.startTotp();
  assert.match(enrolment.secret, /^[A-Z2-7]+=*$/);
  const codes = await auth.mfa.confirmTotp(totp(enrolment.secret), PASSWORD);
  assert.equal(codes.length, 10);
  assert.equal((await auth.me()).mfa_enabled, true, 'the renewed session works');

  const device = client();
  const step = await device.login(email, PASSWORD);
  assert.equal(step.status, 'mfa_required');
  assert.ok(step.methods.includes('totp') && step.methods.includes('recovery_code'));
  assert.equal(await device.tokens(), null, 'no tokens before the second step');
  await rejects(device.verifyMfa(step.mfaToken, { code: '000000' }), 401, 'invalid_code');
  const done = await device.verifyMfa(step.mfaToken, { recoveryCode: codes[0] });
  assert.equal(done.status, 'signed_in');
  assert.equal((await device.me()).email, email);

  // Another 30 s step would be needed for a second TOTP code: a recovery code turns it off.
  await auth.mfa.disableTotp({ recoveryCode: codes[1] });
  assert.equal((await client().login(email, PASSWORD)).status, 'signed_in');
});

test('passkey and provider calls that need no browser', async () => {
  const auth = client();
  await auth.register(address('passkeys'), PASSWORD);
  assert.deepEqual(await auth.passkeys.list(), []);
  const options = await auth.passkeys.signInOptions();
  assert.match(options.publicKey.challenge, /^[A-Za-z0-9_-]{22,}$/);
  assert.deepEqual(await auth.federation.providers(), []);
  const { url, verifier } = await auth.federation.begin('op', 'http://127.0.0.1/');
  const query = new URL(url, api.base).searchParams;
  assert.equal(query.get('code_challenge_method'), 'S256');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  assert.equal(query.get('code_challenge'), Buffer.from(digest).toString('base64url'));
  await rejects(auth.federation.exchange('not-a-code', verifier), 401, 'invalid_token');
});

test('account deletion ends the session here', async () => {
  const email = address('delete');
  const auth = client();
  let reason = null;
  auth.subscribe((event) => {
    if (event.type === 'signed_out') reason = event.reason;
  });
  await auth.register(email, PASSWORD);
  await auth.deleteAccount();
  assert.equal(reason, 'logout');
  assert.equal(await auth.tokens(), null);
  await rejects(client().login(email, PASSWORD), 401, 'invalid_credentials');
  assert.ok(new AuthClient({ baseUrl: api.base }) instanceof AuthClient);
});

test('the bearer token goes to the API and the listed origins only', async () => {
  const http = await import('node:http');
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? null);
    res.end('{}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const other = `http://localhost:${server.address().port}`;
  try {
    const auth = client();
    await auth.register(address('origins'), PASSWORD);
    await auth.authFetch(`${other}/orders`);
    const listed = client({ storage: new MemoryStorage(), apiOrigins: [other] });
    await listed.register(address('origins-listed'), PASSWORD);
    await listed.authFetch(`${other}/orders`);
    assert.equal(seen[0], null, 'an origin not listed gets no token');
    assert.match(seen[1], /^Bearer ey/);
    // A relative path that is not under the API (".evil.com/x" would change the host) is refused.
    await assert.rejects(auth.authFetch('.evil.com/x'), TypeError);

  } finally {
    server.close();
  }
});
