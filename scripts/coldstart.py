#!/usr/bin/env python3
"""Cold start and peak memory of each Lambda function binary, under a Lambda Runtime API of our own.

For every function in functions/ this starts the release binary with AWS_LAMBDA_RUNTIME_API
pointing at a minimal Runtime API served here on 127.0.0.1 (GET .../invocation/next, POST
.../response, .../error, .../init/error), and measures, per run:

  ready   process start (just before fork/exec) -> the function's first GET /invocation/next
          (its init is done: config, keys, SDK client, tracing)
  answer  process start -> its first invocation's response received
  warm    one later invocation, event handed over -> response received (median over --load):
          answer - warm is what starting cold adds to an invocation

Each function is started --runs times (median, min, max reported). On the last run it then
answers --load more invocations back to back (a Lambda instance takes one at a time) and its
peak resident memory (VmHWM from /proc/PID/status) is read before it is stopped (and its
/proc/PID/smaps saved as target/coldstart/NAME.smaps).

Functions touching DynamoDB talk to a local DynamoDB: the one AWS_ENDPOINT_URL_DYNAMODB names,
or Amazon DynamoDB Local started here by scripts/dynamodb-local.sh. Keys come from `authctl gen-key`, tables
from `authctl create-tables` (fresh names per run). Argon2 uses the production defaults unless
ARGON2_* is set in the environment.

Usage: scripts/coldstart.py [--runs 15] [--load 200] [--bin-dir target/release] [--only a,b]
                            [--setup-bin-dir target/release] [--env NAME=VALUE]... [--json out.json]
Build first: cargo build --release --workspace --bins
"""
import argparse
import http.server
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RuntimeApi:
    """One Lambda Runtime API endpoint for one function process."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_next_ns = None
        self.init_error = None
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _read_body(self):
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _reply(self, status, body=b"", headers=()):
                try:
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the function process was stopped while it waited
                    self.close_connection = True

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(404)
                if api.first_next_ns is None:
                    api.first_next_ns = time.perf_counter_ns()
                event = api.events.get()
                if event is None:  # shutting down: the process is killed next
                    return self._reply(500)
                request_id, body = event
                deadline = int(time.time() * 1000) + 10_000
                self._reply(200, body, [
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", request_id),
                    ("lambda-runtime-deadline-ms", str(deadline)),
                    ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                    ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000"),
                ])

            def do_POST(self):
                body = self._read_body()
                now = time.perf_counter_ns()
                parts = self.path.split("/")
                if self.path.endswith("/init/error"):
                    api.init_error = body
                    api.answers.put(("init-error", None, now, body))
                elif parts[-1] in ("response", "error"):
                    api.answers.put((parts[-1], parts[-2], now, body))
                self._reply(202, b'{"status":"OK"}', [("content-type", "application/json")])

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A function process stopped with a keep-alive connection open: expected.
                if not isinstance(sys.exc_info()[1], OSError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=30):
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        kind, answered_id, at_ns, body = self.answers.get(timeout=timeout)
        if kind == "init-error":
            raise RuntimeError(f"init error: {body[:300]!r}")
        if answered_id != request_id:
            raise RuntimeError(f"answer for {answered_id}, expected {request_id}")
        return kind, at_ns, json.loads(body) if body else None

    def close(self):
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


def peak_rss_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmHWM:", "VmRSS:", "RssAnon:", "RssFile:", "Threads:")):
                name, value = line.split(":")
                values[name] = int(value.split()[0])
    return values


def run_function(binary, env, first_event, next_event=None, load=0, log_path=None, observe=None):
    """Starts `binary`, answers one event (timed), then `load` more; returns the measurements.
    `next_event(index)` makes each further event (default: the first one again); `observe` sees
    every response (to carry state such as the newest refresh token)."""
    observe = observe or (lambda response: None)
    api = RuntimeApi()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    started_ns = time.perf_counter_ns()
    process = subprocess.Popen([binary], env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        kind, answered_ns, response = api.invoke(first_event)
        observe(response)
        result = {
            "ready_ms": (api.first_next_ns - started_ns) / 1e6,
            "answer_ms": (answered_ns - started_ns) / 1e6,
            "kind": kind,
            "response": response,
            "rss_first_kib": peak_rss_kib(process.pid),
        }
        if load:
            previous = response
            result["responses"] = [response]
            began = time.perf_counter_ns()
            warm_ms = []
            for index in range(load):
                event = next_event(index) if next_event else first_event
                sent_ns = time.perf_counter_ns()
                kind, answered_ns, previous = api.invoke(event)
                warm_ms.append((answered_ns - sent_ns) / 1e6)
                if kind != "response":
                    raise RuntimeError(f"invocation {index} failed: {previous}")
                observe(previous)
                result["responses"].append(previous)
            elapsed = (time.perf_counter_ns() - began) / 1e9
            result["warm_ms"] = warm_ms
            result["load_invocations"] = load
            result["load_per_s"] = load / elapsed
            result["rss_load_kib"] = peak_rss_kib(process.pid)
            if log_path:  # where the resident memory is, mapping by mapping
                shutil.copyfile(f"/proc/{process.pid}/smaps", log_path.removesuffix(".log") + ".smaps")
            result["last_response"] = previous
        return result
    finally:
        process.kill()
        process.wait()
        api.close()
        if log_path:
            log.close()


def start_dynamodb_local():
    port = free_port()
    process = subprocess.Popen([os.path.join(ROOT, "scripts", "dynamodb-local.sh"), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            # DynamoDB Local answers only requests that carry some credential.
            request = urllib.request.Request(url + "/", data=b"{}", headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                                 "SignedHeaders=host, Signature=0"})
            urllib.request.urlopen(request, timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("DynamoDB Local did not start")


def http_event(name, body=None, context=None, path_parameters=None, replace=None):
    with open(os.path.join(ROOT, "samples", f"{name}.json")) as handle:
        text = handle.read()
    for placeholder, value in (replace or {}).items():
        text = text.replace(placeholder, value)
    event = json.loads(text)
    if body is not None:
        event["body"] = json.dumps(body)
    if context is not None:
        event["requestContext"]["authorizer"]["lambda"] = context
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        event["rawPath"] = event["rawPath"].rsplit("/", 1)[0] + "/" + path_parameters["id"]
    return event


def body_of(response):
    return json.loads(response["body"]) if response and response.get("body") else None


def status_of(response):
    if response is None:
        return None
    if "statusCode" in response:
        return response["statusCode"]
    if "isAuthorized" in response:
        return "authorized" if response["isAuthorized"] else "denied"
    return "?"


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--load", type=int, default=200)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"),
                        help="where the measured function binaries are")
    parser.add_argument("--setup-bin-dir", default=os.path.join(ROOT, "target", "release"),
                        help="where authctl and the register/login/authorizer binaries that make the "
                             "test users and tokens are")
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the measured functions (repeatable), e.g. "
                             "MALLOC_MMAP_THRESHOLD_=1048576")
    args = parser.parse_args()

    bin_dir = os.path.abspath(args.bin_dir)
    setup_dir = os.path.abspath(args.setup_bin_dir)
    only = [name for name in args.only.split(",") if name]
    functions = sorted(name for name in os.listdir(os.path.join(ROOT, "functions"))
                       if os.path.isdir(os.path.join(ROOT, "functions", name)) and (not only or name in only))
    missing = [os.path.join(bin_dir, name) for name in functions]
    missing += [os.path.join(setup_dir, name) for name in ("authctl", "register", "login", "authorizer")]
    missing = [path for path in missing if not os.path.exists(path)]
    if missing:
        sys.exit(f"missing binaries: {missing}; build with cargo build --release --workspace --bins")

    dynamodb = None
    env = dict(os.environ)
    if not env.get("AWS_ENDPOINT_URL_DYNAMODB"):
        dynamodb, url = start_dynamodb_local()
        env["AWS_ENDPOINT_URL_DYNAMODB"] = url
    suffix = uuid.uuid4().hex[:8]
    env.update({
        "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY", "test"),
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "USERS_TABLE": f"cold-users-{suffix}",
        "REVOCATIONS_TABLE": f"cold-revocations-{suffix}",
        "JWT_ISSUER": "https://auth.bench.test",
        "JWT_AUDIENCE": "https://api.bench.test",
        # Passkeys on for pages at app.bench.test.
        "WEBAUTHN_RP_ID": "bench.test",
        "WEBAUTHN_ORIGINS": "https://app.bench.test",
        # What the Lambda service sets for every function (lambda_runtime requires these).
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    })
    authctl = os.path.join(setup_dir, "authctl")
    subprocess.run([authctl, "create-tables"], env=env, check=True, stdout=subprocess.DEVNULL)
    key = subprocess.run([authctl, "gen-key", "--kid", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout
    env["JWT_KEY_ID"] = "bench"
    env["JWT_PUBLIC_JWKS"] = next(line.split("=", 1)[1] for line in key.splitlines()
                                  if line.startswith("JWT_PUBLIC_JWKS="))
    # The PEM block (its own lines; the secret's JSON line before it holds the same key, escaped).
    lines = key.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN"))
    end = next(i for i, line in enumerate(lines) if line.startswith("-----END"))
    env["JWT_PRIVATE_KEY"] = "\n".join(lines[begin:end + 1]) + "\n"

    upstream = None
    if "oauth" in functions:
        # The federation function's provider: panva's oidc-provider (tests/upstream), so its
        # first invocation fetches a real discovery document over loopback.
        callback = env["JWT_ISSUER"] + "/auth/oauth/op/callback"
        upstream = subprocess.Popen(
            ["node", os.path.join(ROOT, "tests", "upstream", "provider.mjs")],
            env=dict(env, PORT="0", CLIENT_ID="bench", CLIENT_SECRET="bench-secret", REDIRECT_URIS=callback),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        issuer = json.loads(upstream.stdout.readline())["issuer"]
        env["OAUTH_PROVIDERS"] = json.dumps([{"id": "op", "kind": "oidc", "issuer": issuer,
                                              "client_id": "bench", "client_secret": "bench-secret"}])
        env["OAUTH_REDIRECT_URIS"] = "https://app.smoke.test/signed-in"  # the sample's

    log_dir = os.path.join(ROOT, "target", "coldstart")
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)

    def binary(name):
        return os.path.join(bin_dir, name)

    def setup_binary(name):
        return os.path.join(setup_dir, name)

    extra_env = dict(pair.split("=", 1) for pair in args.env)

    def fn_env(name):
        return dict(env, AWS_LAMBDA_FUNCTION_NAME=name)

    def measured_env(name):
        return dict(fn_env(name), **extra_env)

    def register_event(_index=0):
        email = f"cold-{uuid.uuid4().hex[:12]}@example.com"
        return http_event("register", body={"email": email, "password": PASSWORD})

    # Users and tokens for the other functions, made by the register and login binaries.
    setup = run_function(setup_binary("register"), fn_env("register"), register_event(), register_event, load=2)
    main_user, victim, changer = (body_of(response)["user"] for response in setup["responses"])
    changer_tokens = body_of(setup["responses"][2])
    login_event = http_event("login", body={"email": main_user["email"], "password": PASSWORD})
    logged_in = body_of(run_function(setup_binary("login"), fn_env("login"), login_event)["response"])
    decision = run_function(setup_binary("authorizer"), fn_env("authorizer"),
                            http_event("authorizer", replace={"REPLACE_WITH_ACCESS_TOKEN": logged_in["access_token"]}))
    context = decision["response"]["context"]
    changer_context = run_function(setup_binary("authorizer"), fn_env("authorizer"), http_event(
        "authorizer", replace={"REPLACE_WITH_ACCESS_TOKEN": changer_tokens["access_token"]}))["response"]["context"]
    admin_context = dict(context, role="admin")
    state = {"refresh_token": logged_in["refresh_token"], "password": PASSWORD}
    logout_token = body_of(run_function(setup_binary("login"), fn_env("login"), login_event)["response"])
    logout_token = logout_token["refresh_token"]

    def refresh_event(_index=0):
        return http_event("refresh", body={"refresh_token": state["refresh_token"]})

    def refreshed(response):
        if response.get("statusCode") == 200:
            state["refresh_token"] = body_of(response)["refresh_token"]

    def other_password():
        return PASSWORD + "!" if state["password"] == PASSWORD else PASSWORD

    def password_event(_index=0):
        # Alternates between two passwords, so every change presents the current one.
        body = {"current_password": state["password"], "new_password": other_password()}
        event = http_event("me", context=changer_context, body=body)
        event["routeKey"] = event["requestContext"]["routeKey"] = "POST /auth/password"
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/auth/password"
        event["requestContext"]["http"]["method"] = "POST"
        event["headers"]["content-type"] = "application/json"
        return event

    def password_changed(response):
        if response.get("statusCode") == 200:
            state["password"] = other_password()

    scenarios = {
        # name: (first event factory, next event factory or None to repeat the first[, observer])
        "register": (register_event, register_event),
        "login": (lambda: login_event, None),
        "refresh": (refresh_event, refresh_event, refreshed),
        "logout": (lambda: http_event("logout", body={"refresh_token": logout_token, "scope": "local"}), None),
        "authorizer": (lambda: http_event("authorizer", replace={"REPLACE_WITH_ACCESS_TOKEN": logged_in["access_token"]}), None),
        "me": (lambda: http_event("me", context=context), None),
        "jwks": (lambda: http_event("jwks"), None),
        "change-password": (password_event, password_event, password_changed),
        "admin-list-users": (lambda: http_event("admin-list-users", context=admin_context), None),
        "admin-get-user": (lambda: http_event("admin-get-user", context=admin_context,
                                              path_parameters={"id": main_user["id"]}), None),
        "admin-update-user": (lambda: http_event("admin-update-user", context=admin_context,
                                                 path_parameters={"id": victim["id"]}), None),
        # The redirect to the provider: the first one fetches its discovery document (each new
        # instance does, then keeps it an hour).
        "oauth": (lambda: http_event("oauth-authorize", replace={
            "REPLACE_WITH_CODE_CHALLENGE": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "REPLACE_WITH_LOGIN_HINT": "cold%40example.com"}), None),
        # A login code's trade: an unknown code (401) still takes the code from the table.
        "oauth-token": (lambda: http_event("oauth-token", replace={
            "REPLACE_WITH_LOGIN_CODE": uuid.uuid4().hex + uuid.uuid4().hex,
            "REPLACE_WITH_CODE_VERIFIER": "v" * 43}), None),
        # Passkeys: a sign-in's options (a ceremony stored), and the caller's list.
        "passkey-login": (lambda: http_event("passkey-login-options"), None),
        "passkeys": (lambda: http_event("passkeys", context=context), None),
    }
    results = {}
    for name in functions:
        if name not in scenarios:
            print(f"{name}: no scenario, skipped", file=sys.stderr)
            continue
        first, following, observe = (scenarios[name] + (None,))[:3]
        runs = []
        for run in range(args.runs):
            last = run == args.runs - 1
            runs.append(run_function(binary(name), measured_env(name), first(), following,
                                     load=args.load if last else 0,
                                     log_path=os.path.join(log_dir, f"{name}.log"), observe=observe))
        final = runs[-1]
        results[name] = {
            "status": status_of(runs[0]["response"]),
            "ready_ms": summary([run["ready_ms"] for run in runs]),
            "answer_ms": summary([run["answer_ms"] for run in runs]),
            "rss_after_first_kib": final["rss_first_kib"]["VmHWM"],
            "rss_end_kib": final["rss_load_kib"],
            "peak_rss_kib": final["rss_load_kib"]["VmHWM"],
            "load_invocations": final["load_invocations"],
            "load_per_s": final["load_per_s"],
            # One warm invocation (event handed over -> response received), median of the load.
            "warm_ms": statistics.median(final["warm_ms"]),
            "load_last_status": status_of(final["last_response"]),
            "binary_bytes": os.path.getsize(binary(name)),
        }
        row = results[name]
        print(f"{name:18} status {row['status']!s:>10}  ready {row['ready_ms']['median']:6.2f} ms  "
              f"answer {row['answer_ms']['median']:6.2f} ms (min {row['answer_ms']['min']:.2f}, "
              f"max {row['answer_ms']['max']:.2f}; warm invocation {row['warm_ms']:.2f})  peak RSS {row['peak_rss_kib'] / 1024:5.1f} MiB "
              f"(end: anon {row['rss_end_kib']['RssAnon'] / 1024:.1f}, file {row['rss_end_kib']['RssFile'] / 1024:.1f}, "
              f"{row['rss_end_kib']['Threads']} threads) "
              f"after {row['load_invocations']} invocations ({row['load_per_s']:.0f}/s, last "
              f"{row['load_last_status']})  binary {row['binary_bytes'] / 1e6:.1f} MB", flush=True)

    # The floor of this harness: spawning a trivial process and seeing it exit.
    floor = []
    for _ in range(args.runs):
        began = time.perf_counter_ns()
        subprocess.run(["/bin/true"], check=True)
        floor.append((time.perf_counter_ns() - began) / 1e6)
    print(f"harness floor: spawn + exit of /bin/true {statistics.median(floor):.2f} ms (median)")
    results["_floor_ms"] = statistics.median(floor)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    if dynamodb:
        dynamodb.kill()
        dynamodb.wait()
    if upstream:
        upstream.kill()


if __name__ == "__main__":
    main()
