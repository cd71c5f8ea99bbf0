#!/usr/bin/env python3
"""Probe of an account takeover against a running local API: does an email-change link survive the
owner's password reset?

    cargo run -p local-api &                      # http://127.0.0.1:3000, embedded store
    python3 scripts/probe_email_change.py [--base http://127.0.0.1:3000]

Step by step: the owner registers; someone who knows the password signs in and asks to move the
account to their own address (POST /auth/email); the owner, told by the notice, resets the
password through the mailed link; then the attacker opens their confirmation link. A safe service
answers 401 invalid_token and the account keeps the owner's address. Reads the mail from the
local API's /_dev/outbox. Exits 1 when the link still works.
"""

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
import uuid


def call(base, method, path, body=None, bearer=None):
    headers = {"content-type": "application/json"} if body is not None else {}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text else None


def mailed_token(base, to, path):
    _, outbox = call(base, "GET", "/_dev/outbox")
    for message in reversed(outbox["messages"]):
        found = re.search(re.escape(path) + r"#token=([A-Za-z0-9_-]+)", message["text"])
        if message["to"] == to and found:
            return found.group(1)
    sys.exit(f"no {path} link mailed to {to}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:3000")
    base = parser.parse_args().base
    owner, attacker = (f"probe-{who}-{uuid.uuid4().hex[:8]}@example.com" for who in ("owner", "attacker"))
    password, new_password = "correct horse battery staple", "the owner's new passphrase"

    def step(label, status, answer):
        code = (answer or {}).get("code", "") if isinstance(answer, dict) else ""
        print(f"{label:<72} {status} {code}".rstrip())
        return answer

    step("1. the owner registers", *call(base, "POST", "/auth/register", {"email": owner, "password": password}))
    status, session = call(base, "POST", "/auth/login", {"email": owner, "password": password})
    step("2. someone with the password signs in", status, session)
    change = {"new_email": attacker, "current_password": password}
    step("3. ...and asks to move the account to their address", *call(
        base, "POST", "/auth/email", change, session["access_token"]))
    link = mailed_token(base, attacker, "/verify-email")
    step("4. the owner asks for a reset link", *call(base, "POST", "/auth/password/forgot", {"email": owner}))
    reset = {"token": mailed_token(base, owner, "/reset-password"), "new_password": new_password}
    step("5. the owner resets the password", *call(base, "POST", "/auth/password/reset", reset))
    status, answer = call(base, "POST", "/auth/email/verify", {"token": link})
    step("6. the attacker opens the confirmation link", status, answer)
    status, signed_in = call(base, "POST", "/auth/login", {"email": owner, "password": new_password})
    kept = status == 200 and signed_in["user"]["email"] == owner
    print(f"{'7. the account still has the owner address':<72} {'yes' if kept else 'no'}")
    sys.exit(0 if kept and answer and answer.get("code") == "invalid_token" else 1)


if __name__ == "__main__":
    main()
