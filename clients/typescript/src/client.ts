// The client's core: requests to the API with the session attached (cookies or a bearer token),
// `authFetch` for the app's own API, token responses kept, refresh single-flight, sign-out.
import type { MethodOf, MfaRequired, Parameters, Path, RequestBody, SuccessBody, TokenResponse, User } from './api.js';
import { Coordinator, type TabMessage } from './coordinator.js';
import { AuthError, fromAuthorizer } from './errors.js';
import { MemoryStorage, type StoredTokens, type TokenStorage } from './storage.js';

export type Transport = 'cookies' | 'bearer';

/** Why the session ended: a logout, here or in another tab, or the refresh token refused. */
export type SignedOutReason = 'logout' | 'token_reused' | 'token_revoked' | 'token_expired' | 'invalid_token' | string;

export type AuthEvent =
  | { type: 'signed_in'; user: User }
  | { type: 'refreshed' }
  | { type: 'signed_out'; reason: SignedOutReason };

export interface AuthClientOptions {
  /** The API's origin (and stage path), e.g. `https://auth.example.com`; `''` for the page's own. */
  baseUrl?: string;
  /**
   * `cookies` (browsers: HttpOnly cookies, the CSRF header) or `bearer` (tokens in `storage`).
   * Default: cookies in a page of the API's own origin (the CSRF cookie is readable only there),
   * else bearer.
   */
  transport?: Transport;
  /**
   * Origins besides the API's own that `authFetch` may send the bearer token to (your API's, e.g.
   * `https://api.example.com`). A URL of any other origin is fetched without it.
   */
  apiOrigins?: string[];
  /** Where the bearer transport keeps tokens; memory by default. */
  storage?: TokenStorage;
  fetch?: typeof fetch;
  /** Refresh this many seconds before the access token expires (default 30). */
  refreshAheadSeconds?: number;
  /**
   * Share refreshes and sign-outs with this app's other tabs (a Web Lock, a BroadcastChannel,
   * a localStorage key). Default: on in a browser, off elsewhere — in a server, each client is
   * its own user's.
   */
  shareAcrossTabs?: boolean;
  /** Name of the Web Lock, BroadcastChannel and localStorage key shared by this app's tabs (default: per API origin). */
  channelName?: string;
  onSignedOut?: (reason: SignedOutReason) => void;
}

/** A sign-in's outcome: a session, or the second step it needs. */
export type SignInResult =
  | { status: 'signed_in'; user: User; passwordBreached: boolean }
  | { status: 'mfa_required'; mfaToken: string; methods: MfaRequired['methods']; passkey: MfaRequired['passkey'] | null };

export interface CallOptions<P extends Path, M extends MethodOf<P>> {
  params?: { path?: Record<string, string>; query?: Record<string, string | number | boolean | undefined> };
  body?: RequestBody<P, M>;
  /** Attach the session and refresh it as needed (default true). */
  auth?: boolean;
}

export type { Parameters };

const CSRF_COOKIE = '__Host-csrf_token';
const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SESSION_ENDINGS = new Set(['token_reused', 'token_revoked', 'token_expired', 'invalid_token']);
/** A refresh that hangs would hold every tab's lock: it is given this long. */
const REFRESH_TIMEOUT_MS = 15_000;

export class ClientCore {
  readonly transport: Transport;
  readonly #base: string;
  /** Origins the bearer token and the CSRF header may go to: the API's, and `apiOrigins`. */
  readonly #trusted: Set<string>;
  readonly #storage: TokenStorage;
  readonly #fetch: typeof fetch;
  readonly #aheadMs: number;
  readonly #coordinator: Coordinator;
  readonly #listeners = new Set<(event: AuthEvent) => void>();
  /** Bumped by every token response: a 403 after a refresh in the same generation is a real denial. */
  #generation = 0;
  #denialsAreReal = -1;
  /** The latest access token's lifetime: refreshing "ahead" takes at most half of it. */
  #lifetimeMs = Number.POSITIVE_INFINITY;
  /** Bumped when the session ends: a refresh answer that arrives after that is dropped. */
  #epoch = 0;
  /** The session ended here (the cookies may outlive it): no refresh until the next sign-in. */
  #signedOut = false;

