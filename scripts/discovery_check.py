#!/usr/bin/env python3
"""A resource server outside our API Gateway, as a Python service would be written: it finds our
keys through the discovery document with PyJWT's PyJWKClient and verifies an access token with
them, then asks RFC 7662 introspection (HTTP Basic) whether the token is still good, before and
after an RFC 7009 revocation. Runs the local API (embedded store) on a free port.

Usage: scripts/discovery_check.py [--bin-dir target/debug]   (needs PyJWT with cryptography)
"""
import argparse, base64, hashlib, json, os, secrets, socket, subprocess, sys, urllib.parse, urllib.request

import jwt  # PyJWT


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def expect(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default="target/debug")
    args = parser.parse_args()
    client_id, client_secret = "orders-service", secrets.token_urlsafe(32)
    clients = f"{client_id}:{hashlib.sha256(client_secret.encode()).hexdigest()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "MFA_", "INTROSPECTION_", "TOKEN_TRANSPORT"))}
    env.update(INTROSPECTION_CLIENTS=clients, ARGON2_MEMORY_KIB="1024", ARGON2_ITERATIONS="1", RUST_LOG="warn")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([os.path.join(args.bin_dir, "local-api"), "--addr", f"127.0.0.1:{port}"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in api.stdout:
            if "listening on" in line:
                break
        credentials = json.dumps({"email": f"rs-{secrets.token_hex(6)}@example.com",
                                  "password": "correct horse battery staple"}).encode()
        status, _, body = request(base + "/auth/register", credentials, {"content-type": "application/json"})
        expect(status == 201, f"register ({status})")
        tokens = json.loads(body)

        # 1. Discovery, as a JWT library (or API Gateway's JWT authorizer) does it.
        status, headers, body = request(base + "/.well-known/openid-configuration")
        document = json.loads(body)
        expect(status == 200 and headers.get("Cache-Control") == "public, max-age=300",
               "the discovery document is served, cacheable for five minutes")
        expect(document["issuer"] == base and document["jwks_uri"] == base + "/.well-known/jwks.json",
               f"issuer and jwks_uri ({document['jwks_uri']})")
        keys = jwt.PyJWKClient(document["jwks_uri"])
        signing_key = keys.get_signing_key_from_jwt(tokens["access_token"])
        claims = jwt.decode(tokens["access_token"], signing_key.key,
                            algorithms=document["id_token_signing_alg_values_supported"],
                            audience=base, issuer=document["issuer"])
        expect(claims["sub"] == tokens["user"]["id"] and claims["amr"] == ["pwd"],
               f"PyJWT's PyJWKClient verifies the access token through jwks_uri ({signing_key.key_id})")
        try:
            jwt.decode(tokens["access_token"] + "x", signing_key.key, algorithms=["EdDSA"], audience=base)
            expect(False, "a tampered token is refused")
        except jwt.InvalidSignatureError:
            expect(True, "a tampered token is refused")

        # 2. Introspection, for a resource server that wants the store's word (revocation).
        auth = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        form = {"content-type": "application/x-www-form-urlencoded", "authorization": auth}

        def introspect(token):
            status, _, body = request(document["introspection_endpoint"],
                                      urllib.parse.urlencode({"token": token}).encode(), form)
            expect(status == 200, f"introspection answers 200 ({status})")
            return json.loads(body)

        answer = introspect(tokens["access_token"])
        expect(answer["active"] is True and answer["sub"] == claims["sub"] and answer["token_type"] == "access_token",
               "introspection: the access token is active")
        status, _, body = request(document["revocation_endpoint"],
                                  urllib.parse.urlencode({"token": tokens["access_token"]}).encode(),
                                  {"content-type": "application/x-www-form-urlencoded"})
        expect(status == 200 and body == b"", "revocation answers 200 with an empty body")
        expect(introspect(tokens["access_token"]) == {"active": False}, "introspection: revoked means inactive")
        status, headers, _ = request(document["introspection_endpoint"],
                                     urllib.parse.urlencode({"token": tokens["access_token"]}).encode(),
                                     {"content-type": "application/x-www-form-urlencoded"})
        expect(status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic"),
               "introspection without client credentials: 401 with a Basic challenge")
    finally:
        api.kill()
        api.wait()


if __name__ == "__main__":
    main()
