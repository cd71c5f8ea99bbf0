// The mailed flows: verification, password reset, address change. The token of a mailed link
// arrives in the page's fragment (`#token=`); `linkToken()` reads it and drops it from the address bar.
import type { User } from './api.js';
import type { ClientCore } from './client.js';

export class EmailFlows {
  readonly #client: ClientCore;

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** Confirms an address with a verification link's token. */
  async verify(token: string): Promise<User> {
    return (await this.#client.call('post', '/auth/email/verify', { body: { token }, auth: false })).user;
  }

  /** Sends a new verification link (answers the same whether or not the address has an account). */
  async resendVerification(email: string): Promise<void> {
    await this.#client.call('post', '/auth/email/verify/resend', { body: { email }, auth: false });
  }

  /** Mails a reset link (answers the same whether or not the address has an account). */
  async forgotPassword(email: string): Promise<void> {
    await this.#client.call('post', '/auth/password/forgot', { body: { email }, auth: false });
  }

  /** Sets a new password with a reset link's token; every session of the account ends. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    await this.#client.call('post', '/auth/password/reset', { body: { token, new_password: newPassword }, auth: false });
  }

  /** Mails a confirmation link to `newEmail`; the address changes when it is opened. */
  async change(newEmail: string, currentPassword: string): Promise<void> {
    await this.#client.call('post', '/auth/email', { body: { new_email: newEmail, current_password: currentPassword } });
  }
}

/** The `token` of a mailed link's fragment, removed from the address bar (null when none). */
export function linkToken(): string | null {
  if (typeof location !== 'object' || !location.hash) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return token;
}
