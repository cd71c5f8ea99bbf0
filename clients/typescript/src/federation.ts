// Sign-in with another provider (Google, Microsoft, Apple, GitHub, any OpenID provider): the API
// sends the browser to the provider and back to the app with a one-time login code in the
// fragment; the app trades it, with the PKCE verifier only it holds, for the session.
import { toBase64url as base64url } from './base64url.js';
import type { ClientCore, SignInResult } from './client.js';

const VERIFIER_KEY = 'jwt-auth.pkce-verifier';

export interface Provider {
  id: string;
  name: string;
}

/** What the provider's sign-in came back with, read from the page's fragment. */
export type ProviderReturn =
  | { kind: 'code'; code: string }
  | { kind: 'error'; error: string }
  | { kind: 'linked'; provider: string }
  | { kind: 'none' };

export class Federation {
  readonly #client: ClientCore;

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** The providers this deployment offers. */
  async providers(): Promise<Provider[]> {
    return (await this.#client.call('get', '/auth/oauth/providers', { auth: false })).providers;
  }

  /**
   * The path (on the API) that starts a sign-in with `provider`, coming back to `redirectUri`
   * (one of `OAUTH_REDIRECT_URIS`), and the PKCE verifier to keep until the code comes back.
   */
  async begin(provider: string, redirectUri: string): Promise<{ url: string; verifier: string }> {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    const query = new URLSearchParams({
      redirect_uri: redirectUri,
      code_challenge: base64url(new Uint8Array(digest)),
      code_challenge_method: 'S256',
    });
    return { url: `/auth/oauth/${encodeURIComponent(provider)}/authorize?${query}`, verifier };
  }

  /** In a browser: keeps the verifier in this tab's sessionStorage and goes to the provider. */
  async signIn(provider: string, redirectUri = `${location.origin}/`): Promise<void> {
    const { url, verifier } = await this.begin(provider, redirectUri);
    sessionStorage.setItem(VERIFIER_KEY, verifier);
    location.assign(this.#client.url(url));
  }

  /** Trades a login code (and its verifier) for the session, or the second step it needs. */
  async exchange(code: string, verifier: string): Promise<SignInResult> {
    return this.#client.signInResult(
      await this.#client.request('POST', '/auth/oauth/token', { code, code_verifier: verifier }, false),
    );
  }

  /** Reads what the provider's sign-in came back with (`#code=`, `#error=`, `#linked=`) and drops it from the address bar. */
  static returned(): ProviderReturn {
    if (typeof location !== 'object' || !location.hash) return { kind: 'none' };
    const fragment = new URLSearchParams(location.hash.slice(1));
    const code = fragment.get('code');
    const error = fragment.get('error');
    const linked = fragment.get('linked');
    if (!code && !error && !linked) return { kind: 'none' };
    history.replaceState(null, '', location.pathname + location.search);
    if (code) return { kind: 'code', code };
    if (error) return { kind: 'error', error };
    return { kind: 'linked', provider: linked ?? '' };
  }

  /** In a browser: trades the code this page came back with, using the verifier `signIn` kept. */
  async complete(code: string): Promise<SignInResult> {
    const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? '';
    sessionStorage.removeItem(VERIFIER_KEY);
    return this.exchange(code, verifier);
  }

  /** The providers linked to the signed-in account. */
  async identities() {
    return (await this.#client.call('get', '/auth/identities')).identities;
  }

  /**
   * The provider's address to link it to the signed-in account (a sign-in within 5 minutes, or
   * the current password). In a browser, `go` (the default) goes there.
   */
  async link(provider: string, options: { redirectUri?: string; currentPassword?: string; go?: boolean } = {}): Promise<string> {
    const body: { redirect_uri?: string; current_password?: string } = {};
    const redirectUri = options.redirectUri ?? (typeof location === 'object' ? `${location.origin}/` : undefined);
    if (redirectUri) body.redirect_uri = redirectUri;
    if (options.currentPassword) body.current_password = options.currentPassword;
    const { authorize_url: url } = await this.#client.call('post', '/auth/identities/{provider}', {
      params: { path: { provider } },
      body,
    });
    if (options.go !== false && typeof location === 'object') location.assign(url);
    return url;
  }

  /** Unlinks a provider (refused `conflict` when it is the account's last way in). */
  async unlink(provider: string): Promise<void> {
    await this.#client.call('delete', '/auth/identities/{provider}', { params: { path: { provider } } });
  }
}
