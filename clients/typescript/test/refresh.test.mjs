// Refresh done right: concurrent calls with an expired access token make one refresh (counted at
// the server), a refused token is retried once after one refresh, a real denial is not retried.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MemoryStorage, createAuthClient } from '../dist/index.js';
import { PASSWORD, address, localApi } from './support.mjs';

let api;
before(async () => {
  // Access tokens of 2 s, no leeway: a test waits them out.
  api = await localApi('refresh', { ACCESS_TOKEN_TTL_SECONDS: '2', JWT_LEEWAY_SECONDS: '0' });
});
after(() => api.stop());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const REFRESH = 'POST /auth/refresh';

test('20 concurrent authFetch calls with an expired access token make exactly one refresh', async () => {
  const auth = createAuthClient({ baseUrl: api.base });
  await auth.register(address('twenty'), PASSWORD);
  await sleep(2_500);
  const before = await api.requests(REFRESH);
  const answers = await Promise.all(Array.from({ length: 20 }, () => auth.authFetch('/auth/me')));
  assert.deepEqual(answers.map((r) => r.status), Array(20).fill(200));
  assert.equal((await api.requests(REFRESH)) - before, 1);
});

test('a token the API refuses (expired unknown to the client) is refreshed once for 20 calls', async () => {
  const storage = new MemoryStorage();
  const auth = createAuthClient({ baseUrl: api.base, storage });
  await auth.register(address('refused'), PASSWORD);
  await sleep(2_500);
  // The client believes the token good for an hour: only the API's 403 tells it otherwise.
  storage.set({ ...storage.get(), accessExpiresAt: Date.now() + 3_600_000 });
  const before = await api.requests(REFRESH);
  const answers = await Promise.all(Array.from({ length: 20 }, () => auth.authFetch('/auth/me')));
  assert.deepEqual(answers.map((r) => r.status), Array(20).fill(200));
  assert.equal((await api.requests(REFRESH)) - before, 1);
  const user = await answers[19].json();
  assert.match(user.id, /^[0-9a-f-]{36}$/);
});

test('a denial that survives a refresh is not refreshed again', async () => {
  const auth = createAuthClient({ baseUrl: api.base, storage: new MemoryStorage() });
  await auth.register(address('denied'), PASSWORD);
  const before = await api.requests(REFRESH);
  for (let i = 0; i < 5; i += 1) {
    assert.equal((await auth.authFetch('/admin/users')).status, 403, 'a user is not an administrator');
  }
  assert.equal((await api.requests(REFRESH)) - before, 1, 'one refresh, for the first denial only');
});

test('refreshes run ahead of expiry, at most half the token lifetime early', async () => {
  const auth = createAuthClient({ baseUrl: api.base, refreshAheadSeconds: 30 });
  await auth.register(address('ahead'), PASSWORD);
  const before = await api.requests(REFRESH);
  assert.equal((await auth.authFetch('/auth/me')).status, 200);
  assert.equal((await api.requests(REFRESH)) - before, 0, 'a fresh 2 s token is used, not refreshed');
  await sleep(1_200);
  assert.equal((await auth.authFetch('/auth/me')).status, 200);
  assert.equal((await api.requests(REFRESH)) - before, 1, 'past half its life, refreshed before the call');
});
