// The account's own flows: register, sign in (and its second step), refresh, sign out, the
// account itself and its password; the groups (sessions, email, MFA, passkeys, providers) beside.
import type { MfaRequired, User } from './api.js';
import { ClientCore, type AuthClientOptions, type SignInResult } from './client.js';
import { EmailFlows } from './email.js';
import { AuthError } from './errors.js';
import { Federation } from './federation.js';
import { Mfa } from './mfa.js';
import { Passkeys, type PasskeyCredentialJSON } from './passkeys.js';
import { Sessions } from './sessions.js';

/** A second factor for {@link AuthClient.verifyMfa}. */
export type SecondFactor = { code: string } | { recoveryCode: string } | { passkey: PasskeyCredentialJSON };

export type LogoutScope = 'local' | 'global' | 'others';

export type RegisterResult = SignInResult | { status: 'verification_required' };

export class AuthClient extends ClientCore {
  readonly sessions = new Sessions(this);
  readonly email = new EmailFlows(this);
  readonly mfa = new Mfa(this);
  readonly passkeys = new Passkeys(this);
  readonly federation = new Federation(this);

  constructor(options: AuthClientOptions = {}) {
    super(options);
  }

  /** A new account, signed in, or (with `EMAIL_VERIFICATION=required`) waiting for its link. */
  async register(email: string, password: string): Promise<RegisterResult> {
    const response = await this.request('POST', '/auth/register', { email, password }, false);
    if (response.status === 202) return { status: 'verification_required' };
    return this.signInResult(response);
  }

  /** Signed in, or the second step's `mfaToken` and methods; wrong credentials throw `invalid_credentials`. */
  async login(email: string, password: string): Promise<SignInResult> {
    return this.signInResult(await this.request('POST', '/auth/login', { email, password }, false));
  }

  /** A login's second step. */
  async verifyMfa(mfaToken: string, factor: SecondFactor): Promise<SignInResult> {
    const body =
      'code' in factor
        ? { mfa_token: mfaToken, code: factor.code }
        : 'recoveryCode' in factor
          ? { mfa_token: mfaToken, recovery_code: factor.recoveryCode }
          : { mfa_token: mfaToken, passkey: factor.passkey };
    return this.signInResult(await this.request('POST', '/auth/mfa/verify', body, false));
  }

  /** Signs out this session (`local`), every session (`global`) or every other one (`others`). */
  async logout(scope: LogoutScope = 'local'): Promise<void> {
    await this.settled();
    const refreshToken = await this.refreshToken();
    const body = refreshToken ? { refresh_token: refreshToken, scope } : { scope };
    const access = (await this.tokens())?.accessToken;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (access) headers.Authorization = `Bearer ${access}`;
    const response = await this.authlessFetch('/auth/logout', { method: 'POST', body: JSON.stringify(body), headers });
    if (scope === 'others') {
      if (!response.ok) throw await AuthError.from(response);
      return;
    }
    if (response.ok) {
      await this.endSession('logout');
      return;
    }
    const error = await AuthError.from(response);
    // A refused refresh token is a session already over here; but a global logout did not happen.
    if (error.status === 401) await this.endSession(error.code);
    if (error.status !== 401 || scope === 'global') throw error;
  }

  /** The signed-in account. */
  async me(): Promise<User> {
    return (await this.call('get', '/auth/me')) as User;
  }

  /** Changes the password; this session is renewed, every other one ends. */
  async changePassword(currentPassword: string, newPassword: string): Promise<User> {
    const response = await this.request(
      'POST',
      '/auth/password',
      { current_password: currentPassword, new_password: newPassword },
      true,
    );
    const result = await this.signInResult(response);
    if (result.status !== 'signed_in') throw new AuthError(401, 'mfa_required', 'Unexpected second step');
    return result.user;
  }

  /** Deletes the account: the current password, or none within 5 minutes of signing in. */
  async deleteAccount(currentPassword?: string): Promise<void> {
    await this.call('delete', '/auth/me', {
      body: currentPassword ? { current_password: currentPassword } : {},
    });
    await this.endSession('logout');
  }
}

export type { MfaRequired };
