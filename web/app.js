// The jwt-auth web page. Tokens travel only in HttpOnly cookies set by the API
// (TOKEN_TRANSPORT=cookie); this script never sees them. State-changing calls that the cookies
// authenticate send the readable `__Host-csrf_token` cookie back in `X-CSRF-Token` (double
// submit; the API also checks it is the token this session's tokens are bound to).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $('status'),
    error: $('error'),
    signedOut: $('signed-out'),
    signedIn: $('signed-in'),
    form: $('auth-form'),
    email: $('email'),
    password: $('password'),
    login: $('login'),
    register: $('register'),
    meEmail: $('me-email'),
    meRole: $('me-role'),
    check: $('check'),
    logout: $('logout'),
  };

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

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }

  function setStatus(message) {
    ui.status.textContent = message;
  }

  function showSignedIn(user) {
    ui.meEmail.textContent = user.email;
    ui.meRole.textContent = user.role;
    ui.signedOut.hidden = true;
    ui.signedIn.hidden = false;
    ui.password.value = '';
    setStatus('Signed in.');
  }

  function showSignedOut(message) {
    ui.meEmail.textContent = '';
    ui.meRole.textContent = '';
    ui.signedIn.hidden = true;
    ui.signedOut.hidden = false;
    setStatus(message);
  }

  function busy(on) {
    for (const b of [ui.login, ui.register, ui.check, ui.logout]) b.disabled = on;
  }

  async function loadMe() {
    const me = await authed('GET', '/auth/me');
    if (me.ok && me.body) {
      showSignedIn(me.body);
    } else if (me.status === 401 || me.status === 403) {
      showSignedOut('Not signed in.');
    } else {
      showSignedOut('Not signed in.');
      showError(describe(me));
    }
    return me.ok;
  }

  async function guarded(action) {
    busy(true);
    showError('');
    try {
      await action();
    } catch (e) {
      showError(`The API could not be reached (${e.message}).`);
    } finally {
      busy(false);
    }
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const path = event.submitter === ui.register ? '/auth/register' : '/auth/login';
    guarded(async () => {
      const credentials = { email: ui.email.value.trim(), password: ui.password.value };
      if (!credentials.email || !credentials.password) {
        showError('Enter an email and a password.');
        return;
      }
      setStatus(path === '/auth/register' ? 'Registering…' : 'Signing in…');
      const result = await call('POST', path, { body: credentials });
      if (!result.ok) {
        setStatus('Not signed in.');
        showError(describe(result));
        ui.password.focus();
        return;
      }
      if (!await loadMe()) showError('Signed in, but /auth/me failed: are cookies enabled?');
    });
  });

  ui.check.addEventListener('click', () => guarded(async () => {
    setStatus('Checking your session…');
    await loadMe();
  }));

  ui.logout.addEventListener('click', () => guarded(async () => {
    const result = await call('POST', '/auth/logout', { body: { scope: 'local' }, csrf: true });
    if (result.ok) {
      ui.email.value = '';
      showSignedOut('Signed out.');
      ui.email.focus();
    } else {
      showError(describe(result));
    }
  }));

  guarded(loadMe);
})();
