// React: the session as state. `<AuthProvider client={client}>` once, `useAuth()` anywhere below.
import { createContext, createElement, useContext, useEffect, useState, type ReactNode } from 'react';
import type { User } from './api.js';
import type { AuthClient } from './auth.js';

export type AuthState =
  | { status: 'loading'; user: null }
  | { status: 'signed_in'; user: User }
  | { status: 'signed_out'; user: null }
  /** `/auth/me` could not be asked (network, 503): whether a session exists is unknown. */
  | { status: 'unavailable'; user: null };

export interface UseAuth {
  status: AuthState['status'];
  user: User | null;
  client: AuthClient;
}

const Context = createContext<AuthClient | null>(null);

export function AuthProvider({ client, children }: { client: AuthClient; children?: ReactNode }) {
  return createElement(Context.Provider, { value: client }, children);
}

/** The signed-in user (from `/auth/me`), kept current by sign-ins, refreshes and sign-outs in any tab. */
export function useAuth(client?: AuthClient): UseAuth {
  const provided = useContext(Context);
  const auth = client ?? provided;
  if (!auth) throw new Error('useAuth needs an <AuthProvider client={…}> or a client argument');
  const [state, setState] = useState<AuthState>({ status: 'loading', user: null });

  useEffect(() => {
    let live = true;
    const load = async () => {
      try {
        const user = await auth.me();
        if (live) setState({ status: 'signed_in', user });
      } catch (error) {
        // Only the API's refusal means signed out; a network error or a 503 says nothing of it.
        const status = (error as { status?: number }).status;
        if (live) setState(status === 401 || status === 403 ? { status: 'signed_out', user: null } : { status: 'unavailable', user: null });
      }
    };
    const unsubscribe = auth.subscribe((event) => {
      if (event.type === 'signed_out') setState({ status: 'signed_out', user: null });
      else if (event.type === 'signed_in') setState({ status: 'signed_in', user: event.user });
    });
    void load();
    return () => {
      live = false;
      unsubscribe();
    };
  }, [auth]);

  return { status: state.status, user: state.user, client: auth };
}
