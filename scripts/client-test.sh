#!/usr/bin/env bash
# The TypeScript client (clients/typescript, @jwt-auth/client): its npm packages from the
# lockfile, its types checked against openapi.yaml, its build, the web page's copy of it
# (web/client.js) checked against its source, and its tests against local APIs it starts
# (embedded store). LOCAL_API_BIN picks the binary (default: the debug build, built if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

cd clients/typescript
# --ignore-scripts: esbuild's install script only checks its binary, which npm already placed.
npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
npm run --silent check-types
npm run --silent build
node scripts/bundle.mjs --check
cd ../..

if [ -z "${LOCAL_API_BIN:-}" ]; then
  cargo build --quiet -p local-api
  export LOCAL_API_BIN=target/debug/local-api
fi
node --test --test-reporter=spec --test-concurrency=1 clients/typescript/test/*.test.mjs
