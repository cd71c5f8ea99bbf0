// Generated from clients/typescript/src by `npm run bundle` (esbuild): do not edit.
"use strict";
var JwtAuthClient = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/index.ts
  var index_exports = {};
  __export(index_exports, {
    AuthClient: () => AuthClient,
    AuthError: () => AuthError,
    Federation: () => Federation,
    MemoryStorage: () => MemoryStorage,
    Passkeys: () => Passkeys,
    createAuthClient: () => createAuthClient,
    linkToken: () => linkToken,
    webStorage: () => webStorage
  });

  // src/coordinator.ts
  var Coordinator = class {
    #name;
    #tabs;
    #channel;
    #marker;
    #flight = null;
    #state = { refreshedAt: 0, accessExpiresAt: 0 };
    /** `tabs`: share with the app's other tabs; off, this is one client's own single flight. */
    constructor(name, tabs, onMessage) {
      this.#name = name;
      this.#tabs = tabs;
      this.#marker = tabs ? localStorageIfAny() : null;
      this.#readMarker();
      this.#channel = tabs && typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
      this.#channel?.addEventListener("message", (event) => {
        const message = event.data;
        if (message.type === "tokens") this.#note(message);
        else this.#state = { refreshedAt: Date.now(), accessExpiresAt: 0 };
        onMessage(message);
      });
    }
    get freshness() {
      return this.#state;
    }
    /** Records a token response of this tab and tells the others. */
    announceTokens(freshness, tokens, user) {
      this.#note(freshness);
      this.#marker?.setItem(`${this.#name}.freshness`, JSON.stringify(this.#state));
      this.#channel?.postMessage({ type: "tokens", ...freshness, tokens, user });
    }
    /** Resolves once this tab's refresh in flight (if any) has ended. */
    async idle() {
      await this.#flight?.catch(() => false);
    }
    /** Records that the session ended here and tells the others. */
    announceSignedOut(reason) {
      this.#state = { refreshedAt: Date.now(), accessExpiresAt: 0 };
      this.#marker?.removeItem(`${this.#name}.freshness`);
      this.#channel?.postMessage({ type: "signed_out", reason });
    }
    /**
     * Runs `refresh` once for every caller that asks while it runs, in this tab and, holding the
     * lock, in every other; `stillNeeded` is asked under the lock, after what other tabs did is known.
     */
    run(stillNeeded, refresh) {
      if (this.#flight) return this.#flight;
      const flight = this.#locked(async (waited) => {
        this.#readMarker();
        if (waited) return true;
        return await stillNeeded() ? refresh() : true;
      }).finally(() => {
        if (this.#flight === flight) this.#flight = null;
      });
      this.#flight = flight;
      return flight;
    }
    close() {
      this.#channel?.close();
    }
    #note(freshness) {
      if (freshness.refreshedAt >= this.#state.refreshedAt) {
        this.#state = { refreshedAt: freshness.refreshedAt, accessExpiresAt: freshness.accessExpiresAt };
      }
    }
    #readMarker() {
      const text = this.#marker?.getItem(`${this.#name}.freshness`);
      if (!text) return;
      try {
        const seen = JSON.parse(text);
        if (Number.isFinite(seen.refreshedAt) && Number.isFinite(seen.accessExpiresAt)) this.#note(seen);
      } catch {
      }
    }
    /** Runs `task` holding the tabs' lock; `waited`: another tab held it first. */
    #locked(task) {
      const locks = this.#tabs ? globalThis.navigator?.locks : void 0;
      if (!locks) return task(false);
      const name = `${this.#name}.refresh`;
      return locks.request(
        name,
        { ifAvailable: true },
        (lock) => lock ? task(false) : locks.request(name, {}, () => task(true))
      );
    }
  };
  function localStorageIfAny() {
    try {
      return typeof localStorage === "object" && localStorage !== null ? localStorage : null;
    } catch {
      return null;
    }
  }

  // src/errors.ts
  var AuthError = class _AuthError extends Error {
    name = "AuthError";
    /** HTTP status, 0 when no answer came. */
    status;
    code;
    /** The problem details as the API sent them (with members such as `mfa_token`). */
    problem;
    /** Seconds from `Retry-After`, on 429 and 503. */
    retryAfter;
    constructor(status, code, message, problem = null, retryAfter = null) {
      super(message);
      this.status = status;
      this.code = code;
      this.problem = problem;
      this.retryAfter = retryAfter;
    }
    /** The fields at fault, with `validation_failed`. */
    get fields() {
      return Array.isArray(this.problem?.errors) ? this.problem.errors : [];
    }
    /** The answer of a failed call, read once. */
    static async from(response) {
      const text = await response.text().catch(() => "");
      const retry = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
      const retryAfter = Number.isFinite(retry) ? retry : null;
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (isProblem(body)) {
        const message = [body.title, body.detail].filter(Boolean).join(": ");
        return new _AuthError(response.status, body.code, message, body, retryAfter);
      }
      if (response.status === 401) return new _AuthError(401, "unauthorized", "Unauthorized", null, retryAfter);
      if (response.status === 403) return new _AuthError(403, "forbidden", "Forbidden", null, retryAfter);
      const code = response.status === 503 ? "unavailable" : "invalid_response";
      return new _AuthError(response.status, code, `HTTP ${response.status}`, null, retryAfter);
    }
  };
  function isProblem(body) {
    return typeof body === "object" && body !== null && typeof body.code === "string";
  }
  function fromAuthorizer(response) {
    return (response.status === 401 || response.status === 403) && !(response.headers.get("content-type") ?? "").includes("problem+json");
  }

  // src/storage.ts
  var MemoryStorage = class {
    #tokens = null;
    get() {
      return this.#tokens;
    }
    set(tokens) {
      this.#tokens = { ...tokens };
    }
    clear() {
      this.#tokens = null;
    }
  };
  function webStorage(storage, key = "jwt-auth.tokens") {
    return {
      get() {
        const text = storage.getItem(key);
        if (!text) return null;
        try {
          return JSON.parse(text);
        } catch {
          return null;
        }
      },
      set(tokens) {
        storage.setItem(key, JSON.stringify(tokens));
      },
      clear() {
        storage.removeItem(key);
      }
    };
  }

  // src/client.ts
  var CSRF_COOKIE = "__Host-csrf_token";
  var CSRF_HEADER = "X-CSRF-Token";
  var SAFE_METHODS = /* @__PURE__ */ new Set(["GET", "HEAD", "OPTIONS"]);
  var SESSION_ENDINGS = /* @__PURE__ */ new Set(["token_reused", "token_revoked", "token_expired", "invalid_token"]);
  var REFRESH_TIMEOUT_MS = 15e3;
  var ClientCore = class {
    transport;
    #base;
    /** Origins the bearer token and the CSRF header may go to: the API's, and `apiOrigins`. */
    #trusted;
    #storage;
    #fetch;
    #aheadMs;
    #coordinator;
    #listeners = /* @__PURE__ */ new Set();
    /** Bumped by every token response: a 403 after a refresh in the same generation is a real denial. */
    #generation = 0;
    #denialsAreReal = -1;
    /** The latest access token's lifetime: refreshing "ahead" takes at most half of it. */
    #lifetimeMs = Number.POSITIVE_INFINITY;
    /** Bumped when the session ends: a refresh answer that arrives after that is dropped. */
    #epoch = 0;
    /** The session ended here (the cookies may outlive it): no refresh until the next sign-in. */
    #signedOut = false;
    constructor(options = {}) {
      this.#base = (options.baseUrl ?? "").replace(/\/+$/, "");
      const page = typeof location === "object" ? location.origin : null;
      const apiOrigin = this.#base ? new URL(this.#base).origin : page;
      this.#trusted = new Set([apiOrigin, ...(options.apiOrigins ?? []).map((o) => new URL(o).origin)].filter(
        (origin) => typeof origin === "string"
      ));
      const samePage = typeof document === "object" && page !== null && apiOrigin === page;
      this.transport = options.transport ?? (samePage ? "cookies" : "bearer");
      this.#storage = options.storage ?? new MemoryStorage();
      this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
      this.#aheadMs = (options.refreshAheadSeconds ?? 30) * 1e3;
      const tabs = options.shareAcrossTabs ?? typeof document === "object";
      const channel = options.channelName ?? `jwt-auth:${apiOrigin ?? ""}`;
      this.#coordinator = new Coordinator(channel, tabs, (message) => void this.#fromTab(message));
      if (options.onSignedOut) {
        const onSignedOut = options.onSignedOut;
        this.subscribe((event) => event.type === "signed_out" && onSignedOut(event.reason));
      }
    }
    /** Calls `listener` on every sign-in, refresh and sign-out (this tab's or another's). Returns the unsubscribe. */
    subscribe(listener) {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    }
    /**
     * `fetch` with the session: the access token attached (or the cookies and CSRF header), a
     * refresh ahead of its expiry, and after API Gateway's 401/403 one refresh and one retry.
     */
    async authFetch(input, init = {}) {
      if (typeof input !== "string" && !(input instanceof URL)) {
        throw new TypeError("authFetch takes a URL (string or URL) and init, not a Request: it may send it twice");
      }
      if (await this.#expiringSoon()) {
        try {
          await this.#coordinator.run(() => this.#expiringSoon(), () => this.#refreshNow());
        } catch (error) {
          if (Date.now() >= await this.#accessExpiresAt()) throw error;
        }
      }
      const started = Date.now();
      const generation = this.#generation;
      const used = (await this.tokens())?.accessToken;
      const first = await this.#send(input, init, true);
      if (!fromAuthorizer(first) || !await this.#maySignIn()) return first;
      if (first.status === 403 && this.#denialsAreReal === generation) return first;
      if (typeof ReadableStream === "function" && init.body instanceof ReadableStream) return first;
      const refreshed = await this.#coordinator.run(
        async () => this.transport === "bearer" ? (await this.tokens())?.accessToken === used : this.#coordinator.freshness.refreshedAt <= started,
        () => this.#refreshNow()
      );
      if (!refreshed) return first;
      const retried = await this.#send(input, init, true);
      if (retried.status === 403 && fromAuthorizer(retried)) this.#denialsAreReal = this.#generation;
      return retried;
    }
    /** One typed call to any route of the API; the success body, or an {@link AuthError}. */
    async call(method, path, options = {}) {
      const response = await this.#request(method, expand(path, options.params), options.body, options.auth ?? true);
      if (!response.ok) throw await AuthError.from(response);
      return await readJson(response);
    }
    /** Makes the session fresh: one refresh, unless one (here or in another tab) happened since this call. */
    async refresh() {
      const asked = Date.now();
      return this.#coordinator.run(() => this.#coordinator.freshness.refreshedAt <= asked, () => this.#refreshNow());
    }
    /** Resolves once no refresh is running (a logout must not race one). */
    async settled() {
      await this.#coordinator.idle();
    }
    /** Whether there may be a session to use: tokens stored, or the cookies' CSRF twin present. */
    async isSignedIn() {
      return this.#maySignIn();
    }
    /** The tokens the bearer transport holds (null with cookies). */
    async tokens() {
      return this.transport === "bearer" ? this.#storage.get() : null;
    }
    /** Keeps a token response (bearer: in storage; both: its expiry, told to the other tabs). */
    async accept(response, signedIn = false) {
      const now = Date.now();
      this.#lifetimeMs = response.expires_in * 1e3;
      const accessExpiresAt = now + this.#lifetimeMs;
      let tokens;
      if (this.transport === "bearer") {
        if (!response.access_token || !response.refresh_token) {
          throw new AuthError(0, "invalid_response", "The API sent no tokens: start it with TOKEN_TRANSPORT=body or both");
        }
        tokens = { accessToken: response.access_token, refreshToken: response.refresh_token, accessExpiresAt };
        await this.#storage.set(tokens);
      }
      this.#generation += 1;
      this.#signedOut = false;
      const user = signedIn ? response.user : void 0;
      this.#coordinator.announceTokens({ refreshedAt: now, accessExpiresAt }, tokens, user);
      this.#emit(user ? { type: "signed_in", user } : { type: "refreshed" });
    }
    /** A login-shaped answer: tokens (kept), the MFA step, or the error. */
    async signInResult(response) {
      if (response.ok) {
        const tokens = await readJson(response);
        await this.accept(tokens, true);
        return { status: "signed_in", user: tokens.user, passwordBreached: tokens.password_breached === true };
      }
      const error = await AuthError.from(response);
      if (error.code === "mfa_required" && error.problem) {
        const step = error.problem;
        return { status: "mfa_required", mfaToken: step.mfa_token, methods: step.methods, passkey: step.passkey ?? null };
      }
      throw error;
    }
    /** Ends the session here (storage, other tabs) after a logout or a refused refresh token. */
    async endSession(reason) {
      await this.#storage.clear();
      this.#generation += 1;
      this.#epoch += 1;
      this.#signedOut = true;
      this.#coordinator.announceSignedOut(reason);
      this.#emit({ type: "signed_out", reason });
    }
    /** The request behind every route: JSON body, the session when `auth`. */
    async request(method, path, body, auth) {
      return this.#request(method, path, body, auth);
    }
    /** `fetch` to the API without the session's token (the cookie transport's cookies and CSRF header still go). */
    async authlessFetch(input, init = {}) {
      return this.#send(input, init, false);
    }
    /** The bearer transport's refresh token, for a logout's body. */
    async refreshToken() {
      return this.transport === "bearer" ? (await this.#storage.get())?.refreshToken ?? null : null;
    }
    close() {
      this.#coordinator.close();
    }
    async #request(method, path, body, auth) {
      const init = { method: method.toUpperCase() };
      if (body !== void 0) {
        init.body = JSON.stringify(body);
        init.headers = { "Content-Type": "application/json" };
      }
      return auth ? this.authFetch(path, init) : this.#send(path, init, false);
    }
    async #refreshNow() {
      let body = {};
      if (this.transport === "bearer") {
        const stored = await this.#storage.get();
        if (!stored) return false;
        body = { refresh_token: stored.refreshToken };
      }
      const epoch = this.#epoch;
      const init = {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" },
        signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS)
      };
      const response = await this.#send("/auth/refresh", init, false);
      if (epoch !== this.#epoch) return false;
      if (response.ok) {
        await this.accept(await readJson(response));
        return true;
      }
      const error = await AuthError.from(response);
      if (response.status === 401 && SESSION_ENDINGS.has(error.code)) {
        await this.endSession(error.code);
        return false;
      }
      throw error;
    }
    async #send(input, init, withSession) {
      const url = this.#url(input);
      const headers = new Headers(init.headers);
      if (!headers.has("Accept")) headers.set("Accept", "application/json, application/problem+json");
      const method = (init.method ?? "GET").toUpperCase();
      const request = { ...init, headers };
      if (this.transport === "cookies") {
        request.credentials = "include";
        const csrf = readCookie(CSRF_COOKIE);
        if (csrf && !SAFE_METHODS.has(method) && this.#isTrusted(url)) headers.set(CSRF_HEADER, csrf);
      } else if (withSession && !headers.has("Authorization") && this.#isTrusted(url)) {
        const stored = await this.#storage.get();
        if (stored) headers.set("Authorization", `Bearer ${stored.accessToken}`);
      }
      try {
        return await this.#fetch(url, request);
      } catch (cause) {
        throw new AuthError(0, "network_error", `The API could not be reached (${cause.message})`);
      }
    }
    /** The address of an API path (absolute addresses unchanged). */
    url(input) {
      return this.#url(input);
    }
    /** An absolute URL as given; a path (`/…`) under the API's base, stage path included. */
    #url(input) {
      const text = String(input);
      if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
      if (!text.startsWith("/") || text.startsWith("//")) {
        throw new TypeError(`a path starting with "/" or an absolute URL, not ${JSON.stringify(text)}`);
      }
      return `${this.#base}${text}`;
    }
    /** Whether a URL is the API's own or one of `apiOrigins` (tokens and the CSRF token go nowhere else). */
    #isTrusted(url) {
      const page = typeof location === "object" ? location.href : void 0;
      try {
        return this.#trusted.has(new URL(url, page).origin);
      } catch {
        return false;
      }
    }
    async #expiringSoon() {
      const expiresAt = await this.#accessExpiresAt();
      return expiresAt > 0 && Date.now() + Math.min(this.#aheadMs, this.#lifetimeMs / 2) >= expiresAt;
    }
    async #accessExpiresAt() {
      if (this.transport === "bearer") return (await this.#storage.get())?.accessExpiresAt ?? 0;
      return this.#coordinator.freshness.accessExpiresAt;
    }
    async #maySignIn() {
      if (this.#signedOut) return false;
      if (this.transport === "bearer") return await this.#storage.get() !== null;
      return readCookie(CSRF_COOKIE) !== null;
    }
    async #fromTab(message) {
      this.#generation += 1;
      if (message.type === "signed_out") {
        this.#epoch += 1;
        this.#signedOut = true;
        await this.#storage.clear();
        this.#emit({ type: "signed_out", reason: message.reason });
        return;
      }
      this.#signedOut = false;
      if (this.transport === "bearer" && message.tokens) await this.#storage.set(message.tokens);
      this.#emit(message.user ? { type: "signed_in", user: message.user } : { type: "refreshed" });
    }
    #emit(event) {
      for (const listener of this.#listeners) listener(event);
    }
  };
  function expand(path, params) {
    let out = path.replace(/\{([^}]+)\}/g, (_, name) => {
      const value = params?.path?.[name];
      if (value === void 0) throw new TypeError(`missing path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const query = Object.entries(params?.query ?? {}).filter(([, v]) => v !== void 0);
    if (query.length) out += `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}`;
    return out;
  }
  async function readJson(response) {
    const text = await response.text();
    if (!text) return void 0;
    try {
      return JSON.parse(text);
    } catch {
      throw new AuthError(response.status, "invalid_response", "The answer is not JSON");
    }
  }
  function readCookie(name) {
    if (typeof document !== "object") return null;
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return null;
  }

  // src/email.ts
  var EmailFlows = class {
    #client;
    constructor(client) {
      this.#client = client;
    }
    /** Confirms an address with a verification link's token. */
    async verify(token) {
      return (await this.#client.call("post", "/auth/email/verify", { body: { token }, auth: false })).user;
    }
    /** Sends a new verification link (answers the same whether or not the address has an account). */
    async resendVerification(email) {
      await this.#client.call("post", "/auth/email/verify/resend", { body: { email }, auth: false });
    }
    /** Mails a reset link (answers the same whether or not the address has an account). */
    async forgotPassword(email) {
      await this.#client.call("post", "/auth/password/forgot", { body: { email }, auth: false });
    }
    /** Sets a new password with a reset link's token; every session of the account ends. */
    async resetPassword(token, newPassword) {
      await this.#client.call("post", "/auth/password/reset", { body: { token, new_password: newPassword }, auth: false });
    }
    /** Mails a confirmation link to `newEmail`; the address changes when it is opened. */
    async change(newEmail, currentPassword) {
      await this.#client.call("post", "/auth/email", { body: { new_email: newEmail, current_password: currentPassword } });
    }
  };
  function linkToken() {
    if (typeof location !== "object" || !location.hash) return null;
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) history.replaceState(null, "", location.pathname + location.search);
    return token;
  }

  // src/base64url.ts
  function toBase64url(buffer) {
    const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64url(text) {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(plain.length);
    for (let i = 0; i < plain.length; i += 1) bytes[i] = plain.charCodeAt(i);
    return bytes.buffer;
  }

  // src/federation.ts
  var VERIFIER_KEY = "jwt-auth.pkce-verifier";
  var Federation = class {
    #client;
    constructor(client) {
      this.#client = client;
    }
    /** The providers this deployment offers. */
    async providers() {
      return (await this.#client.call("get", "/auth/oauth/providers", { auth: false })).providers;
    }
    /**
     * The path (on the API) that starts a sign-in with `provider`, coming back to `redirectUri`
     * (one of `OAUTH_REDIRECT_URIS`), and the PKCE verifier to keep until the code comes back.
     */
    async begin(provider, redirectUri) {
      const verifier = toBase64url(crypto.getRandomValues(new Uint8Array(32)));
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
      const query = new URLSearchParams({
        redirect_uri: redirectUri,
        code_challenge: toBase64url(new Uint8Array(digest)),
        code_challenge_method: "S256"
      });
      return { url: `/auth/oauth/${encodeURIComponent(provider)}/authorize?${query}`, verifier };
    }
    /** In a browser: keeps the verifier in this tab's sessionStorage and goes to the provider. */
    async signIn(provider, redirectUri = `${location.origin}/`) {
      const { url, verifier } = await this.begin(provider, redirectUri);
      sessionStorage.setItem(VERIFIER_KEY, verifier);
      location.assign(this.#client.url(url));
    }
    /** Trades a login code (and its verifier) for the session, or the second step it needs. */
    async exchange(code, verifier) {
      return this.#client.signInResult(
        await this.#client.request("POST", "/auth/oauth/token", { code, code_verifier: verifier }, false)
      );
    }
    /** Reads what the provider's sign-in came back with (`#code=`, `#error=`, `#linked=`) and drops it from the address bar. */
    static returned() {
      if (typeof location !== "object" || !location.hash) return { kind: "none" };
      const fragment = new URLSearchParams(location.hash.slice(1));
      const code = fragment.get("code");
      const error = fragment.get("error");
      const linked = fragment.get("linked");
      if (!code && !error && !linked) return { kind: "none" };
      history.replaceState(null, "", location.pathname + location.search);
      if (code) return { kind: "code", code };
      if (error) return { kind: "error", error };
      return { kind: "linked", provider: linked ?? "" };
    }
    /** In a browser: trades the code this page came back with, using the verifier `signIn` kept. */
    async complete(code) {
      const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? "";
      sessionStorage.removeItem(VERIFIER_KEY);
      return this.exchange(code, verifier);
    }
    /** The providers linked to the signed-in account. */
    async identities() {
      return (await this.#client.call("get", "/auth/identities")).identities;
    }
    /**
     * The provider's address to link it to the signed-in account (a sign-in within 5 minutes, or
     * the current password). In a browser, `go` (the default) goes there.
     */
    async link(provider, options = {}) {
      const body = {};
      const redirectUri = options.redirectUri ?? (typeof location === "object" ? `${location.origin}/` : void 0);
      if (redirectUri) body.redirect_uri = redirectUri;
      if (options.currentPassword) body.current_password = options.currentPassword;
      const { authorize_url: url } = await this.#client.call("post", "/auth/identities/{provider}", {
        params: { path: { provider } },
        body
      });
      if (options.go !== false && typeof location === "object") location.assign(url);
      return url;
    }
    /** Unlinks a provider (refused `conflict` when it is the account's last way in). */
    async unlink(provider) {
      await this.#client.call("delete", "/auth/identities/{provider}", { params: { path: { provider } } });
    }
  };

  // src/mfa.ts
  var Mfa = class {
    #client;
    constructor(client) {
      this.#client = client;
    }
    /** Starts an enrolment: the key (`secret`), its `otpauth://` URI and a QR code (SVG). */
    async startTotp() {
      return this.#client.call("post", "/auth/mfa/totp");
    }
    /** Confirms the enrolment with a first code and the password; returns the recovery codes, shown once. */
    async confirmTotp(code, currentPassword) {
      const response = await this.#client.request(
        "POST",
        "/auth/mfa/totp/confirm",
        { code, current_password: currentPassword },
        true
      );
      if (!response.ok) throw await AuthError.from(response);
      const body = await response.json();
      await this.#client.accept(body);
      return body.recovery_codes;
    }
    /** Turns two-step sign-in off with a current code or a recovery code. */
    async disableTotp(factor) {
      const body = "code" in factor ? { code: factor.code } : { recovery_code: factor.recoveryCode };
      await this.#client.call("delete", "/auth/mfa/totp", { body });
    }
  };

  // src/passkeys.ts
  var Passkeys = class {
    #client;
    constructor(client) {
      this.#client = client;
    }
    /** Whether this browser can make and use passkeys. */
    static supported() {
      return typeof PublicKeyCredential === "function" && typeof navigator === "object" && !!navigator.credentials;
    }
    /** Options to create a passkey; adding one needs a sign-in within 5 minutes or the password. */
    async registrationOptions(currentPassword) {
      const body = currentPassword ? { current_password: currentPassword } : {};
      return this.#client.call("post", "/auth/passkeys/register/options", { body });
    }
    async finishRegistration(credential, name) {
      return await this.#client.call("post", "/auth/passkeys/register", {
        body: { credential, name }
      });
    }
    /** Creates a passkey in this browser and adds it to the signed-in account. */
    async add(name, currentPassword) {
      const options = await this.registrationOptions(currentPassword);
      const publicKey = creationOptions(options.publicKey);
      const credential = await navigator.credentials.create({ publicKey }).catch(dismissed);
      if (!credential) throw cancelled();
      return this.finishRegistration(credentialJSON(credential), name);
    }
    async list() {
      return (await this.#client.call("get", "/auth/passkeys")).passkeys;
    }
    async rename(id, name) {
      await this.#client.call("patch", "/auth/passkeys/{id}", { params: { path: { id } }, body: { name } });
    }
    /** Removes a passkey (refused `conflict` when it is the account's last way in). */
    async remove(id) {
      await this.#client.call("delete", "/auth/passkeys/{id}", { params: { path: { id } } });
    }
    async signInOptions() {
      return this.#client.call("post", "/auth/passkeys/login/options", { body: {}, auth: false });
    }
    async finishSignIn(credential) {
      return this.#client.signInResult(
        await this.#client.request("POST", "/auth/passkeys/login", { credential }, false)
      );
    }
    /**
     * Signs in with a passkey of this site, no address needed. `mediation: "conditional"` waits
     * for the user to pick one in the email field's autofill. Throws `passkey_cancelled` if dismissed.
     */
    async signIn(mediation) {
      const options = await this.signInOptions();
      return this.finishSignIn(await this.assert(options, mediation));
    }
    /** An assertion for request options (a sign-in's, or the `passkey` of an `mfa_required` answer). */
    async assert(options, mediation) {
      const request = { publicKey: requestOptions(options.publicKey) };
      if (mediation) request.mediation = mediation;
      const credential = await navigator.credentials.get(request).catch(dismissed);
      if (!credential) throw cancelled();
      return credentialJSON(credential);
    }
  };
  function cancelled() {
    return new AuthError(0, "passkey_cancelled", "No passkey was chosen");
  }
  function dismissed(error) {
    const name = error?.name;
    if (name === "NotAllowedError" || name === "AbortError") throw cancelled();
    throw error;
  }
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)])
      );
    }
    return value;
  }
  function creationOptions(json) {
    const clean = withoutNulls(json);
    const parsers = PublicKeyCredential;
    if (parsers.parseCreationOptionsFromJSON) return parsers.parseCreationOptionsFromJSON(clean);
    const user = clean.user;
    return {
      ...clean,
      challenge: fromBase64url(clean.challenge),
      user: { ...user, id: fromBase64url(user.id) },
      excludeCredentials: descriptors(clean.excludeCredentials)
    };
  }
  function requestOptions(json) {
    const clean = withoutNulls(json);
    const parsers = PublicKeyCredential;
    if (parsers.parseRequestOptionsFromJSON) return parsers.parseRequestOptionsFromJSON(clean);
    return {
      ...clean,
      challenge: fromBase64url(clean.challenge),
      allowCredentials: descriptors(clean.allowCredentials)
    };
  }
  function descriptors(list) {
    if (!Array.isArray(list)) return void 0;
    return list.map((d) => ({ ...d, id: fromBase64url(d.id) }));
  }
  function credentialJSON(credential) {
    const native = credential;
    if (typeof native.toJSON === "function") return native.toJSON();
    const response = credential.response;
    const out = {
      clientDataJSON: toBase64url(response.clientDataJSON)
    };
    if ("attestationObject" in response && response.attestationObject) {
      out.attestationObject = toBase64url(response.attestationObject);
      out.transports = response.getTransports?.() ?? [];
    } else {
      out.authenticatorData = toBase64url(response.authenticatorData);
      out.signature = toBase64url(response.signature);
      if (response.userHandle) out.userHandle = toBase64url(response.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: out
    };
  }

  // src/sessions.ts
  var Sessions = class {
    #client;
    constructor(client) {
      this.#client = client;
    }
    /** The account's live sessions, the caller's marked `current`. */
    async list() {
      return (await this.#client.call("get", "/auth/sessions")).sessions;
    }
    /** Ends one session of the account (not this one: use `logout`). */
    async end(id) {
      await this.#client.call("delete", "/auth/sessions/{id}", { params: { path: { id } } });
    }
  };

  // src/auth.ts
  var AuthClient = class extends ClientCore {
    sessions = new Sessions(this);
    email = new EmailFlows(this);
    mfa = new Mfa(this);
    passkeys = new Passkeys(this);
    federation = new Federation(this);
    constructor(options = {}) {
      super(options);
    }
    /** A new account, signed in, or (with `EMAIL_VERIFICATION=required`) waiting for its link. */
    async register(email, password) {
      const response = await this.request("POST", "/auth/register", { email, password }, false);
      if (response.status === 202) return { status: "verification_required" };
      return this.signInResult(response);
    }
    /** Signed in, or the second step's `mfaToken` and methods; wrong credentials throw `invalid_credentials`. */
    async login(email, password) {
      return this.signInResult(await this.request("POST", "/auth/login", { email, password }, false));
    }
    /** A login's second step. */
    async verifyMfa(mfaToken, factor) {
      const body = "code" in factor ? { mfa_token: mfaToken, code: factor.code } : "recoveryCode" in factor ? { mfa_token: mfaToken, recovery_code: factor.recoveryCode } : { mfa_token: mfaToken, passkey: factor.passkey };
      return this.signInResult(await this.request("POST", "/auth/mfa/verify", body, false));
    }
    /** Signs out this session (`local`), every session (`global`) or every other one (`others`). */
    async logout(scope = "local") {
      await this.settled();
      const refreshToken = await this.refreshToken();
      const body = refreshToken ? { refresh_token: refreshToken, scope } : { scope };
      const access = (await this.tokens())?.accessToken;
      const headers = { "Content-Type": "application/json" };
      if (access) headers.Authorization = `Bearer ${access}`;
      const response = await this.authlessFetch("/auth/logout", { method: "POST", body: JSON.stringify(body), headers });
      if (scope === "others") {
        if (!response.ok) throw await AuthError.from(response);
        return;
      }
      if (response.ok) {
        await this.endSession("logout");
        return;
      }
      const error = await AuthError.from(response);
      if (error.status === 401) await this.endSession(error.code);
      if (error.status !== 401 || scope === "global") throw error;
    }
    /** The signed-in account. */
    async me() {
      return await this.call("get", "/auth/me");
    }
    /** Changes the password; this session is renewed, every other one ends. */
    async changePassword(currentPassword, newPassword) {
      const response = await this.request(
        "POST",
        "/auth/password",
        { current_password: currentPassword, new_password: newPassword },
        true
      );
      const result = await this.signInResult(response);
      if (result.status !== "signed_in") throw new AuthError(401, "mfa_required", "Unexpected second step");
      return result.user;
    }
    /** Deletes the account: the current password, or none within 5 minutes of signing in. */
    async deleteAccount(currentPassword) {
      await this.call("delete", "/auth/me", {
        body: currentPassword ? { current_password: currentPassword } : {}
      });
      await this.endSession("logout");
    }
  };

  // src/index.ts
  function createAuthClient(options = {}) {
    return new AuthClient(options);
  }
  return __toCommonJS(index_exports);
})();
