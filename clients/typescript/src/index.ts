// @jwt-auth/client: the jwt-auth service from a browser, Node or React Native.
export { AuthClient, type LogoutScope, type RegisterResult, type SecondFactor } from './auth.js';
export type { AuthClientOptions, AuthEvent, CallOptions, SignedOutReason, SignInResult, Transport } from './client.js';
export { AuthError, type AuthErrorCode, type FieldProblem } from './errors.js';
export { MemoryStorage, webStorage, type StoredTokens, type TokenStorage } from './storage.js';
export { Federation, type Provider, type ProviderReturn } from './federation.js';
export { Passkeys, type PasskeyCredentialJSON, type PasskeyOptions } from './passkeys.js';
export { linkToken } from './email.js';
export type { TotpFactor } from './mfa.js';
export type * from './api.js';

import { AuthClient } from './auth.js';
import type { AuthClientOptions } from './client.js';

/** A client for the API at `options.baseUrl` (the page's own origin by default). */
export function createAuthClient(options: AuthClientOptions = {}): AuthClient {
  return new AuthClient(options);
}
