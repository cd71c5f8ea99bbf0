// The React entry point: useAuth() under an AuthProvider follows sign-in and sign-out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createElement } from 'react';
import TestRenderer, { act } from 'react-test-renderer';
import { createAuthClient } from '../dist/index.js';
import { AuthProvider, useAuth } from '../dist/react.js';
import { PASSWORD, address, localApi } from './support.mjs';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let api;
before(async () => {
  api = await localApi('react');
});
after(() => api.stop());

function Status() {
  const { status, user } = useAuth();
  return createElement('p', null, `${status} ${user?.email ?? '-'}`);
}

test('useAuth: loading, then signed out; a sign-in shows the user; a logout ends it', async () => {
  const auth = createAuthClient({ baseUrl: api.base });
  let renderer;
  await act(async () => {
    renderer = TestRenderer.create(createElement(AuthProvider, { client: auth }, createElement(Status)));
  });
  const shown = () => renderer.root.findByType('p').children.join('');
  const settle = async (expected) => {
    for (let i = 0; i < 50 && shown() !== expected; i += 1) {
      await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    }
    assert.equal(shown(), expected);
  };
  await settle('signed_out -');

  const email = address('react');
  await act(async () => {
    await auth.register(email, PASSWORD);
  });
  await settle(`signed_in ${email}`);
  await act(async () => {
    await auth.logout();
  });
  await settle('signed_out -');
  await act(async () => renderer.unmount());
});
