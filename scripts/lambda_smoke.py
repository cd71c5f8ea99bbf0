#!/usr/bin/env python3
"""Runs each function binary under cargo-lambda's Lambda Runtime API emulator and walks the
contract: register -> login -> authorizer -> me -> refresh -> logout -> refresh fails.

Needs: cargo-lambda on PATH, a DynamoDB endpoint with the tables (AWS_ENDPOINT_URL_DYNAMODB,
USERS_TABLE, REVOCATIONS_TABLE), and the JWT_* variables. scripts/test.sh provides all of it.

`cargo lambda watch --only-lambda-apis` serves the Runtime API and `cargo lambda invoke` sends the
events, as in development; the binaries themselves are built here and started by this script, one
process per function, the way Lambda runs a bootstrap. So no file watcher and no `cargo run` sit
between the test and the binary (on a fresh CI machine a watched, compile-on-first-invoke
function left its invoke waiting for ten minutes with nothing in the log). A function that exits
fails the run at once with its own log; every invoke is bounded.
"""
import json
import os
import socket
import subprocess
import sys
import time
import uuid

FUNCTIONS = ["register", "login", "authorizer", "me", "jwks", "refresh", "logout"]
LOG_DIR = "target/lambda-smoke"
INVOKE_TIMEOUT_SECONDS = 60
PASSED = []
PROCESSES = {}


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
    start(name, [os.path.join("target", "debug", name)], env)


def invoke(function, event_file, replacements=None):
    with open(event_file) as handle:
        text = handle.read()
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    check_alive(function)
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


def body(response):
    return json.loads(response["body"]) if response.get("body") else None


def expect(condition, message):
    if not condition:
        fail(message, logs=FUNCTIONS)
    PASSED.append(message)
    print(f"ok: {message}")


def main():
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
        for function in FUNCTIONS:
            start_function(function)

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
        for process in PROCESSES.values():
            process.terminate()
        for process in PROCESSES.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