  constructor(options: AuthClientOptions = {}) {
    this.#base = (options.baseUrl ?? '').replace(/\/+$/, '');
    const page = typeof location === 'object' ? location.origin : null;
    const apiOrigin = this.#base ? new URL(this.#base).origin : page;
    this.#trusted = new Set([apiOrigin, ...(options.apiOrigins ?? []).map((o) => new URL(o).origin)].filter(
      (origin): origin is string => typeof origin === 'string',
    ));
    const samePage = typeof document === 'object' && page !== null && apiOrigin === page;
    this.transport = options.transport ?? (samePage ? 'cookies' : 'bearer');
    this.#storage = options.storage ?? new MemoryStorage();
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#aheadMs = (options.refreshAheadSeconds ?? 30) * 1000;
    const tabs = options.shareAcrossTabs ?? typeof document === 'object';
    const channel = options.channelName ?? `jwt-auth:${apiOrigin ?? ''}`;
    this.#coordinator = new Coordinator(channel, tabs, (message) => void this.#fromTab(message));
    if (options.onSignedOut) {
      const onSignedOut = options.onSignedOut;
      this.subscribe((event) => event.type === 'signed_out' && onSignedOut(event.reason));
    }
  }

  /** Calls `listener` on every sign-in, refresh and sign-out (this tab's or another's). Returns the unsubscribe. */
  subscribe(listener: (event: AuthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * `fetch` with the session: the access token attached (or the cookies and CSRF header), a
   * refresh ahead of its expiry, and after API Gateway's 401/403 one refresh and one retry.
   */
  async authFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    if (typeof input !== 'string' && !(input instanceof URL)) {
      throw new TypeError('authFetch takes a URL (string or URL) and init, not a Request: it may send it twice');
    }
    if (await this.#expiringSoon()) {
      try {
        await this.#coordinator.run(() => this.#expiringSoon(), () => this.#refreshNow());
      } catch (error) {
        // The refresh failed (network, 503): a token not yet expired still serves this call.
        if (Date.now() >= (await this.#accessExpiresAt())) throw error;
      }
    }
    const started = Date.now();
    const generation = this.#generation;
    const used = (await this.tokens())?.accessToken;
    const first = await this.#send(input, init, true);
    if (!fromAuthorizer(first) || !(await this.#maySignIn())) return first;
    if (first.status === 403 && this.#denialsAreReal === generation) return first;
    // A stream body is spent by the first send: its answer is the answer.
    if (typeof ReadableStream === 'function' && init.body instanceof ReadableStream) return first;
    const refreshed = await this.#coordinator.run(
      async () =>
        this.transport === 'bearer'
          ? (await this.tokens())?.accessToken === used
          : this.#coordinator.freshness.refreshedAt <= started,
      () => this.#refreshNow(),
    );
    if (!refreshed) return first;
    const retried = await this.#send(input, init, true);
    if (retried.status === 403 && fromAuthorizer(retried)) this.#denialsAreReal = this.#generation;
    return retried;
  }

  /** One typed call to any route of the API; the success body, or an {@link AuthError}. */
  async call<P extends Path, M extends MethodOf<P>>(
    method: M,
    path: P,
    options: CallOptions<P, M> = {},
  ): Promise<SuccessBody<P, M>> {
    const response = await this.#request(method, expand(path, options.params), options.body, options.auth ?? true);
    if (!response.ok) throw await AuthError.from(response);
    return (await readJson(response)) as SuccessBody<P, M>;
  }

  /** Makes the session fresh: one refresh, unless one (here or in another tab) happened since this call. */
  async refresh(): Promise<boolean> {
    const asked = Date.now();
    return this.#coordinator.run(() => this.#coordinator.freshness.refreshedAt <= asked, () => this.#refreshNow());
  }

  /** Resolves once no refresh is running (a logout must not race one). */
  async settled(): Promise<void> {
    await this.#coordinator.idle();
  }

  /** Whether there may be a session to use: tokens stored, or the cookies' CSRF twin present. */
  async isSignedIn(): Promise<boolean> {
    return this.#maySignIn();
  }

  /** The tokens the bearer transport holds (null with cookies). */
  async tokens(): Promise<StoredTokens | null> {
    return this.transport === 'bearer' ? this.#storage.get() : null;
  }

  /** Keeps a token response (bearer: in storage; both: its expiry, told to the other tabs). */
  async accept(response: TokenResponse, signedIn = false): Promise<void> {
    const now = Date.now();
    this.#lifetimeMs = response.expires_in * 1000;
    const accessExpiresAt = now + this.#lifetimeMs;
    let tokens: StoredTokens | undefined;
    if (this.transport === 'bearer') {
      if (!response.access_token || !response.refresh_token) {
        throw new AuthError(0, 'invalid_response', 'The API sent no tokens: start it with TOKEN_TRANSPORT=body or both');
      }
      tokens = { accessToken: response.access_token, refreshToken: response.refresh_token, accessExpiresAt };
      await this.#storage.set(tokens);
    }
    this.#generation += 1;
    this.#signedOut = false;
    const user = signedIn ? response.user : undefined;
    this.#coordinator.announceTokens({ refreshedAt: now, accessExpiresAt }, tokens, user);
    this.#emit(user ? { type: 'signed_in', user } : { type: 'refreshed' });
  }

  /** A login-shaped answer: tokens (kept), the MFA step, or the error. */
  async signInResult(response: Response): Promise<SignInResult> {
    if (response.ok) {
      const tokens = (await readJson(response)) as TokenResponse;
      await this.accept(tokens, true);
      return { status: 'signed_in', user: tokens.user, passwordBreached: tokens.password_breached === true };
    }
    const error = await AuthError.from(response);
    if (error.code === 'mfa_required' && error.problem) {
      const step = error.problem as unknown as MfaRequired;
      return { status: 'mfa_required', mfaToken: step.mfa_token, methods: step.methods, passkey: step.passkey ?? null };
    }
    throw error;
  }

  /** Ends the session here (storage, other tabs) after a logout or a refused refresh token. */
  async endSession(reason: SignedOutReason): Promise<void> {
    await this.#storage.clear();
    this.#generation += 1;
    this.#epoch += 1;
    this.#signedOut = true;
    this.#coordinator.announceSignedOut(reason);
    this.#emit({ type: 'signed_out', reason });
  }

  /** The request behind every route: JSON body, the session when `auth`. */
  async request(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
    return this.#request(method, path, body, auth);
  }

  /** `fetch` to the API without the session's token (the cookie transport's cookies and CSRF header still go). */
  async authlessFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    return this.#send(input, init, false);
  }

  /** The bearer transport's refresh token, for a logout's body. */
  async refreshToken(): Promise<string | null> {
    return this.transport === 'bearer' ? ((await this.#storage.get())?.refreshToken ?? null) : null;
  }

  close(): void {
    this.#coordinator.close();
  }

  async #request(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
    const init: RequestInit = { method: method.toUpperCase() };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    return auth ? this.authFetch(path, init) : this.#send(path, init, false);
  }

  async #refreshNow(): Promise<boolean> {
    let body: Record<string, string> = {};
    if (this.transport === 'bearer') {
      const stored = await this.#storage.get();
      if (!stored) return false;
      body = { refresh_token: stored.refreshToken };
    }
    const epoch = this.#epoch;
    const init: RequestInit = {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS),
    };
    const response = await this.#send('/auth/refresh', init, false);
    if (epoch !== this.#epoch) return false; // signed out meanwhile: these tokens are not kept
    if (response.ok) {
      await this.accept((await readJson(response)) as TokenResponse);
      return true;
    }
    const error = await AuthError.from(response);
    if (response.status === 401 && SESSION_ENDINGS.has(error.code)) {
      await this.endSession(error.code);
      return false;
    }
    throw error;
  }

  async #send(input: string | URL, init: RequestInit, withSession: boolean): Promise<Response> {
    const url = this.#url(input);
    const headers = new Headers(init.headers);
    if (!headers.has('Accept')) headers.set('Accept', 'application/json, application/problem+json');
    const method = (init.method ?? 'GET').toUpperCase();
    const request: RequestInit = { ...init, headers };
    if (this.transport === 'cookies') {
      request.credentials = 'include';
      const csrf = readCookie(CSRF_COOKIE);
      if (csrf && !SAFE_METHODS.has(method) && this.#isTrusted(url)) headers.set(CSRF_HEADER, csrf);
    } else if (withSession && !headers.has('Authorization') && this.#isTrusted(url)) {
      const stored = await this.#storage.get();
      if (stored) headers.set('Authorization', `Bearer ${stored.accessToken}`);
    }
    try {
      return await this.#fetch(url, request);
    } catch (cause) {
      throw new AuthError(0, 'network_error', `The API could not be reached (${(cause as Error).message})`);
    }
  }

  /** The address of an API path (absolute addresses unchanged). */
  url(input: string | URL): string {
    return this.#url(input);
  }

  /** An absolute URL as given; a path (`/…`) under the API's base, stage path included. */
  #url(input: string | URL): string {
    const text = String(input);
    if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
    if (!text.startsWith('/') || text.startsWith('//')) {
      throw new TypeError(`a path starting with "/" or an absolute URL, not ${JSON.stringify(text)}`);
    }
    return `${this.#base}${text}`;
  }

  /** Whether a URL is the API's own or one of `apiOrigins` (tokens and the CSRF token go nowhere else). */
  #isTrusted(url: string): boolean {
    const page = typeof location === 'object' ? location.href : undefined;
    try {
      return this.#trusted.has(new URL(url, page).origin);
    } catch {
      return false;
    }
  }

  async #expiringSoon(): Promise<boolean> {
    const expiresAt = await this.#accessExpiresAt();
    return expiresAt > 0 && Date.now() + Math.min(this.#aheadMs, this.#lifetimeMs / 2) >= expiresAt;
  }

  async #accessExpiresAt(): Promise<number> {
    if (this.transport === 'bearer') return (await this.#storage.get())?.accessExpiresAt ?? 0;
    return this.#coordinator.freshness.accessExpiresAt;
  }

  async #maySignIn(): Promise<boolean> {
    if (this.#signedOut) return false;
    if (this.transport === 'bearer') return (await this.#storage.get()) !== null;
    return readCookie(CSRF_COOKIE) !== null;
  }

  async #fromTab(message: TabMessage): Promise<void> {
    this.#generation += 1;
    if (message.type === 'signed_out') {
      this.#epoch += 1;
      this.#signedOut = true;
      await this.#storage.clear();
      this.#emit({ type: 'signed_out', reason: message.reason });
      return;
    }
    this.#signedOut = false;
    if (this.transport === 'bearer' && message.tokens) await this.#storage.set(message.tokens);
    this.#emit(message.user ? { type: 'signed_in', user: message.user } : { type: 'refreshed' });
  }

  #emit(event: AuthEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

function expand(path: string, params?: CallOptions<Path, never>['params']): string {
  let out = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.path?.[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = Object.entries(params?.query ?? {}).filter(([, v]) => v !== undefined);
  if (query.length) out += `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}`;
  return out;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AuthError(response.status, 'invalid_response', 'The answer is not JSON');
  }
}

function readCookie(name: string): string | null {
  if (typeof document !== 'object') return null;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}
