// Passkeys (WebAuthn): the browser's navigator.credentials with the JSON forms the API speaks.
// Where the browser lacks PublicKeyCredential.parse*OptionsFromJSON / toJSON (older Safari and
// Firefox), the few binary members are converted here. Apps without navigator.credentials (React
// Native) run the ceremony natively and use the `*Options` / `finish*` halves.
import type { Passkey, Schemas } from './api.js';
import type { ClientCore, SignInResult } from './client.js';
import { fromBase64url, toBase64url } from './base64url.js';
import { AuthError } from './errors.js';

/** A credential as `PublicKeyCredential.toJSON()` gives it. */
export type PasskeyCredentialJSON = Record<string, unknown>;
export type PasskeyOptions = Schemas['PasskeyOptions'];

type Json = Record<string, unknown>;

export class Passkeys {
  readonly #client: ClientCore;

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** Whether this browser can make and use passkeys. */
  static supported(): boolean {
    return typeof PublicKeyCredential === 'function' && typeof navigator === 'object' && !!navigator.credentials;
  }

  /** Options to create a passkey; adding one needs a sign-in within 5 minutes or the password. */
  async registrationOptions(currentPassword?: string): Promise<PasskeyOptions> {
    const body = currentPassword ? { current_password: currentPassword } : {};
    return this.#client.call('post', '/auth/passkeys/register/options', { body });
  }

  async finishRegistration(credential: PasskeyCredentialJSON, name: string): Promise<Passkey> {
    return (await this.#client.call('post', '/auth/passkeys/register', {
      body: { credential, name } as never,
    })) as Passkey;
  }

  /** Creates a passkey in this browser and adds it to the signed-in account. */
  async add(name: string, currentPassword?: string): Promise<Passkey> {
    const options = await this.registrationOptions(currentPassword);
    const publicKey = creationOptions(options.publicKey as Json);
    const credential = await navigator.credentials.create({ publicKey }).catch(dismissed);
    if (!credential) throw cancelled();
    return this.finishRegistration(credentialJSON(credential as PublicKeyCredential), name);
  }

  async list(): Promise<Passkey[]> {
    return (await this.#client.call('get', '/auth/passkeys')).passkeys as Passkey[];
  }

  async rename(id: string, name: string): Promise<void> {
    await this.#client.call('patch', '/auth/passkeys/{id}', { params: { path: { id } }, body: { name } });
  }

  /** Removes a passkey (refused `conflict` when it is the account's last way in). */
  async remove(id: string): Promise<void> {
    await this.#client.call('delete', '/auth/passkeys/{id}', { params: { path: { id } } });
  }

  async signInOptions(): Promise<PasskeyOptions> {
    return this.#client.call('post', '/auth/passkeys/login/options', { body: {}, auth: false });
  }

  async finishSignIn(credential: PasskeyCredentialJSON): Promise<SignInResult> {
    return this.#client.signInResult(
      await this.#client.request('POST', '/auth/passkeys/login', { credential }, false),
    );
  }

  /**
   * Signs in with a passkey of this site, no address needed. `mediation: "conditional"` waits
   * for the user to pick one in the email field's autofill. Throws `passkey_cancelled` if dismissed.
   */
  async signIn(mediation?: CredentialMediationRequirement): Promise<SignInResult> {
    const options = await this.signInOptions();
    return this.finishSignIn(await this.assert(options, mediation));
  }

  /** An assertion for request options (a sign-in's, or the `passkey` of an `mfa_required` answer). */
  async assert(options: PasskeyOptions, mediation?: CredentialMediationRequirement): Promise<PasskeyCredentialJSON> {
    const request: CredentialRequestOptions = { publicKey: requestOptions(options.publicKey as Json) };
    if (mediation) request.mediation = mediation;
    const credential = await navigator.credentials.get(request).catch(dismissed);
    if (!credential) throw cancelled();
    return credentialJSON(credential as PublicKeyCredential);
  }
}

function cancelled(): AuthError {
  return new AuthError(0, 'passkey_cancelled', 'No passkey was chosen');
}

// Browsers answer a dismissed prompt (or a timeout) with NotAllowedError, an aborted one with AbortError.
function dismissed(error: unknown): never {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'AbortError') throw cancelled();
  throw error;
}

// The API sends JSON `null` for absent members, which the browsers' JSON parsers refuse.
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}

interface JsonParsers {
  parseCreationOptionsFromJSON?: (json: unknown) => PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON?: (json: unknown) => PublicKeyCredentialRequestOptions;
}

function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const clean = withoutNulls(json) as Json;
  const parsers = PublicKeyCredential as unknown as JsonParsers;
  if (parsers.parseCreationOptionsFromJSON) return parsers.parseCreationOptionsFromJSON(clean);
  const user = clean.user as Json;
  return {
    ...clean,
    challenge: fromBase64url(clean.challenge as string),
    user: { ...user, id: fromBase64url(user.id as string) },
    excludeCredentials: descriptors(clean.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  const clean = withoutNulls(json) as Json;
  const parsers = PublicKeyCredential as unknown as JsonParsers;
  if (parsers.parseRequestOptionsFromJSON) return parsers.parseRequestOptionsFromJSON(clean);
  return {
    ...clean,
    challenge: fromBase64url(clean.challenge as string),
    allowCredentials: descriptors(clean.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((d: Json) => ({ ...d, id: fromBase64url(d.id as string) }) as PublicKeyCredentialDescriptor);
}

function credentialJSON(credential: PublicKeyCredential): PasskeyCredentialJSON {
  const native = credential as unknown as { toJSON?: () => PasskeyCredentialJSON };
  if (typeof native.toJSON === 'function') return native.toJSON();
  const response = credential.response as AuthenticatorAttestationResponse & AuthenticatorAssertionResponse;
  const out: Json = {
    clientDataJSON: toBase64url(response.clientDataJSON),
  };
  if ('attestationObject' in response && response.attestationObject) {
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
    response: out,
  };
}
