#!/usr/bin/env bash
# Checks the local API against openapi.yaml with schemathesis: generated requests (valid and
# invalid) for every operation, plus the stateful phase that follows the spec's links
# (register → refresh → refresh with the spent token → logout ...).
#
# Fails on any 5xx, any response whose status, content type, headers or body is not in the
# spec. Before that, a few hand-made requests schemathesis never generates (bodies over 16 KiB,
# chunked, unknown paths and methods) are checked against the spec's component responses.
# Deterministic: a fixed seed and one worker, so a failure reproduces with the same command.
#
# Identities (scripts/schemathesis_identities.py, before the run): an administrator, made by the
# local API itself (--admin), for the admin routes (security scheme adminBearer); a user
# for the user routes (bearerAuth); an account with MFA on for DELETE /auth/mfa/totp, in a second,
# short run (its codes are checked rather than answered 404). Fixed path parameters keep the run
# honest: the admin routes act on a victim account only, DELETE /auth/sessions/{id} ends the
# user's second session only, so nothing generated ends the sessions the run itself uses. At the
# end, what each operation answered (scripts/schemathesis_summary.py, from the HAR and NDJSON
# reports).
#
#   scripts/schemathesis.sh                  # about 5000 cases in ~40 s, once built
#   SCHEMATHESIS_EXAMPLES=500 scripts/schemathesis.sh
#   SCHEMATHESIS_SEED=7 scripts/schemathesis.sh -v   # extra arguments go to `schemathesis run`
#
# Uses ${VENV:-.venv} (created if missing), builds the workspace like scripts/test.sh does
# (so in CI after the test step this is a no-op), starts target/debug/local-api on a free
# loopback port with the embedded store, and stops it again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-120}
SEED=${SCHEMATHESIS_SEED:-20261122}
SPEC=${OPENAPI_SPEC:-openapi.yaml}
CHECKS=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance

[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The same target set as `cargo test --workspace --all-targets`, so features (and so the
# dependency builds) are shared with the test step instead of rebuilt.
cargo build --workspace --all-targets --quiet

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target/schemathesis
log=target/schemathesis/local-api.log
# Cheap Argon2: these runs exercise the HTTP surface, not the hashing cost, and register/login
# make up half the cases. A short answer floor for forgot/resend (their timing is tested in the
# e2e suite, not here). Tokens in the body only, as API clients and the deployed functions get
# them by default (the local API's own default, both, also sets cookies for its page; the cookie
# transport has tests of its own). Everything else is the local API's zero-configuration default.
# One introspection client, whose HTTP Basic credentials schemathesis sends (clientBasic).
client_secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
# The administrator: the local API makes it before listening (its password on stdin). Every
# generated request comes from 127.0.0.1, so the per-IP budgets for registrations and for unknown
# mfa_tokens are lifted: the stateful phase needs accounts, and generated mfa_tokens should reach
# the token lookup rather than the IP's lock (both budgets are tested in the e2e suite).
admin_email=schemathesis-admin@example.com
admin_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
printf '%s\n' "$admin_password" |
  INTROSPECTION_CLIENTS="schemathesis:$(printf '%s' "$client_secret" | sha256sum | cut -d' ' -f1)" \
  ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 ARGON2_PARALLELISM=1 EMAIL_RESPONSE_FLOOR_MS=20 TOKEN_TRANSPORT=body \
  REGISTRATIONS_PER_IP_PER_HOUR=100000 MFA_UNKNOWN_TOKENS_PER_IP=100000 RUST_LOG=${RUST_LOG:-warn} \
  target/debug/local-api --addr "127.0.0.1:$port" --admin "$admin_email" > "$log" 2>&1 &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
  grep -qs "listening on" "$log" && break
  if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "local-api exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
grep -q "listening on" "$log" || { echo "local-api did not start listening within 30 s" >&2; cat "$log" >&2; exit 1; }
echo "local-api listening on http://127.0.0.1:$port (log: $log)"

"$VENV/bin/python" scripts/schemathesis_identities.py "http://127.0.0.1:$port" "$admin_email" "$admin_password" \
  "$client_secret" target/schemathesis

status=0

# Requests schemathesis does not generate (bodies over 16 KiB, chunked bodies, unknown paths,
# other methods): each must get the status named here, with a body and headers that the spec's
# component response for that status describes.
"$VENV/bin/python" - "http://127.0.0.1:$port" "$SPEC" <<'PY' || status=1
import http.client, json, sys, urllib.parse
import jsonschema_rs, yaml

base, spec_path = sys.argv[1], sys.argv[2]
spec = yaml.safe_load(open(spec_path))
url = urllib.parse.urlsplit(base)

def send(method, path, body=b"", headers=None, chunked=False):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = dict(headers or {})
    if chunked:
        conn.putrequest(method, path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        for start in range(0, len(body), 4096):
            chunk = body[start:start + 4096]
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    else:
        conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

def check(name, response, status, component):
    got, headers, body = response
    definition = spec["components"]["responses"][component]
    problems = []
    if got != status:
        problems.append(f"status {got}, expected {status}")
    media = headers.get("content-type", "")
    content = definition.get("content", {})
    if content:
        if media not in content:
            problems.append(f"content type {media!r} not in {sorted(content)}")
        else:
            schema = {**content[media]["schema"], "components": spec["components"]}
            errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(json.loads(body))]
            problems += [f"body: {error}" for error in errors]
    for header, declared in definition.get("headers", {}).items():
        if header.lower() not in headers and (declared.get("required") or "$ref" in declared):
            problems.append(f"missing header {header}")
    print(("ok   " if not problems else "FAIL ") + name + "".join(f"\n       {p}" for p in problems))
    return not problems

json_type = {"content-type": "application/json"}
huge = json.dumps({"email": "a@example.com", "password": "x" * (17 * 1024)}).encode()
results = [
    check("413 body over 16 KiB", send("POST", "/auth/register", huge, json_type), 413, "PayloadTooLarge"),
    check("413 chunked body over 16 KiB", send("POST", "/auth/login", huge, json_type, chunked=True), 413, "PayloadTooLarge"),
    check("413 over 16 KiB whatever the content type", send("POST", "/auth/refresh", b"x" * 20000, {"content-type": "text/plain"}), 413, "PayloadTooLarge"),
    check("400 JSON nested 10000 deep", send("POST", "/auth/refresh", b"[" * 10000, json_type), 400, "BadRequest"),
    check("400 JSON that is not UTF-8", send("POST", "/auth/login", b'{"email":"\xff\xfe"}', json_type), 400, "BadRequest"),
    check("415 form-encoded body", send("POST", "/auth/login", b"email=a&password=b", {"content-type": "application/x-www-form-urlencoded"}), 415, "UnsupportedMediaType"),
    check("404 unknown path", send("GET", "/auth/nowhere"), 404, "NotFound"),
    check("404 trailing slash", send("GET", "/auth/me/"), 404, "NotFound"),
    check("404 method not served", send("DELETE", "/auth/login"), 404, "NotFound"),
    check("401 me without Authorization", send("GET", "/auth/me"), 401, "MeUnauthorized"),
    check("403 me with a Basic credential", send("GET", "/auth/me", headers={"authorization": "Basic YTpi"}), 403, "MeForbidden"),
]
sys.exit(0 if all(results) else 1)
PY

# Every operation but DELETE /auth/mfa/totp and the deletions with the user's token; then that
# one with the MFA account's (the user has no MFA to turn off); last the deletions, DELETE
# /auth/me with an account of its own and DELETE /admin/users/{id} on the victim, so that no
# account the other runs use is deleted under them.
rm -f target/schemathesis/*.har.json target/schemathesis/*.ndjson
# One run: its identities (a config file), its report name, its phases, then which operations.
run() {
  local identities=$1 report=$2 phases=$3
  shift 3
  timeout 300 "$VENV/bin/schemathesis" --config-file "target/schemathesis/$identities.toml" run "$SPEC" \
    --url "http://127.0.0.1:$port" \
    --checks "$CHECKS" \
    --phases "$phases" \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --report junit,har,ndjson --report-dir target/schemathesis \
    --report-har-path "target/schemathesis/$report.har.json" --report-ndjson-path "target/schemathesis/$report.ndjson" \
    --no-color \
    "$@" || status=$?
}
run schemathesis main examples,coverage,fuzzing,stateful \
  --exclude-operation-id disableMfa --exclude-operation-id deleteAccount --exclude-operation-id deleteUser "$@"
run schemathesis-mfa mfa examples,coverage,fuzzing --include-operation-id disableMfa "$@"
run schemathesis-delete delete examples,coverage,fuzzing \
  --include-operation-id deleteAccount --include-operation-id deleteUser "$@"

echo
"$VENV/bin/python" scripts/schemathesis_summary.py "$SPEC" target/schemathesis/*.har.json \
  target/schemathesis/*.ndjson || true

if ! kill -0 "$api_pid" 2>/dev/null; then
  echo "local-api died during the run:" >&2
  tail -50 "$log" >&2
  status=1
fi
if grep -qiE 'panicked at|thread .* panicked' "$log"; then
  echo "local-api logged a panic:" >&2
  grep -iE -A5 'panicked' "$log" >&2
  status=1
fi
exit "$status"
