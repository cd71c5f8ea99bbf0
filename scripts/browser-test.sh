#!/usr/bin/env bash
# The web page (web/) in headless Chromium against the local API: in depth with cookie transport
# (tests/browser/browser.test.mjs), then as the README's command starts it, with no configuration
# (tests/browser/readme.test.mjs).
# Installs what is missing, idempotently: Debian's chromium (playwright-core drives it; its own
# browser download is never used), the test's npm dependencies from the lockfile, and the debug
# local-api binary. LOCAL_API_BIN picks another binary (e.g. target/release/local-api).
# Screenshots and the server's log land in target/browser-artifacts/ (and its readme/).
# `--install-only` stops after the installs (.ci/run uses it on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."

export CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM_BIN" ]; then
  # apt-get update only when the package lists lack chromium or are too old to fetch it.
  apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
# The federation test's upstream provider (oidc-provider).
if [ ! -d tests/upstream/node_modules/oidc-provider ]; then
  npm ci --prefix tests/upstream --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

if [ -z "${LOCAL_API_BIN:-}" ]; then
  # cargo decides whether anything needs rebuilding (web/ is embedded in the binary).
  cargo build --quiet -p local-api
  export LOCAL_API_BIN=target/debug/local-api
fi

mkdir -p target/browser-artifacts
# One at a time: two Chromiums and two servers on a small CI machine only slow each other down.
node --test --test-reporter=spec --test-concurrency=1 tests/browser/browser.test.mjs tests/browser/readme.test.mjs \
  tests/browser/admin.test.mjs tests/browser/federation.test.mjs tests/browser/passkeys.test.mjs
