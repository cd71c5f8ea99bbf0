// Sign-in with another provider (OpenID Connect, GitHub, Apple) and linked accounts. The page
// starts the flow with its own PKCE pair (the verifier stays in this tab's sessionStorage), the
// API sends the browser to the provider and back to this page with a one-time login code in the
// fragment, and the page trades the code (with the verifier) for the session's cookies.
'use strict';

window.jwtAuthFederation = (() => {
  const { call, authed } = window.jwtAuth;
  const VERIFIER_KEY = 'jwt-auth.pkce-verifier';

  const base64url = (bytes) => btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

  // Where the provider's sign-in comes back to: this page (on OAUTH_REDIRECT_URIS).
  const returnUri = () => `${window.location.origin}/`;

  async function providers() {
    const result = await call('GET', '/auth/oauth/providers');
    return result.ok ? result.body.providers : [];
  }

  async function signIn(provider) {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    sessionStorage.setItem(VERIFIER_KEY, verifier);
    const query = new URLSearchParams({
      redirect_uri: returnUri(),
      code_challenge: base64url(new Uint8Array(digest)),
      code_challenge_method: 'S256',
    });
    window.location.assign(`/auth/oauth/${encodeURIComponent(provider)}/authorize?${query}`);
  }

  // The login code's trade: the token response (cookies set), or a problem (mfa_required, …).
  function exchange(code) {
    const verifier = sessionStorage.getItem(VERIFIER_KEY) || '';
    sessionStorage.removeItem(VERIFIER_KEY);
    return call('POST', '/auth/oauth/token', { body: { code, code_verifier: verifier } });
  }

  const identities = () => authed('GET', '/auth/identities');

  // Linking needs a sign-in within 5 minutes, or the current password (`currentPassword`).
  async function link(provider, currentPassword) {
    const body = { redirect_uri: returnUri() };
    if (currentPassword) body.current_password = currentPassword;
    const result = await authed('POST', `/auth/identities/${encodeURIComponent(provider)}`, { body, csrf: true });
    if (result.ok) window.location.assign(result.body.authorize_url);
    return result;
  }

  const unlink = (provider) => authed('DELETE', `/auth/identities/${encodeURIComponent(provider)}`, { csrf: true });

  const messages = {
    account_exists: 'An account already uses that address. Sign in with your password, then link the provider in your account settings.',
    access_denied: 'The provider did not sign you in (declined, or it gave no email address).',
    account_disabled: 'This account is disabled.',
    invalid_token: 'The sign-in with the provider could not be verified. Try again.',
    provider_unavailable: 'The provider is not answering. Try again in a moment.',
  };
  const describeError = (code) => messages[code] || `The sign-in with the provider failed (${code}).`;

  return { providers, signIn, exchange, identities, link, unlink, describeError };
})();
