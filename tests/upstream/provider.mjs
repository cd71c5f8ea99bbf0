// A real OpenID provider for the federation tests: panva's oidc-provider (a certified
// implementation) with one confidential client for the service, PKCE required, RS256 ID tokens.
//
// Nobody types a password: the login step completes itself for the account the authorization
// request names in `login_hint` (the service passes an app's hint through), else DEFAULT_LOGIN.
// An account is its hint: `ada@example.com` (a verified address), `unverified:ada@example.com`,
// `other:ada@example.com` (another subject with the same address), `noemail:ada` (no address),
// `deny:ada@example.com` (the user declines: `error=access_denied`).
//
// Environment: PORT (0: a free one), CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated),
// DEFAULT_LOGIN. It prints one JSON line {"issuer": ...} once it listens.
//
// For tests without a browser, GET /_test/complete?url=<authorization URL> plays the browser: it
// follows the provider's own redirects with a cookie jar and answers {"callback": <the URL the
// provider sends the browser back to>}, without following that one.

import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// Stdout carries the one line the test harness reads (it may stop reading after it); the
// provider's own notices go to stderr.
console.log = console.info = (...args) => console.error(...args);
// The harness holds stdin open for as long as it wants the provider.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const port = Number(process.env.PORT ?? 0);
const clientId = process.env.CLIENT_ID ?? 'jwt-auth-service';
const clientSecret = process.env.CLIENT_SECRET ?? 'upstream-client-secret';
const redirectUris = (process.env.REDIRECT_URIS ?? '').split(',').filter(Boolean);
const defaultLogin = process.env.DEFAULT_LOGIN ?? 'user@example.com';

function account(hint) {
  const [flag, rest] = hint.includes(':') ? hint.split(/:(.*)/s, 2) : ['', hint];
  const claims = { sub: hint };
  if (flag !== 'noemail') {
    claims.email = rest;
    claims.email_verified = flag !== 'unverified';
  }
  return claims;
}

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email'],
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: ['federation-tests-only'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => account(id) }),
  // First party: the grant covers what the client asks, so no consent page.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email');
    grant.addOIDCClaims(['email', 'email_verified']);
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});
// The service reaches it over plain http on loopback.
provider.proxy = false;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const hint = details.params.login_hint || defaultLogin;
  if (hint.startsWith('deny:')) {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user declined' });
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
}

async function complete(target, res) {
  const jar = new Map();
  let url = target;
  for (let hop = 0; hop < 10; hop += 1) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = response.headers.get('location');
    if (!location) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no redirect from ${url}`, status: response.status, body: await response.text() }));
      return;
    }
    url = new URL(location, url).href;
    if (!url.startsWith(issuer)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ callback: url }));
      return;
    }
  }
  res.writeHead(508, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'too many redirects' }));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res);
    if (url.pathname === '/_test/complete') return await complete(url.searchParams.get('url'), res);
    return callback(req, res);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: String(error) }));
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
