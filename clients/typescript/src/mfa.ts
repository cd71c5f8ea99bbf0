// Two-step sign-in with an authenticator app (TOTP) and its recovery codes.
import type { Schemas } from './api.js';
import type { ClientCore } from './client.js';
import { AuthError } from './errors.js';

export type TotpFactor = { code: string } | { recoveryCode: string };

export class Mfa {
  readonly #client: ClientCore;

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** Starts an enrolment: the key (`secret`), its `otpauth://` URI and a QR code (SVG). */
  async startTotp() {
    return this.#client.call('post', '/auth/mfa/totp');
  }

  /** Confirms the enrolment with a first code and the password; returns the recovery codes, shown once. */
  async confirmTotp(code: string, currentPassword: string): Promise<string[]> {
    const response = await this.#client.request(
      'POST',
      '/auth/mfa/totp/confirm',
      { code, current_password: currentPassword },
      true,
    );
    if (!response.ok) throw await AuthError.from(response);
    const body = (await response.json()) as Schemas['TokenResponse'] & { recovery_codes: string[] };
    await this.#client.accept(body);
    return body.recovery_codes;
  }

  /** Turns two-step sign-in off with a current code or a recovery code. */
  async disableTotp(factor: TotpFactor): Promise<void> {
    const body = 'code' in factor ? { code: factor.code } : { recovery_code: factor.recoveryCode };
    await this.#client.call('delete', '/auth/mfa/totp', { body });
  }
}
