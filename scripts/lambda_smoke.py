#!/usr/bin/env python3
"""Runs each function binary under a Lambda Runtime API (`cargo lambda watch`) and walks the
contract: register -> login -> authorizer -> me -> refresh -> logout -> refresh fails.

Needs: cargo-lambda on PATH, a DynamoDB endpoint with the tables (AWS_ENDPOINT_URL_DYNAMODB,
USERS_TABLE, REVOCATIONS_TABLE), and the JWT_* variables. scripts/test.sh provides all of it.
"""
import json
import os
import socket
import subprocess
import sys
import time
import uuid


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = free_port()


def invoke(function, event_file, replacements=None):
    with open(event_file) as handle:
        text = handle.read()
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    result = subprocess.run(
        ["cargo", "lambda", "invoke", function, "--data-ascii", text, "-A", "127.0.0.1", "-P", str(PORT)],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        sys.exit(f"invoke {function} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def body(response):
    return json.loads(response["body"]) if response.get("body") else None


PASSED = []


def expect(condition, message):
    if not condition:
        print(f"smoke: {len(PASSED)} passed, 1 failed")
        sys.exit(f"FAILED: {message}")
    PASSED.append(message)
    print(f"ok: {message}")


def main():
    watch = subprocess.Popen(
        ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(PORT)],
        stdout=subprocess.DEVNULL, stderr=open("target/lambda-watch.log", "w"),
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
        with open("events/register.json") as handle:
            original_email = json.loads(json.loads(handle.read())["body"])["email"]
        swap = {original_email: email}

        registered = invoke("register", "events/register.json", swap)
        expect(registered["statusCode"] == 201, f"register answers 201 ({registered['statusCode']})")
        logged_in = invoke("login", "events/login.json", swap)
        expect(logged_in["statusCode"] == 200, "login answers 200")
        tokens = body(logged_in)

        decision = invoke("authorizer", "events/authorizer.json", {"REPLACE_WITH_ACCESS_TOKEN": tokens["access_token"]})
        expect(decision.get("isAuthorized") is True, "authorizer admits the access token")
        refused = invoke("authorizer", "events/authorizer.json", {"REPLACE_WITH_ACCESS_TOKEN": tokens["refresh_token"]})
        expect(refused.get("isAuthorized") is False, "authorizer refuses a refresh token")

        with open("events/me.json") as handle:
            me_event = json.load(handle)
        me_event["requestContext"]["authorizer"]["lambda"] = decision["context"]
        me_path = "target/me-event.json"
        with open(me_path, "w") as handle:
            json.dump(me_event, handle)
        me = invoke("me", me_path)
        expect(me["statusCode"] == 200 and body(me)["email"] == email, "me answers from the authorizer context")

        jwks = invoke("jwks", "events/jwks.json")
        expect(jwks["statusCode"] == 200 and body(jwks)["keys"], "jwks serves the public keys")

        refreshed = invoke("refresh", "events/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": tokens["refresh_token"]})
        expect(refreshed["statusCode"] == 200, "refresh answers 200")
        newest = body(refreshed)["refresh_token"]
        out = invoke("logout", "events/logout.json", {"REPLACE_WITH_REFRESH_TOKEN": newest})
        expect(out["statusCode"] == 204, "logout answers 204")
        after = invoke("refresh", "events/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": newest})
        expect(after["statusCode"] == 401 and body(after)["code"] == "token_revoked", "refresh after logout is refused")
        print(f"smoke: {len(PASSED)} passed, 0 failed")
    finally:
        watch.terminate()
        watch.wait(timeout=10)


if __name__ == "__main__":
    main()
