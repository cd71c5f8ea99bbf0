#!/usr/bin/env python3
"""What a federated sign-in costs this service, the provider's own time excluded.

Starts panva's oidc-provider (tests/upstream/provider.mjs) and the local API (embedded store, so
DynamoDB's round trips are not in the figures: tests/dynamo_calls.rs counts those) configured
with it, then signs in --runs times as a browser and an app would:

  authorize  GET /auth/oauth/op/authorize: state stored, the redirect built (metadata cached)
  callback   GET /auth/oauth/op/callback: state taken, the code traded, the ID token verified, the
             account resolved, a login code stored. The provider's part (its token endpoint, its
             keys when not cached) is what the service logs as `upstream_ms`; `ours` is the rest
  token      POST /auth/oauth/token: the code taken and checked, the session started and signed

The provider's own pages (the browser's part) are not timed. Medians over the runs after the
first (which also fetches the discovery document and the key set).

Usage: scripts/federation_latency.py [--bin target/release/local-api] [--runs 50]
"""
import argparse
import base64
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(request):
    began = time.perf_counter()
    try:
        response = OPENER.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    body = response.read()
    return (time.perf_counter() - began) * 1000, response, body


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "local-api"))
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = subprocess.Popen(
        ["node", os.path.join(ROOT, "tests", "upstream", "provider.mjs")],
        env=dict(os.environ, PORT="0", CLIENT_ID="latency", CLIENT_SECRET="latency-secret",
                 REDIRECT_URIS=f"{base}/auth/oauth/op/callback"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    issuer = json.loads(provider.stdout.readline())["issuer"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "OAUTH_", "TOKEN_TRANSPORT"))}
    env.update({
        "OAUTH_PROVIDERS": json.dumps([{"id": "op", "kind": "oidc", "issuer": issuer,
                                        "client_id": "latency", "client_secret": "latency-secret"}]),
        "TOKEN_TRANSPORT": "body", "RUST_LOG": "info",
    })
    api = subprocess.Popen([args.bin, "--addr", f"127.0.0.1:{port}"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    upstream = []
    listening = threading.Event()

    def read_log():
        for line in api.stdout:
            if "listening on" in line:
                listening.set()
            found = re.search(r'"upstream_ms":([0-9.eE+-]+)', line)
            if found:
                upstream.append(float(found.group(1)))

    threading.Thread(target=read_log, daemon=True).start()
    if not listening.wait(60):
        sys.exit("local-api did not start")
    rows = []
    try:
        for run in range(args.runs):
            verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            query = urllib.parse.urlencode({"redirect_uri": f"{base}/", "code_challenge": challenge,
                                            "code_challenge_method": "S256", "login_hint": f"latency-{run}@example.com"})
            authorize_ms, response, _ = timed(f"{base}/auth/oauth/op/authorize?{query}")
            location = response.headers["location"]
            cookie = response.headers["set-cookie"].split(";")[0]
            answer = json.load(urllib.request.urlopen(
                f"{issuer}/_test/complete?url={urllib.parse.quote(location, safe='')}", timeout=30))
            callback = answer["callback"]
            before = len(upstream)
            callback_ms, response, _ = timed(urllib.request.Request(callback, headers={"cookie": cookie}))
            code = response.headers["location"].split("#code=", 1)[1]
            for _ in range(100):
                if len(upstream) > before:
                    break
                time.sleep(0.01)
            token_ms, response, body = timed(urllib.request.Request(
                f"{base}/auth/oauth/token", data=json.dumps({"code": code, "code_verifier": verifier}).encode(),
                headers={"content-type": "application/json"}))
            assert response.status == 200, body
            rows.append((authorize_ms, callback_ms, upstream[-1], token_ms))
    finally:
        api.terminate()
        provider.kill()
    warm = rows[1:] or rows
    median = lambda index: statistics.median(row[index] for row in warm)
    ours_callback = statistics.median(row[1] - row[2] for row in warm)
    print(f"federated sign-in over {len(warm)} runs (medians, ms; embedded store; {os.path.basename(args.bin)}):")
    print(f"  authorize {median(0):.2f}   callback {median(1):.2f} of which the provider {median(2):.2f} "
          f"(ours {ours_callback:.2f})   token {median(3):.2f}")
    print(f"  this service's own time per sign-in: {median(0) + ours_callback + median(3):.2f} ms")
    print(f"  first sign-in (discovery + keys fetched): authorize {rows[0][0]:.2f}, callback {rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
