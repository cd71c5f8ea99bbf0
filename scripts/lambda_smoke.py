#!/usr/bin/env python3
"""Runs each function binary under cargo-lambda's Lambda Runtime API emulator and walks the
contract: register -> login -> authorizer -> me -> refresh -> logout -> refresh fails; then a
password change (the other device is signed out, the old password stops working) and the admin
routes with an admin made by `authctl create-admin` (list, get, disable; the disabled user is shut
out); then the email flows (verify, resend, forgot / reset, email change), their links read back
from what SES (moto, AWS_ENDPOINT_URL_SESV2) was asked to send; the session list (list, end one,
the admin's list and end-all); MFA (enrol, confirm with a TOTP code computed here, the login's
second step, a refused disable, the admin's removal); the discovery document, RFC 7662
introspection with the client of INTROSPECTION_CLIENTS (SMOKE_CLIENT_SECRET) and RFC 7009
revocation; a sign-in through an upstream OpenID provider (panva's oidc-provider from
tests/upstream, started here) and the login code's trade; a passkey added and signed in with
(a software authenticator, scripts/soft_passkey.py). Every directory under functions/ must be started and invoked: a new function without a
smoke step fails the run.

Needs: cargo-lambda on PATH, a DynamoDB endpoint with the tables (AWS_ENDPOINT_URL_DYNAMODB,
USERS_TABLE, REVOCATIONS_TABLE), and the JWT_* variables. scripts/test.sh provides all of it.

`cargo lambda watch --only-lambda-apis` serves the Runtime API and `cargo lambda invoke` sends the
events, as in development; the binaries themselves are built here and started by this script, one
process per function, the way Lambda runs a bootstrap. So no file watcher and no `cargo run` sit
between the test and the binary (on a fresh CI machine a watched, compile-on-first-invoke
function left its invoke waiting for ten minutes with nothing in the log). A function that exits
fails the run at once with its own log; every invoke is bounded.
"""
import base64
import hashlib
import hmac
import json
import re
import struct
import urllib.parse
import urllib.request
import os
import socket
import subprocess
import sys
import time
import uuid

from soft_passkey import SoftPasskey

FUNCTIONS = [
    "register", "login", "authorizer", "me", "jwks", "refresh", "logout", "change-password",
    "admin-list-users", "admin-get-user", "admin-update-user", "admin-roles", "account-recovery", "change-email",
    "sessions", "admin-user-sessions", "mfa", "mfa-verify", "revoke", "introspect", "delete-account",
    "oauth", "oauth-token", "passkeys", "passkey-login",
]
# The binaries cargo built: CARGO_TARGET_DIR when set, as for cargo itself.
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or "target"
LOG_DIR = os.path.join(TARGET_DIR, "lambda-smoke")
INVOKE_TIMEOUT_SECONDS = 60
PASSED = []
PROCESSES = {}
INVOKED = set()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = free_port()


def log_path(name):
    return os.path.join(LOG_DIR, f"{name}.log")


def print_log(name):
    try:
        with open(log_path(name)) as handle:
            lines = handle.readlines()
    except OSError:
        return
    print(f"--- last lines of {log_path(name)} ---")
    print("".join(lines[-40:]), end="")
    print("---")


def fail(message, logs=()):
    print(f"smoke: {len(PASSED)} passed, 1 failed")
    for name in logs:
        print_log(name)
    sys.exit(f"FAILED: {message}")


def start(name, command, env=None):
    PROCESSES[name] = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=open(log_path(name), "w"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )


def check_alive(name):
    process = PROCESSES[name]
    if process.poll() is not None:
        fail(f"{name} exited with {process.returncode}", logs=[name])


def start_function(name):
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{PORT}/.rt/{name}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    })
    start(name, [os.path.join(TARGET_DIR, "debug", name)], env)


def invoke(function, event_file, replacements=None, context=None, edit=None):
    """Invokes `function` with the sample event, its placeholders replaced; `context` becomes
    the authorizer's context (as API Gateway passes the authorizer's answer on), `edit` may
    change the parsed event further."""
    with open(event_file) as handle:
        text = handle.read()
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    if context is not None or edit is not None:
        event = json.loads(text)
        if context is not None:
            event["requestContext"]["authorizer"]["lambda"] = context
        if edit is not None:
            edit(event)
        text = json.dumps(event)
    check_alive(function)
    INVOKED.add(function)
    try:
        result = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--data-ascii", text, "-A", "127.0.0.1", "-P", str(PORT)],
            capture_output=True, text=True, timeout=INVOKE_TIMEOUT_SECONDS + 30,
        )
    except subprocess.TimeoutExpired:
        fail(f"invoke {function}: no answer in {INVOKE_TIMEOUT_SECONDS + 30} s", logs=["runtime-api", function])
    if result.returncode != 0:
        fail(f"invoke {function} failed: {result.stderr.strip()}", logs=["runtime-api", function])
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        fail(f"invoke {function} answered no JSON: {result.stdout[:500]!r}", logs=[function])


