// Where the account is signed in, and ending one of those sessions.
import type { Session } from './api.js';
import type { ClientCore } from './client.js';

export class Sessions {
  readonly #client: ClientCore;

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** The account's live sessions, the caller's marked `current`. */
  async list(): Promise<Session[]> {
    return (await this.#client.call('get', '/auth/sessions')).sessions;
  }

  /** Ends one session of the account (not this one: use `logout`). */
  async end(id: string): Promise<void> {
    await this.#client.call('delete', '/auth/sessions/{id}', { params: { path: { id } } });
  }
}
