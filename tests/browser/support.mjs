// What the browser tests share: a free port, the local API started (and its log kept) with an
// environment of the test's own, and an upstream OpenID provider (tests/upstream/provider.mjs).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = path.join(repo, 'target', 'browser-artifacts');
export const localApiBin = path.resolve(repo, process.env.LOCAL_API_BIN || 'target/debug/local-api');
export const chromiumBin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts local-api on `port` with `args`; the caller's shell configuration that would change the
// run (keys, transport, mail, CORS) is dropped, then `env` applies. Resolves with the child once
// it listens; its output goes to target/browser-artifacts/<log>.
export function startLocalApi({ port, args = [], env: extra = {}, log }) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(JWT_|TOKEN_TRANSPORT$|CORS_|EMAIL_|APP_URL$|OAUTH_|PUBLIC_BASE_URL$|WEBAUTHN_)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, extra);
  fs.mkdirSync(artifacts, { recursive: true });
  const out = fs.createWriteStream(path.join(artifacts, log));
  const child = spawn(localApiBin, ['--addr', `127.0.0.1:${port}`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`local-api did not start:\n${seen}`)), 60_000);
    const onData = (chunk) => {
      out.write(chunk);
      seen += chunk;
      if (seen.includes('listening on http://')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`local-api exited (${code}):\n${seen}`)));
  });
}

// panva's oidc-provider for `redirectUri`; every sign-in at it is `login` (its DEFAULT_LOGIN).
// Resolves with {child, issuer, clientId, clientSecret}.
export function startUpstreamProvider({ redirectUri, login }) {
  const clientId = 'browser-test-service';
  const clientSecret = 'browser-test-upstream-secret';
  const env = { ...process.env, PORT: '0', CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REDIRECT_URIS: redirectUri, DEFAULT_LOGIN: login };
  const child = spawn('node', [path.join(repo, 'tests', 'upstream', 'provider.mjs')], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes('\n')) resolve({ child, issuer: JSON.parse(seen.split('\n')[0]).issuer, clientId, clientSecret });
    });
    child.on('exit', (code) => reject(new Error(`the provider exited (${code}): npm ci in tests/upstream`)));
  });
}

// RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it from the page's key.
export function totp(secret, at = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const digest = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}
