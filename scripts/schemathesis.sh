#!/usr/bin/env bash
# Checks the local API against openapi.yaml with schemathesis: generated requests (valid and
# invalid) for every operation, plus the stateful phase that follows the spec's links
# (register → refresh → refresh with the spent token → logout ...).
#
# Fails on any 5xx, any response whose status, content type or body is not in the spec.
# Deterministic: a fixed seed and one worker, so a failure reproduces with the same command.
#
#   scripts/schemathesis.sh                  # the default budget (about a minute)
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
# make up half the cases. Everything else is the local API's zero-configuration default.
ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 ARGON2_PARALLELISM=1 RUST_LOG=${RUST_LOG:-warn} \
  target/debug/local-api --addr "127.0.0.1:$port" > "$log" 2>&1 &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "local-api exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
grep -q "listening on" "$log" || { echo "local-api did not start listening within 10 s" >&2; cat "$log" >&2; exit 1; }
echo "local-api listening on http://127.0.0.1:$port (log: $log)"

status=0
timeout 300 "$VENV/bin/schemathesis" run "$SPEC" \
  --url "http://127.0.0.1:$port" \
  --checks "$CHECKS" \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --report junit --report-dir target/schemathesis \
  --no-color \
  "$@" || status=$?

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
