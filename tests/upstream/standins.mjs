// Stand-ins for the two providers that ship no local server, following their published request
// and response shapes (only what the service uses):
//
// GitHub (under /github) — "Authorizing OAuth apps" (web application flow, PKCE):
//   GET  /github/login/oauth/authorize   → 302 redirect_uri?code&state
//   POST /github/login/oauth/access_token  (client_secret_basic; code, redirect_uri, code_verifier;
//        Accept: application/json) → {access_token, token_type, scope}, or 200 {error} as GitHub does
//   GET  /github/api/user                  → {id, login}           ("Get the authenticated user")
//   GET  /github/api/user/emails           → [{email, primary, verified, visibility}]
//                                            ("List email addresses for the authenticated user")
// Apple (under /apple) — "Sign in with Apple REST API", "Generate and validate tokens",
// "Creating a client secret":
//   GET  /apple/.well-known/openid-configuration, /apple/auth/keys (RS256 JWKS)
//   GET  /apple/auth/authorize  → an HTML page that POSTs code, state and (first time) user to
//        redirect_uri (response_mode=form_post)
//   POST /apple/auth/token  (client_secret_post: the client secret is an ES256 JWT signed with the
//        team's key, iss = team id, sub = client id, aud = the issuer) → {access_token, id_token}
//        with email_verified as the string "true", as Apple has sent it.
//
// Accounts are the login_hint, as in provider.mjs (`unverified:`, no flag = verified). It prints one
// JSON line {"base", "apple_private_key"}: the PKCS#8 PEM of the team key the service signs with.
// GET /_test/complete?url=<authorize URL> plays the browser: {"callback": url} for GitHub,
// {"form_post": url, "fields": {...}} for Apple.

import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';

console.log = console.info = (...args) => console.error(...args);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const clientId = process.env.CLIENT_ID ?? 'jwt-auth-service';
const clientSecret = process.env.CLIENT_SECRET ?? 'standin-client-secret';
const teamId = process.env.APPLE_TEAM_ID ?? 'TEAM123456';
const keyId = process.env.APPLE_KEY_ID ?? 'KEY1234567';
const appleTeamKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const appleSigning = generateKeyPairSync('rsa', { modulusLength: 2048 });
const appleJwk = { ...appleSigning.publicKey.export({ format: 'jwk' }), kid: 'apple-1', alg: 'RS256', use: 'sig' };

const codes = new Map();
const tokens = new Map();
const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

function account(hint) {
  const [flag, rest] = hint.includes(':') ? hint.split(/:(.*)/s, 2) : ['', hint];
  return { sub: hint, email: rest, verified: flag !== 'unverified' };
}

