// Single-flight refresh, within a page and across its tabs. Within a page one promise is shared;
// across tabs the Web Locks API (where present) lets one tab refresh at a time, and the tab that
// refreshed tells the others on a BroadcastChannel (and in localStorage, read under the lock) —
// so a tab that waited finds the refresh done and retries with the new tokens instead of
// spending a refresh token a second time.
import type { User } from './api.js';
import type { StoredTokens } from './storage.js';

/** What every tab should know of the session: when it was last refreshed, when its access token ends. */
export interface Freshness {
  /** Epoch ms of the latest token response (login or refresh), 0 when unknown. */
  refreshedAt: number;
  /** Epoch ms when the access token expires, 0 when unknown. */
  accessExpiresAt: number;
}

export type TabMessage =
  | ({ type: 'tokens'; tokens?: StoredTokens; user?: User } & Freshness)
  | { type: 'signed_out'; reason: string };

interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

export class Coordinator {
  readonly #name: string;
  readonly #tabs: boolean;
  readonly #channel: BroadcastChannel | null;
  readonly #marker: Storage | null;
  #flight: Promise<boolean> | null = null;
  #state: Freshness = { refreshedAt: 0, accessExpiresAt: 0 };

  /** `tabs`: share with the app's other tabs; off, this is one client's own single flight. */
  constructor(name: string, tabs: boolean, onMessage: (message: TabMessage) => void) {
    this.#name = name;
    this.#tabs = tabs;
    this.#marker = tabs ? localStorageIfAny() : null;
    this.#readMarker();
    this.#channel = tabs && typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;
    this.#channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => {
      const message = event.data;
      if (message.type === 'tokens') this.#note(message);
      else this.#state = { refreshedAt: Date.now(), accessExpiresAt: 0 };
      onMessage(message);
    });
  }

  get freshness(): Freshness {
    return this.#state;
  }

  /** Records a token response of this tab and tells the others. */
  announceTokens(freshness: Freshness, tokens?: StoredTokens, user?: User): void {
    this.#note(freshness);
    this.#marker?.setItem(`${this.#name}.freshness`, JSON.stringify(this.#state));
    this.#channel?.postMessage({ type: 'tokens', ...freshness, tokens, user } satisfies TabMessage);
  }

  /** Resolves once this tab's refresh in flight (if any) has ended. */
  async idle(): Promise<void> {
    await this.#flight?.catch(() => false);
  }

  /** Records that the session ended here and tells the others. */
  announceSignedOut(reason: string): void {
    this.#state = { refreshedAt: Date.now(), accessExpiresAt: 0 };
    this.#marker?.removeItem(`${this.#name}.freshness`);
    this.#channel?.postMessage({ type: 'signed_out', reason } satisfies TabMessage);
  }

  /**
   * Runs `refresh` once for every caller that asks while it runs, in this tab and, holding the
   * lock, in every other; `stillNeeded` is asked under the lock, after what other tabs did is known.
   */
  run(stillNeeded: () => boolean | Promise<boolean>, refresh: () => Promise<boolean>): Promise<boolean> {
    if (this.#flight) return this.#flight;
    const flight = this.#locked(async (waited) => {
      this.#readMarker();
      // Another tab held the lock: it was refreshing, and its cookies (or its tokens, on the
      // channel) are the session now; its record may reach this tab's copy of localStorage a
      // little later, so this tab does not refresh again. A call that still fails refreshes then.
      if (waited) return true;
      return (await stillNeeded()) ? refresh() : true;
    }).finally(() => {
      if (this.#flight === flight) this.#flight = null;
    });
    this.#flight = flight;
    return flight;
  }

  close(): void {
    this.#channel?.close();
  }

  #note(freshness: Freshness): void {
    if (freshness.refreshedAt >= this.#state.refreshedAt) {
      this.#state = { refreshedAt: freshness.refreshedAt, accessExpiresAt: freshness.accessExpiresAt };
    }
  }

  #readMarker(): void {
    const text = this.#marker?.getItem(`${this.#name}.freshness`);
    if (!text) return;
    try {
      const seen = JSON.parse(text) as Freshness;
      if (Number.isFinite(seen.refreshedAt) && Number.isFinite(seen.accessExpiresAt)) this.#note(seen);
    } catch {
      // Another script's value under our key: ignored.
    }
  }

  /** Runs `task` holding the tabs' lock; `waited`: another tab held it first. */
  #locked(task: (waited: boolean) => Promise<boolean>): Promise<boolean> {
    const locks = this.#tabs ? (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks : undefined;
    if (!locks) return task(false);
    const name = `${this.#name}.refresh`;
    return locks.request(name, { ifAvailable: true }, (lock) =>
      lock ? task(false) : locks.request(name, {}, () => task(true)),
    );
  }
}

function localStorageIfAny(): Storage | null {
  try {
    return typeof localStorage === 'object' && localStorage !== null ? localStorage : null;
  } catch {
    // Storage denied (e.g. third-party frames): the Web Lock and the channel still work.
    return null;
  }
}
