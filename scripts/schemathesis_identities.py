"""The identities scripts/schemathesis.sh runs with, made on a fresh local API, written as two
schemathesis configs.

    schemathesis_identities.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD CLIENT_SECRET OUT_DIR

- an administrator (the local API made it: --admin-email) for the admin routes (adminBearer);
- a user for the user routes (bearerAuth), with a verified address (so that MFA enrolment is
  reached) and a second session: the only one DELETE
  /auth/sessions/{id} is given, so no generated request ends the session the run uses;
- a victim, with a verified address and MFA on, the only account the admin routes act on (so no
  generated request demotes, disables or signs out the admin or the user, and DELETE
  /admin/users/{id}/mfa has something to remove, once);
- an account with MFA on, whose token the second config gives DELETE /auth/mfa/totp: its codes
  are checked (401 invalid_code, then 429) rather than answered 404 (MFA is off).

Writes OUT_DIR/schemathesis.toml (the user) and OUT_DIR/schemathesis-mfa.toml (the MFA account).
Standard library only.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import time
import urllib.error
import urllib.request
import uuid

PASSWORD = "correct horse battery staple"


def main():
    base, admin_email, admin_password, client_secret, out_dir = sys.argv[1:6]

    def call(method, path, body=None, token=None):
        headers = {"content-type": "application/json"} if body is not None else {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        return status, json.loads(text) if text else None

    def expect(status, answer, what):
        if answer[0] != status:
            sys.exit(f"schemathesis identities: {what} answered {answer[0]}, not {status}: {answer[1]}")
        return answer[1]

    def register(name):
        email = f"schemathesis-{name}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": PASSWORD}
        return email, expect(201, call("POST", "/auth/register", body), f"registering {email}")

    def verify_address(email):
        """Opens the verification link the registration mailed (from the local API's outbox)."""
        messages = expect(200, call("GET", "/_dev/outbox"), "the outbox")["messages"]
        links = [m["text"] for m in messages if m["to"] == email and "verify-email#token=" in m["text"]]
        if not links:
            sys.exit(f"schemathesis identities: no verification link for {email} in the outbox")
        token_in_link = re.search(r"verify-email#token=([A-Za-z0-9_-]+)", links[-1]).group(1)
        expect(200, call("POST", "/auth/email/verify", {"token": token_in_link}), f"verifying {email}")

    def turn_mfa_on(email, token):
        """Verifies the address, enrols and confirms; the access token to go on with (confirming
        renews the session)."""
        verify_address(email)
        secret = expect(200, call("POST", "/auth/mfa/totp", token=token), f"MFA enrolment of {email}")["secret"]
        confirm = {"code": totp(secret, time.time()), "current_password": PASSWORD}
        enabled = expect(200, call("POST", "/auth/mfa/totp/confirm", confirm, token), f"MFA confirmation of {email}")
        return enabled.get("access_token", token)

    login = {"email": admin_email, "password": admin_password}
    admin = expect(200, call("POST", "/auth/login", login), "the admin's login")
    if admin["user"]["role"] != "admin":
        sys.exit(f"schemathesis identities: {admin_email} is no admin: {admin['user']}")
    user_email, _ = register("user")
    verify_address(user_email)  # MFA enrolment needs a verified address
    login = {"email": user_email, "password": PASSWORD}
    user = expect(200, call("POST", "/auth/login", login), "the user's login")  # a token that says so
    second = expect(200, call("POST", "/auth/login", login), "the user's second login")
    victim_email, victim = register("victim")
    turn_mfa_on(victim_email, victim["access_token"])
    mfa_email, mfa_owner = register("mfa")
    mfa_token = turn_mfa_on(mfa_email, mfa_owner["access_token"])
    # DELETE /auth/me acts on an account of its own, in a run of its own (after the others).
    doomed_email, doomed = register("doomed")

    def config(bearer):
        return f"""[auth.openapi.bearerAuth]
bearer = "{bearer}"

[auth.openapi.adminBearer]
bearer = "{admin["access_token"]}"

[auth.openapi.clientBasic]
username = "schemathesis"
password = "{client_secret}"

# The admin routes act on the victim only.
[[operations]]
include-path-regex = '^/admin/users/\\{{id\\}}'
parameters = {{ id = "{victim["user"]["id"]}" }}

# The user's second session, never the one the run uses.
[[operations]]
include-operation-id = "endSession"
parameters = {{ id = "{claims(second["access_token"])["sid"]}" }}
"""

    with open(os.path.join(out_dir, "schemathesis.toml"), "w") as out:
        out.write(config(user["access_token"]))
    with open(os.path.join(out_dir, "schemathesis-mfa.toml"), "w") as out:
        out.write(config(mfa_token))
    with open(os.path.join(out_dir, "schemathesis-delete.toml"), "w") as out:
        out.write(config(doomed["access_token"]))
    print(f"identities: admin {admin_email}, user {user_email}, victim {victim_email} (MFA on), {mfa_email} (MFA on), "
          f"{doomed_email} (to delete)")


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def totp(secret, at):
    """RFC 6238 with the service's parameters: HMAC-SHA-1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


if __name__ == "__main__":
    main()
