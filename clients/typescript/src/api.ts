// Types of every route, read from the generated `schema.ts` (openapi-typescript over the
// repository's openapi.yaml): what a path and method take and what they answer.
import type { components, paths } from './schema.js';

export type { components, paths };
export type Schemas = components['schemas'];
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Path = keyof paths;

/** The methods a path defines. */
export type MethodOf<P extends Path> = {
  [M in Method]: paths[P][M] extends never | undefined ? never : M;
}[Method];

type Operation<P extends Path, M extends MethodOf<P>> = NonNullable<paths[P][M]>;

type JsonOf<C> = C extends { 'application/json': infer B } ? B : never;

/** The JSON body a route takes (`never` when it takes none). */
export type RequestBody<P extends Path, M extends MethodOf<P>> =
  Operation<P, M> extends { requestBody?: infer R }
    ? NonNullable<R> extends { content: infer C } ? JsonOf<C> : never
    : never;

/** What a route answers on success (2xx), `undefined` for an empty answer. */
export type SuccessBody<P extends Path, M extends MethodOf<P>> =
  Operation<P, M> extends { responses: infer R }
    ? {
        [S in keyof R]: S extends 200 | 201 | 202 | 204
          ? R[S] extends { content: infer C } ? JsonOf<C> : undefined
          : never;
      }[keyof R]
    : never;

/** The path and query parameters a route takes. */
export type Parameters<P extends Path, M extends MethodOf<P>> =
  Operation<P, M> extends { parameters: infer Q } ? Q : never;

/** The API's token response. With cookies, the tokens are absent from the body. */
export type TokenResponse = Omit<Schemas['TokenResponse'], 'access_token' | 'refresh_token'> &
  Partial<Pick<Schemas['TokenResponse'], 'access_token' | 'refresh_token'>>;
export type User = Schemas['UserView'];
export type Problem = Schemas['Problem'];
export type ErrorCode = Schemas['ErrorCode'];
export type MfaRequired = Schemas['MfaRequired'];
export type Session = Schemas['Session'];
export type Passkey = Schemas['Passkey'];
