// Where the bearer transport keeps a session's tokens. Memory by default (gone with the page
// or process); an app may give any storage, e.g. the Keychain on React Native.

export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds, on this device's clock (from `expires_in`, not the token's `exp`). */
  accessExpiresAt: number;
}

export interface TokenStorage {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens): void | Promise<void>;
  clear(): void | Promise<void>;
}

export class MemoryStorage implements TokenStorage {
  #tokens: StoredTokens | null = null;

  get(): StoredTokens | null {
    return this.#tokens;
  }

  set(tokens: StoredTokens): void {
    this.#tokens = { ...tokens };
  }

  clear(): void {
    this.#tokens = null;
  }
}

/**
 * A Web Storage (`localStorage`, `sessionStorage`) under one key. Any script on the origin can
 * read it: prefer the cookie transport in browsers.
 */
export function webStorage(storage: Storage, key = 'jwt-auth.tokens'): TokenStorage {
  return {
    get() {
      const text = storage.getItem(key);
      if (!text) return null;
      try {
        return JSON.parse(text) as StoredTokens;
      } catch {
        return null;
      }
    },
    set(tokens) {
      storage.setItem(key, JSON.stringify(tokens));
    },
    clear() {
      storage.removeItem(key);
    },
  };
}