function issue(params) {
  const code = b64url(randomBytes(24));
  codes.set(code, { ...params, account: account(params.login_hint || 'user@example.com') });
  return code;
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

function basic(req) {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return [];
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString().split(/:(.*)/s, 2);
  return [decodeURIComponent(id.replace(/\+/g, ' ')), decodeURIComponent(secret.replace(/\+/g, ' '))];
}

const pkceOk = (stored, verifier) =>
  !stored.code_challenge || b64url(createHash('sha256').update(verifier ?? '').digest()) === stored.code_challenge;

function signJwt(header, claims, key) {
  const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${signed}.${b64url(sign('sha256', Buffer.from(signed), key))}`;
}

function clientSecretValid(jwt, base) {
  const [header, claims, signature] = (jwt ?? '').split('.');
  if (!signature) return false;
  const good = verify('sha256', Buffer.from(`${header}.${claims}`), { key: appleTeamKey.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  const h = JSON.parse(Buffer.from(header, 'base64url'));
  const c = JSON.parse(Buffer.from(claims, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  return good && h.alg === 'ES256' && h.kid === keyId && c.iss === teamId && c.sub === clientId
    && c.aud === `${base}/apple` && c.exp > now && c.exp - c.iat <= 15777000;
}

const server = createServer(async (req, res) => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, base);
  const path = url.pathname;
  const query = Object.fromEntries(url.searchParams);
  try {
    if (path === '/github/login/oauth/authorize') {
      if (query.client_id !== clientId) return json(res, 400, { error: 'unknown client' });
      const code = issue(query);
      const back = new URL(query.redirect_uri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', query.state);
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (path === '/github/login/oauth/access_token' && req.method === 'POST') {
      const body = await form(req);
      const [id, secret] = basic(req);
      const stored = codes.get(body.code);
      codes.delete(body.code);
      if (id !== clientId || secret !== clientSecret) return json(res, 200, { error: 'incorrect_client_credentials' });
      if (!stored || stored.redirect_uri !== body.redirect_uri || !pkceOk(stored, body.code_verifier)) {
        return json(res, 200, { error: 'bad_verification_code' });
      }
      const token = `gho_${b64url(randomBytes(18))}`;
      tokens.set(token, stored.account);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    if (path === '/github/api/user' || path === '/github/api/user/emails') {
      const who = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!who) return json(res, 401, { message: 'Bad credentials' });
      if (!req.headers['user-agent']) return json(res, 403, { message: 'User-Agent required' });
      if (path === '/github/api/user') return json(res, 200, { id: parseInt(createHash('sha256').update(who.sub).digest('hex').slice(0, 8), 16), login: who.sub.split('@')[0] });
      return json(res, 200, [
        { email: `${who.sub.split('@')[0]}@users.noreply.github.com`, primary: false, verified: true, visibility: null },
        { email: who.email, primary: true, verified: who.verified, visibility: 'private' },
      ]);
    }
    if (path === '/apple/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: `${base}/apple`,
        authorization_endpoint: `${base}/apple/auth/authorize`,
        token_endpoint: `${base}/apple/auth/token`,
        jwks_uri: `${base}/apple/auth/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (path === '/apple/auth/keys') return json(res, 200, { keys: [appleJwk] });
    if (path === '/apple/auth/authorize') {
      if (query.response_mode !== 'form_post') return json(res, 400, { error: 'invalid_request' });
      const code = issue(query);
      const fields = { state: query.state, code, user: JSON.stringify({ name: { firstName: 'Ada', lastName: 'L' }, email: account(query.login_hint || '').email }) };
      const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${name}" value='${value.replace(/'/g, '&#39;')}'>`).join('');
      res.writeHead(200, { 'content-type': 'text/html', 'x-form-post': JSON.stringify({ form_post: query.redirect_uri, fields }) });
      return res.end(`<form method="post" action="${query.redirect_uri}">${inputs}</form><script>document.forms[0].submit()</script>`);
    }
    if (path === '/apple/auth/token' && req.method === 'POST') {
      const body = await form(req);
      const stored = codes.get(body.code);
      codes.delete(body.code);
      if (body.client_id !== clientId || !clientSecretValid(body.client_secret, base)) return json(res, 400, { error: 'invalid_client' });
      if (!stored || stored.redirect_uri !== body.redirect_uri) return json(res, 400, { error: 'invalid_grant' });
      const now = Math.floor(Date.now() / 1000);
      const who = stored.account;
      const idToken = signJwt({ alg: 'RS256', kid: 'apple-1' }, {
        iss: `${base}/apple`, aud: clientId, exp: now + 600, iat: now, sub: `001234.${createHash('sha256').update(who.sub).digest('hex').slice(0, 32)}.0042`,
        nonce: stored.nonce, nonce_supported: true, email: who.email, email_verified: String(who.verified), is_private_email: 'false', auth_time: now,
      }, appleSigning.privateKey);
      return json(res, 200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 3600, id_token: idToken });
    }
    if (path === '/_test/complete') {
      const response = await fetch(query.url, { redirect: 'manual' });
      const formPost = response.headers.get('x-form-post');
      if (formPost) return json(res, 200, JSON.parse(formPost));
      return json(res, 200, { callback: response.headers.get('location') });
    }
    json(res, 404, { message: 'Not Found' });
  } catch (error) {
    json(res, 500, { error: String(error) });
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const pem = appleTeamKey.privateKey.export({ format: 'pem', type: 'pkcs8' });
  process.stdout.write(`${JSON.stringify({ base, apple_private_key: pem, apple_team_id: teamId, apple_key_id: keyId })}\n`);
});
