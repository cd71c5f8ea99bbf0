// The client's tests against the local API (embedded store), started here with an environment
// of the test's own; the helpers of the browser tests (free port, start, TOTP) are reused.
import { freePort, startLocalApi, totp } from '../../../tests/browser/support.mjs';

export { totp };

/** Starts a local API; resolves {base, stop, requests(key), outbox()}. */
export async function localApi(name, env = {}) {
  const port = await freePort();
  const child = await startLocalApi({ port, env: { TOKEN_TRANSPORT: 'both', ...env }, log: `client-${name}.log` });
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    stop: () => child.kill(),
    /** How many `key` ("POST /auth/refresh") requests the server has seen. */
    async requests(key) {
      const body = await (await fetch(`${base}/_dev/requests`)).json();
      return body.requests[key] ?? 0;
    },
    /** The token of the latest mailed link of `kind` ("verify-email", "reset-password") to `to`. */
    async linkToken(to, kind) {
      const { messages } = await (await fetch(`${base}/_dev/outbox`)).json();
      const mine = messages.filter((m) => m.to === to && m.text.includes(`/${kind}#token=`));
      const last = mine.at(-1);
      if (!last) throw new Error(`no ${kind} mail to ${to}`);
      return last.text.match(/#token=([A-Za-z0-9_-]+)/)[1];
    },
  };
}

let counter = 0;
export function address(label) {
  counter += 1;
  return `${label}-${Date.now()}-${counter}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';
