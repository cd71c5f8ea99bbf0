// What both pages of the web app share: calls to the API with the session's cookies, the CSRF
// header on the calls that change something, one silent refresh at a time, and problem
// details as one readable line. The pages never see a token: they live in HttpOnly cookies.
'use strict';

window.jwtAuth = (() => {
  function csrfToken() {
    for (const part of document.cookie.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name === '__Host-csrf_token') return decodeURIComponent(rest.join('='));
    }
    return '';
  }

  // One request to the API. Resolves to {status, ok, body}; never throws for HTTP errors.
  async function call(method, path, { body, csrf = false } = {}) {
    const headers = { Accept: 'application/json, application/problem+json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (csrf) {
      const token = csrfToken();
      if (token) headers['X-CSRF-Token'] = token;
    }
    const response = await fetch(path, init);
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

  // Silent refresh: one in flight at a time, shared by every caller that needs it.
  let refreshing = null;
  function refresh() {
    if (!refreshing) {
      refreshing = call('POST', '/auth/refresh', { body: {}, csrf: true })
        .then((r) => r.ok)
        .catch(() => false)
        .finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // A call authenticated by the access cookie. The authorizer answers 401 (no token) or 403
  // (token refused, e.g. expired); then, if a session may exist (the CSRF cookie lives as long as
  // the refresh token), refresh once and retry once.
  async function authed(method, path, options) {
    const first = await call(method, path, options);
    if ((first.status === 401 || first.status === 403) && csrfToken() && await refresh()) {
      return call(method, path, options);
    }
    return first;
  }

  function describe(result) {
    const p = result.body || {};
    const text = [p.title, p.detail].filter(Boolean).join(': ') || p.message || `HTTP ${result.status}`;
    const fields = Array.isArray(p.errors)
      ? p.errors.map((e) => `${e.field} ${e.message}`).join('; ')
      : '';
    return `${text}${fields ? ` (${fields})` : ''}${p.code ? ` [${p.code}]` : ''}`;
  }

  return { csrfToken, call, refresh, authed, describe };
})();