def ses_create_identity(identity):
    """A verified sending identity in moto's SES v2 (CreateEmailIdentity, REST-JSON)."""
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL_SESV2"].rstrip("/") + "/v2/email/identities",
        data=json.dumps({"EmailIdentity": identity}).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, "
                                  "SignedHeaders=host, Signature=0"})
    urllib.request.urlopen(request, timeout=10).read()


def ses_token(to, path):
    """The token of the newest {path} link SES (moto) was asked to send to `to`."""
    data = json.load(urllib.request.urlopen(
        os.environ["AWS_ENDPOINT_URL_SESV2"].rstrip("/") + "/moto-api/data.json", timeout=10))
    bodies = [message["body"] for message in data.get("ses", {}).get("Message", [])
              if to in message.get("destinations", {}).get("ToAddresses", [])]
    for text in reversed(bodies):
        found = re.search(re.escape(path) + r"#token=([A-Za-z0-9_-]+)", text)
        if found:
            return found.group(1)
    fail(f"SES sent no {path} link to {to}", logs=["account-recovery", "register", "change-email"])


def totp(secret, at):
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it from the secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def body(response):
    return json.loads(response["body"]) if response.get("body") else None


def code(response):
    """The problem code of an error response (`{"code": ...}`), else None."""
    answer = body(response)
    return answer.get("code") if isinstance(answer, dict) else None


def status_and_code(response):
    return f"{response.get('statusCode')} {code(response)}"


