// Sign-in with another provider (OpenID Connect, GitHub, Apple) and linked accounts, through the
// client (client.federation): the page starts the flow with its own PKCE pair (the verifier
// stays in this tab's sessionStorage), the API sends the browser to the provider and back to
// this page with a one-time login code in the fragment, and the page trades the code (with the
// verifier) for the session's cookies. Here: what the page says when a provider's sign-in fails.
'use strict';

window.jwtAuthFederation = (() => {
  const messages = {
    account_exists: 'An account already uses that address. Sign in with your password, then link the provider in your account settings.',
    access_denied: 'The provider did not sign you in (declined, or it gave no email address).',
    account_disabled: 'This account is disabled.',
    invalid_token: 'The sign-in with the provider could not be verified. Try again.',
    provider_unavailable: 'The provider is not answering. Try again in a moment.',
  };
  const describeError = (code) => messages[code] || `The sign-in with the provider failed (${code}).`;

  return { describeError };
})();
