// What both pages of the web app share: the @jwt-auth/client library (client.js, built from
// clients/typescript) with the cookie transport — the session lives in HttpOnly cookies the pages
// never see; the client sends the CSRF header on calls that change something and refreshes once
// for every tab (a Web Lock, a BroadcastChannel) — and problem details as one readable line.
'use strict';

window.jwtAuth = (() => {
  const { createAuthClient, AuthError } = window.JwtAuthClient;
  const client = createAuthClient({ transport: 'cookies' });

  // One request to any route, for the administration page's generic calls: {status, ok, body},
  // never throwing for HTTP errors. `auth`: with the session (and its refresh).
  async function request(method, path, { body, auth = true } = {}) {
    const response = await client.request(method, path, body, auth);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { detail: text };
      }
    }
    return { status: response.status, ok: response.ok, body: parsed };
  }

  // An AuthError (or a {status, body} answer, or any Error) as one line: title, detail, fields, [code].
  function describe(failure) {
    const p = failure instanceof AuthError ? (failure.problem || {}) : (failure.body || {});
    const text = [p.title, p.detail].filter(Boolean).join(': ')
      || p.message || (failure instanceof Error ? failure.message : '') || `HTTP ${failure.status}`;
    const fields = Array.isArray(p.errors) ? p.errors.map((e) => `${e.field} ${e.message}`).join('; ') : '';
    const code = p.code || (failure instanceof AuthError && failure.status !== 0 ? failure.code : '');
    return `${text}${fields ? ` (${fields})` : ''}${code ? ` [${code}]` : ''}`;
  }

  return { client, AuthError, request, describe };
})();