def start_upstream_provider():
    """panva's oidc-provider (tests/upstream/provider.mjs) for the federation step: its issuer,
    and OAUTH_PROVIDERS / OAUTH_REDIRECT_URIS set for the functions started after it."""
    callback = os.environ["JWT_ISSUER"].rstrip("/") + "/auth/oauth/op/callback"
    env = dict(os.environ, PORT="0", CLIENT_ID="smoke-service", CLIENT_SECRET="smoke-upstream-secret",
               REDIRECT_URIS=callback)
    process = subprocess.Popen(["node", "tests/upstream/provider.mjs"], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    PROCESSES["upstream-provider"] = process
    issuer = json.loads(process.stdout.readline())["issuer"]
    os.environ["OAUTH_PROVIDERS"] = json.dumps([{
        "id": "op", "kind": "oidc", "issuer": issuer, "client_id": "smoke-service",
        "client_secret": "smoke-upstream-secret"}])
    os.environ["OAUTH_REDIRECT_URIS"] = "https://app.smoke.test/signed-in"
    return issuer


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def check_function_list():
    """The smoke covers every function binary: the list above is the directories in functions/."""
    present = sorted(entry for entry in os.listdir("functions") if os.path.isdir(os.path.join("functions", entry)))
    if sorted(FUNCTIONS) != present:
        missing = sorted(set(present) - set(FUNCTIONS))
        extra = sorted(set(FUNCTIONS) - set(present))
        fail(f"scripts/lambda_smoke.py FUNCTIONS differs from functions/: without a smoke step {missing}, "
             f"listed but absent {extra}")


def expect(condition, message):
    if not condition:
        fail(message, logs=FUNCTIONS)
    PASSED.append(message)
    print(f"ok: {message}")


def main():
    check_function_list()
    # The same target set as `cargo test --workspace --all-targets`: after the test step a no-op.
    built = subprocess.run(["cargo", "build", "--workspace", "--all-targets", "--quiet"])
    if built.returncode != 0:
        fail(f"cargo build exited with {built.returncode}")
    os.makedirs(LOG_DIR, exist_ok=True)
    try:
        start("runtime-api", ["cargo", "lambda", "watch", "--only-lambda-apis",
                              "--timeout", str(INVOKE_TIMEOUT_SECONDS), "-A", "127.0.0.1", "-P", str(PORT)])
        for _ in range(100):
            check_alive("runtime-api")
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            fail(f"the Runtime API did not listen on port {PORT} within 20 s", logs=["runtime-api"])
        ses_create_identity("smoke.example.com")
        upstream_issuer = start_upstream_provider()
        for function in FUNCTIONS:
            start_function(function)

        email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
        with open("samples/register.json") as handle:
            original = json.loads(json.loads(handle.read())["body"])
        original_email, password = original["email"], original["password"]
        swap = {original_email: email}

        registered = invoke("register", "samples/register.json", swap)
        expect(registered["statusCode"] == 201, f"register answers 201 ({registered['statusCode']})")
        logged_in = invoke("login", "samples/login.json", swap)
        expect(logged_in["statusCode"] == 200, "login answers 200")
        tokens = body(logged_in)

        decision = invoke("authorizer", "samples/authorizer.json", {"REPLACE_WITH_ACCESS_TOKEN": tokens["access_token"]})
        expect(decision.get("isAuthorized") is True, "authorizer admits the access token")
        refused = invoke("authorizer", "samples/authorizer.json", {"REPLACE_WITH_ACCESS_TOKEN": tokens["refresh_token"]})
        expect(refused.get("isAuthorized") is False, "authorizer refuses a refresh token")

        me = invoke("me", "samples/me.json", context=decision["context"])
        expect(me["statusCode"] == 200 and body(me)["email"] == email, "me answers from the authorizer context")

        jwks = invoke("jwks", "samples/jwks.json")
        expect(jwks["statusCode"] == 200 and body(jwks)["keys"], "jwks serves the public keys")

        refreshed = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": tokens["refresh_token"]})
        expect(refreshed["statusCode"] == 200, "refresh answers 200")
        newest = body(refreshed)["refresh_token"]
        out = invoke("logout", "samples/logout.json", {"REPLACE_WITH_REFRESH_TOKEN": newest})
        expect(out["statusCode"] == 204, "logout answers 204")
        after = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": newest})
        expect(after["statusCode"] == 401 and code(after) == "token_revoked", "refresh after logout is refused")

        # The password change: two signed-in devices; one changes the password.
        def login(address, secret):
            return invoke("login", "samples/login.json", swap, edit=lambda event: event.update(
                body=json.dumps({"email": address, "password": secret})))

        this_device = body(login(email, password))
        other_device = body(login(email, password))
        this_context = invoke("authorizer", "samples/authorizer.json",
                              {"REPLACE_WITH_ACCESS_TOKEN": this_device["access_token"]})["context"]
        new_password = "a different horse, a new staple"
        with open("samples/change-password.json") as handle:
            sample_change = json.loads(json.load(handle)["body"])
        expect(sample_change == {"current_password": password, "new_password": new_password},
               "samples/change-password.json changes register.json's password")
        wrong = invoke("change-password", "samples/change-password.json",
                       {"REPLACE_WITH_ACCESS_TOKEN": this_device["access_token"]}, context=this_context,
                       edit=lambda event: event.update(
                           body=json.dumps({"current_password": "not the password at all", "new_password": new_password})))
        expect(wrong["statusCode"] == 401 and code(wrong) == "invalid_credentials",
               f"change-password refuses a wrong current password ({status_and_code(wrong)})")
        changed = invoke("change-password", "samples/change-password.json",
                         {"REPLACE_WITH_ACCESS_TOKEN": this_device["access_token"]}, context=this_context)
        renewed = body(changed) or {}
        expect(changed["statusCode"] == 200 and renewed.get("access_token") and renewed.get("refresh_token"),
               f"change-password answers 200 with this session's new tokens ({status_and_code(changed)})")
        still_here = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": renewed["refresh_token"]})
        expect(still_here["statusCode"] == 200, "the changing session goes on: its new refresh token refreshes")
        other = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": other_device["refresh_token"]})
        expect(other["statusCode"] == 401 and code(other) == "token_revoked",
               f"the other device is signed out by the change ({status_and_code(other)})")
        old = login(email, password)
        expect(old["statusCode"] == 401 and code(old) == "invalid_credentials",
               f"the old password no longer logs in ({status_and_code(old)})")
        user_login = login(email, new_password)
        expect(user_login["statusCode"] == 200, f"the new password logs in ({status_and_code(user_login)})")
        user_tokens = body(user_login)
        user_context = invoke("authorizer", "samples/authorizer.json",
                              {"REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]})["context"]

        # The session list: the renewed device and the new login, newest first; ending the first.
        listed_sessions = invoke("sessions", "samples/sessions-list.json",
                                 {"REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]}, context=user_context)
        sessions = (body(listed_sessions) or {}).get("sessions", [])
        expect(listed_sessions["statusCode"] == 200
               and [session["id"] for session in sessions] == [user_context["session_id"], this_context["session_id"]]
               and [session["current"] for session in sessions] == [True, False],
               f"sessions lists both live sessions, newest first, the caller's marked ({status_and_code(listed_sessions)})")
        sample_session = "5f0c7f0e-1d2b-4c3a-9e8f-000000000003"
        ended_one = invoke("sessions", "samples/sessions-end.json",
                           {sample_session: this_context["session_id"],
                            "REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]}, context=user_context)
        expect(ended_one["statusCode"] == 204, f"sessions ends one session ({status_and_code(ended_one)})")
        gone = invoke("refresh", "samples/refresh.json",
                      {"REPLACE_WITH_REFRESH_TOKEN": body(still_here)["refresh_token"]})
        expect(gone["statusCode"] == 401 and code(gone) == "token_revoked",
               f"the ended session's refresh token stops ({status_and_code(gone)})")
        not_there = invoke("sessions", "samples/sessions-end.json",
                           {sample_session: str(uuid.uuid4()),
                            "REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]}, context=user_context)
        expect(not_there["statusCode"] == 404 and code(not_there) == "not_found",
               f"sessions answers 404 for a session that is not the caller's ({status_and_code(not_there)})")

        # The admin routes, with an admin made the way README says: authctl create-admin.
        admin_email = f"smoke-admin-{uuid.uuid4().hex[:12]}@example.com"
        admin_password = "the operator's own long passphrase"
        created = subprocess.run([os.path.join(TARGET_DIR, "debug", "authctl"), "create-admin", "--email", admin_email],
                                 input=admin_password + "\n", capture_output=True, text=True, timeout=60)
        expect(created.returncode == 0 and f"created admin {admin_email}" in created.stdout,
               f"authctl create-admin creates an admin ({created.returncode}: {created.stdout.strip()} {created.stderr.strip()})")
        admin_login = login(admin_email, admin_password)
        expect(admin_login["statusCode"] == 200, f"the admin logs in ({status_and_code(admin_login)})")
        admin_decision = invoke("authorizer", "samples/authorizer.json",
                                {"REPLACE_WITH_ACCESS_TOKEN": body(admin_login)["access_token"]})
        admin_context = admin_decision["context"]
        expect(admin_decision.get("isAuthorized") is True and admin_context.get("role") == "admin",
               "authorizer admits the admin with role admin")
        admin_token = {"REPLACE_WITH_ACCESS_TOKEN": body(admin_login)["access_token"]}

        not_admin = invoke("admin-list-users", "samples/admin-list-users.json",
                           {"REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]}, context=user_context)
        expect(not_admin["statusCode"] == 403 and code(not_admin) == "forbidden",
               f"admin-list-users refuses a user ({status_and_code(not_admin)})")

        def page(cursor):
            def edit(event):
                query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
                event["queryStringParameters"] = query
                event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
            return invoke("admin-list-users", "samples/admin-list-users.json", admin_token, context=admin_context,
                          edit=edit)

        listed, cursor, pages = {}, None, 0
        while True:
            answer = page(cursor)
            if answer["statusCode"] != 200:
                expect(False, f"admin-list-users answers 200 ({status_and_code(answer)})")
            users = body(answer)["users"]
            if len(users) > 2:
                expect(False, f"admin-list-users honours limit=2 ({len(users)} users on a page)")
            listed.update({user["email"]: user for user in users})
            pages += 1
            cursor = body(answer).get("next_cursor")
            if not cursor or pages > 50:
                break
        expect(email in listed and admin_email in listed and listed[admin_email]["role"] == "admin"
               and listed[email]["role"] == "user" and listed[email]["disabled"] is False,
               f"admin-list-users pages (limit=2, {pages} pages) through both users with their roles")
        user_id = listed[email]["id"]
        sample_id = "0190a5b2-0000-7000-8000-000000000001"

        fetched = invoke("admin-get-user", "samples/admin-get-user.json", {sample_id: user_id, **admin_token},
                         context=admin_context)
        expect(fetched["statusCode"] == 200 and body(fetched)["email"] == email and body(fetched)["id"] == user_id,
               f"admin-get-user answers the user ({status_and_code(fetched)})")
        unknown = invoke("admin-get-user", "samples/admin-get-user.json", {sample_id: str(uuid.uuid4()), **admin_token},
                         context=admin_context)
        expect(unknown["statusCode"] == 404 and code(unknown) == "not_found",
               f"admin-get-user answers 404 for an unknown id ({status_and_code(unknown)})")

        by_admin = invoke("admin-user-sessions", "samples/admin-user-sessions.json",
                          {sample_id: user_id, **admin_token}, context=admin_context)
        expect(by_admin["statusCode"] == 200
               and [session["id"] for session in body(by_admin)["sessions"]] == [user_context["session_id"]],
               f"admin-user-sessions lists the user's live session ({status_and_code(by_admin)})")
        user_asks = invoke("admin-user-sessions", "samples/admin-user-sessions.json",
                           {sample_id: user_id, "REPLACE_WITH_ACCESS_TOKEN": user_tokens["access_token"]},
                           context=user_context)
        expect(user_asks["statusCode"] == 403 and code(user_asks) == "forbidden",
               f"admin-user-sessions refuses a user ({status_and_code(user_asks)})")
        all_ended = invoke("admin-user-sessions", "samples/admin-user-sessions.json",
                           {sample_id: user_id, **admin_token}, context=admin_context,
                           edit=lambda event: (event.update(routeKey="DELETE /admin/users/{id}/sessions"),
                                               event["requestContext"]["http"].update(method="DELETE")))
        expect(all_ended["statusCode"] == 204, f"admin-user-sessions ends the user's sessions ({status_and_code(all_ended)})")
        empty = invoke("admin-user-sessions", "samples/admin-user-sessions.json",
                       {sample_id: user_id, **admin_token}, context=admin_context)
        expect(empty["statusCode"] == 200 and body(empty)["sessions"] == [], "no session of the user is left")

        # Roles: defined, assigned (the user's next refresh carries them), refused while held.
        user_tokens = body(login(email, new_password))
        defined = invoke("admin-roles", "samples/admin-roles.json", admin_token, context=admin_context)
        expect(defined["statusCode"] == 200 and body(defined)["permissions"] == ["orders:read", "users:read"],
               f"admin-roles defines a role ({status_and_code(defined)})")
        assigned = invoke("admin-update-user", "samples/admin-update-user.json", {sample_id: user_id, **admin_token},
                          context=admin_context,
                          edit=lambda event: event.update(body=json.dumps({"roles": ["support"]})))
        expect(assigned["statusCode"] == 200 and body(assigned)["roles"] == ["support"],
               f"admin-update-user assigns the role ({status_and_code(assigned)})")
        carried = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": user_tokens["refresh_token"]})
        expect(carried["statusCode"] == 200, f"the user refreshes ({status_and_code(carried)})")
        user_tokens = body(carried)
        payload = user_tokens["access_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expect(claims.get("roles") == ["support"] and claims.get("permissions") == ["orders:read", "users:read"],
               f"the refreshed access token carries the role and its permissions ({claims.get('roles')})")
        held = invoke("admin-roles", "samples/admin-roles.json", admin_token, context=admin_context,
                      edit=lambda event: (event.update(routeKey="DELETE /admin/roles/{name}", body=None),
                                          event["requestContext"]["http"].update(method="DELETE")))
        expect(held["statusCode"] == 409 and code(held) == "conflict",
               f"admin-roles refuses to delete a role in use ({status_and_code(held)})")
        disabled = invoke("admin-update-user", "samples/admin-update-user.json", {sample_id: user_id, **admin_token},
                          context=admin_context)
        expect(disabled["statusCode"] == 200 and body(disabled)["disabled"] is True,
               f"admin-update-user disables the user ({status_and_code(disabled)})")
        again = invoke("admin-get-user", "samples/admin-get-user.json", {sample_id: user_id, **admin_token},
                       context=admin_context)
        expect(again["statusCode"] == 200 and body(again)["disabled"] is True, "the disable is stored")
        shut_out = login(email, new_password)
        expect(shut_out["statusCode"] == 403 and code(shut_out) == "account_disabled",
               f"the disabled user cannot log in ({status_and_code(shut_out)})")
        ended = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": user_tokens["refresh_token"]})
        expect(ended["statusCode"] == 401 and code(ended) == "token_revoked",
               f"the disabled user's session is revoked ({status_and_code(ended)})")
        self_disable = invoke("admin-update-user", "samples/admin-update-user.json",
                              {sample_id: admin_context["user_id"], **admin_token}, context=admin_context)
        expect(self_disable["statusCode"] == 409 and code(self_disable) == "conflict",
               f"an admin cannot disable themself ({status_and_code(self_disable)})")
        # Email: verification, forgot / reset and email change, each link read back from what
        # SES (moto) was asked to send.
        mail_user = f"smoke-mail-{uuid.uuid4().hex[:12]}@example.com"
        invoke("register", "samples/register.json", {original_email: mail_user})
        verified = invoke("account-recovery", "samples/verify-email.json",
                          {"REPLACE_WITH_ONE_TIME_TOKEN": ses_token(mail_user, "/verify-email")})
        expect(verified["statusCode"] == 200 and body(verified)["user"]["email_verified"] is True,
               f"account-recovery verifies the address with the mailed link ({status_and_code(verified)})")
        spent = invoke("account-recovery", "samples/verify-email.json",
                       {"REPLACE_WITH_ONE_TIME_TOKEN": ses_token(mail_user, "/verify-email")})
        expect(spent["statusCode"] == 401 and code(spent) == "invalid_token", "a verification link works once")
        resent = invoke("account-recovery", "samples/resend-verification.json", {"alice@example.com": mail_user})
        expect(resent["statusCode"] == 202, f"resend answers 202 ({status_and_code(resent)})")
        asked = invoke("account-recovery", "samples/forgot-password.json", {"alice@example.com": mail_user})
        expect(asked["statusCode"] == 202, f"forgot answers 202 ({status_and_code(asked)})")
        reset = invoke("account-recovery", "samples/reset-password.json",
                       {"REPLACE_WITH_ONE_TIME_TOKEN": ses_token(mail_user, "/reset-password")})
        expect(reset["statusCode"] == 204, f"reset answers 204 ({status_and_code(reset)})")
        mail_session = body(login(mail_user, "a passphrase set by a reset link"))
        expect(bool(mail_session and mail_session.get("access_token")), "the reset password logs in")
        mail_context = invoke("authorizer", "samples/authorizer.json",
                              {"REPLACE_WITH_ACCESS_TOKEN": mail_session["access_token"]})["context"]
        new_address = f"smoke-moved-{uuid.uuid4().hex[:12]}@example.com"
        moving = invoke("change-email", "samples/change-email.json",
                        {"REPLACE_WITH_ACCESS_TOKEN": mail_session["access_token"]}, context=mail_context,
                        edit=lambda event: event.update(body=json.dumps(
                            {"new_email": new_address, "current_password": "a passphrase set by a reset link"})))
        expect(moving["statusCode"] == 202, f"change-email answers 202 ({status_and_code(moving)})")
        moved = invoke("account-recovery", "samples/verify-email.json",
                       {"REPLACE_WITH_ONE_TIME_TOKEN": ses_token(new_address, "/verify-email")})
        expect(moved["statusCode"] == 200 and body(moved)["user"]["email"] == new_address,
               f"the confirmation link moves the account to the new address ({status_and_code(moved)})")

        # MFA: enrol and confirm with a code computed from the secret, log in in two steps, a
        # disable with a wrong recovery code refused, the admin's removal (which signs out).
        mfa_user = f"smoke-mfa-{uuid.uuid4().hex[:12]}@example.com"
        invoke("register", "samples/register.json", {original_email: mfa_user})
        # Only a proved address may have a factor set up on it.
        invoke("account-recovery", "samples/verify-email.json",
               {"REPLACE_WITH_ONE_TIME_TOKEN": ses_token(mfa_user, "/verify-email")})
        mfa_session = body(login(mfa_user, password))
        mfa_token = {"REPLACE_WITH_ACCESS_TOKEN": mfa_session["access_token"]}
        mfa_context = invoke("authorizer", "samples/authorizer.json", mfa_token)["context"]
        enrolment = invoke("mfa", "samples/mfa-enrol.json", mfa_token, context=mfa_context)
        secret = (body(enrolment) or {}).get("secret", "")
        expect(enrolment["statusCode"] == 200 and len(secret) == 32 and "<svg" in body(enrolment)["qr_svg"],
               f"mfa starts an enrolment with its QR code ({status_and_code(enrolment)})")
        unproved = invoke("mfa-verify", "samples/mfa-confirm.json",
                          {"REPLACE_WITH_CODE": totp(secret, time.time()), "REPLACE_WITH_PASSWORD": "not it",
                           **mfa_token}, context=mfa_context)
        expect(unproved["statusCode"] == 401 and code(unproved) == "invalid_credentials",
               f"mfa-verify refuses a confirmation without the current password ({status_and_code(unproved)})")
        confirmed = invoke("mfa-verify", "samples/mfa-confirm.json",
                           {"REPLACE_WITH_CODE": totp(secret, time.time()), "REPLACE_WITH_PASSWORD": password,
                            **mfa_token}, context=mfa_context)
        recovery_codes = (body(confirmed) or {}).get("recovery_codes", [])
        expect(confirmed["statusCode"] == 200 and len(recovery_codes) == 10 and body(confirmed).get("access_token"),
               f"mfa-verify confirms the enrolment with a code and the password, answers 10 recovery codes and "
               f"the renewed session ({status_and_code(confirmed)})")
        challenge = login(mfa_user, password)
        expect(challenge["statusCode"] == 401 and code(challenge) == "mfa_required" and body(challenge).get("mfa_token"),
               f"login asks an MFA account for its second factor ({status_and_code(challenge)})")
        second_step = invoke("mfa-verify", "samples/mfa-verify.json",
                             {"REPLACE_WITH_MFA_TOKEN": body(challenge)["mfa_token"],
                              "REPLACE_WITH_CODE": totp(secret, time.time() + 30)})
        expect(second_step["statusCode"] == 200 and body(second_step).get("refresh_token"),
               f"mfa-verify starts the session with the next code ({status_and_code(second_step)})")
        kept = invoke("mfa", "samples/mfa-disable.json",
                      {"REPLACE_WITH_RECOVERY_CODE": "aaaa-aaaa-aaaa-aaaa", **mfa_token}, context=mfa_context)
        expect(kept["statusCode"] == 401 and code(kept) == "invalid_code",
               f"mfa refuses a disable with a wrong recovery code ({status_and_code(kept)})")
        removed = invoke("mfa", "samples/admin-user-mfa.json", {sample_id: mfa_context["user_id"], **admin_token},
                         context=admin_context)
        expect(removed["statusCode"] == 204, f"mfa lets an admin remove a user's MFA ({status_and_code(removed)})")
        signed_out = invoke("refresh", "samples/refresh.json",
                            {"REPLACE_WITH_REFRESH_TOKEN": body(second_step)["refresh_token"]})
        expect(signed_out["statusCode"] == 401 and code(signed_out) == "token_revoked",
               f"the removal revokes the user's sessions ({status_and_code(signed_out)})")
        expect(login(mfa_user, password)["statusCode"] == 200, "the password alone logs in again")

        # Standards: discovery, introspection (HTTP Basic), revocation.
        found = invoke("jwks", "samples/discovery.json")
        document = body(found) or {}
        expect(found["statusCode"] == 200 and document.get("jwks_uri", "").endswith("/.well-known/jwks.json")
               and document.get("introspection_endpoint", "").endswith("/auth/introspect"),
               f"jwks serves the discovery document ({status_and_code(found)})")
        client = base64.b64encode(f"smoke-rs:{os.environ['SMOKE_CLIENT_SECRET']}".encode()).decode()
        standard_user = body(login(mfa_user, password))

        def introspect(token):
            answer = invoke("introspect", "samples/introspect.json",
                            {"REPLACE_WITH_TOKEN": token, "REPLACE_WITH_CLIENT_CREDENTIALS": client})
            return answer["statusCode"], body(answer)

        status, answer = introspect(standard_user["access_token"])
        expect(status == 200 and (answer or {}).get("active") is True and answer.get("token_type") == "access_token",
               f"introspect answers active for a live access token ({status})")
        revoked = invoke("revoke", "samples/revoke.json", {"REPLACE_WITH_TOKEN": standard_user["refresh_token"]})
        expect(revoked["statusCode"] == 200 and not revoked.get("body"), f"revoke answers 200, empty ({status_and_code(revoked)})")
        expect(introspect(standard_user["refresh_token"]) == (200, {"active": False}),
               "the revoked refresh token is inactive")
        gone_too = invoke("refresh", "samples/refresh.json", {"REPLACE_WITH_REFRESH_TOKEN": standard_user["refresh_token"]})
        expect(gone_too["statusCode"] == 401 and code(gone_too) == "token_revoked", "a revoked refresh token stops")
        anonymous = invoke("introspect", "samples/introspect.json",
                           {"REPLACE_WITH_TOKEN": standard_user["access_token"], "REPLACE_WITH_CLIENT_CREDENTIALS": "bm9ib2R5Og=="})
        expect(anonymous["statusCode"] == 401 and code(anonymous) == "invalid_client", "introspect refuses an unknown client")

        # Account deletion by its owner, moments after signing in: the address is free again.
        doomed = f"smoke-doomed-{uuid.uuid4().hex[:12]}@example.com"
        doomed_tokens = body(invoke("register", "samples/register.json", {original_email: doomed}))
        doomed_context = invoke("authorizer", "samples/authorizer.json",
                                {"REPLACE_WITH_ACCESS_TOKEN": doomed_tokens["access_token"]})["context"]
        erased = invoke("delete-account", "samples/delete-account.json",
                        {"REPLACE_WITH_ACCESS_TOKEN": doomed_tokens["access_token"]}, context=doomed_context)
        expect(erased["statusCode"] == 204, f"delete-account deletes the caller's account ({status_and_code(erased)})")
        after = invoke("login", "samples/login.json", {original_email: doomed})
        expect(after["statusCode"] == 401 and code(after) == "invalid_credentials",
               f"the deleted account signs in no more ({status_and_code(after)})")
        reborn = invoke("register", "samples/register.json", {original_email: doomed})
        expect(reborn["statusCode"] == 201, f"its address registers again ({status_and_code(reborn)})")

        # Federation: the browser's part at oidc-provider (its /_test/complete plays it), the
        # functions' parts here: the redirect, the callback, the login code's trade.
        verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        federated = f"smoke-fed-{uuid.uuid4().hex[:12]}@example.com"
        started = invoke("oauth", "samples/oauth-authorize.json",
                         {"REPLACE_WITH_CODE_CHALLENGE": challenge,
                          "REPLACE_WITH_LOGIN_HINT": urllib.parse.quote(federated, safe="")})
        to_provider = (started.get("headers") or {}).get("location", "")
        expect(started["statusCode"] == 302 and to_provider.startswith(upstream_issuer),
               f"oauth redirects to the provider ({started['statusCode']})")
        binding = re.search(r"__Host-upstream_login=([^;]+)", " ".join(started.get("cookies") or []))
        expect(binding is not None, "oauth binds the sign-in to the browser with a __Host- cookie")
        answer = json.load(urllib.request.urlopen(
            f"{upstream_issuer}/_test/complete?url={urllib.parse.quote(to_provider, safe='')}", timeout=30))
        back = invoke("oauth", "samples/oauth-callback.json",
                      {"REPLACE_WITH_CALLBACK_QUERY": answer["callback"].split("?", 1)[1],
                       "REPLACE_WITH_BINDING": binding.group(1)})
        to_app = (back.get("headers") or {}).get("location", "")
        expect(back["statusCode"] == 302 and to_app.startswith("https://app.smoke.test/signed-in#code="),
               f"the callback sends the browser back with a login code ({back['statusCode']} {to_app[:60]})")
        traded = invoke("oauth-token", "samples/oauth-token.json",
                        {"REPLACE_WITH_LOGIN_CODE": to_app.split("#code=", 1)[1], "REPLACE_WITH_CODE_VERIFIER": verifier})
        federated_tokens = body(traded) or {}
        expect(traded["statusCode"] == 200 and federated_tokens.get("user", {}).get("email") == federated,
               f"oauth-token trades the code for the session ({status_and_code(traded)})")
        federated_claims = jwt_claims(federated_tokens["access_token"])
        expect(federated_claims.get("amr") == ["fed"] and federated_claims.get("idp") == "op",
               f"its access token says how it signed in ({federated_claims.get('amr')}, {federated_claims.get('idp')})")
        again = invoke("oauth-token", "samples/oauth-token.json",
                       {"REPLACE_WITH_LOGIN_CODE": to_app.split("#code=", 1)[1], "REPLACE_WITH_CODE_VERIFIER": verifier})
        expect(again["statusCode"] == 401 and code(again) == "invalid_token", "a login code works once")
        federated_context = invoke("authorizer", "samples/authorizer.json",
                                   {"REPLACE_WITH_ACCESS_TOKEN": federated_tokens["access_token"]})["context"]
        listed = invoke("oauth", "samples/identities.json", context=federated_context)
        identities = (body(listed) or {}).get("identities", [])
        expect(listed["statusCode"] == 200 and [identity["provider"] for identity in identities] == ["op"],
               f"oauth lists the linked identity ({status_and_code(listed)})")

        # Passkeys: added moments after registering, then the sign-in with it alone.
        holder = f"smoke-passkey-{uuid.uuid4().hex[:12]}@example.com"
        holder_tokens = body(invoke("register", "samples/register.json", {original_email: holder}))
        holder_context = invoke("authorizer", "samples/authorizer.json",
                                {"REPLACE_WITH_ACCESS_TOKEN": holder_tokens["access_token"]})["context"]
        options = invoke("passkeys", "samples/passkey-register-options.json", context=holder_context)
        expect(options["statusCode"] == 200 and "challenge" in (body(options) or {}).get("publicKey", {}),
               f"passkeys gives registration options ({status_and_code(options)})")
        passkey = SoftPasskey(os.environ["APP_URL"], os.environ["WEBAUTHN_RP_ID"])
        as_text = lambda value: json.dumps(json.dumps(value))[1:-1]
        added = invoke("passkeys", "samples/passkey-register.json",
                       {"REPLACE_WITH_CREDENTIAL": as_text(passkey.create(body(options)))}, context=holder_context)
        expect(added["statusCode"] == 201 and (body(added) or {}).get("name") == "Smoke key",
               f"passkeys adds the passkey ({status_and_code(added)})")
        listed = invoke("passkeys", "samples/passkeys.json", context=holder_context)
        expect(listed["statusCode"] == 200 and len((body(listed) or {}).get("passkeys", [])) == 1,
               f"passkeys lists it ({status_and_code(listed)})")
        options = invoke("passkey-login", "samples/passkey-login-options.json")
        expect(options["statusCode"] == 200, f"passkey-login gives sign-in options ({status_and_code(options)})")
        assertion = as_text(passkey.assert_(body(options)))
        signed_in = invoke("passkey-login", "samples/passkey-login.json", {"REPLACE_WITH_CREDENTIAL": assertion})
        passkey_tokens = body(signed_in) or {}
        expect(signed_in["statusCode"] == 200 and passkey_tokens.get("user", {}).get("email") == holder,
               f"passkey-login signs in with it ({status_and_code(signed_in)})")
        expect(jwt_claims(passkey_tokens["access_token"]).get("amr") == ["hwk", "user"],
               "its access token says a device-bound key with its user verified")
        replayed = invoke("passkey-login", "samples/passkey-login.json", {"REPLACE_WITH_CREDENTIAL": assertion})
        expect(replayed["statusCode"] == 401 and code(replayed) == "invalid_credentials", "an assertion works once")

        never = [function for function in FUNCTIONS if function not in INVOKED]
        if never:
            fail(f"started but never invoked: {never}")
        print(f"smoke: {len(PASSED)} passed, 0 failed; all {len(FUNCTIONS)} functions invoked")
    finally:
        for process in PROCESSES.values():
            process.terminate()
        for process in PROCESSES.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
