#!/usr/bin/env bash
# Lints template.yaml three ways and fails on any finding (error, warning or informational):
#   1. cfn-lint                      (CloudFormation + SAM schema rules)
#   2. cfn-lint + serverless rules   (cfn-lint-serverless: tracing, log retention, throttling, ...)
#   3. sam validate --lint           (SAM translator + cfn-lint as SAM CLI runs it)
#   4. scripts/check-template-transports.py (the expanded template per TokenTransport)
# Tools live in a venv at ${VENV:-.venv} (relative to the repo root); they are installed only
# when missing. Quiet on success: one line per check. Works offline once the venv exists.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv="${VENV:-.venv}"
template="${TEMPLATE:-template.yaml}"
py="${PYTHON:-python3}"

# sam needs a region even for offline validation; no credentials are needed.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0

if [[ ! -x "$venv/bin/python" ]]; then
    "$py" -m venv "$venv"
fi

missing=()
# Pinned to the versions the checks were written against (a new release may add rules).
"$venv/bin/python" -c 'import cfnlint' 2>/dev/null || missing+=(cfn-lint==1.58.0)
"$venv/bin/python" -c 'import cfn_lint_serverless' 2>/dev/null || missing+=(cfn-lint-serverless==0.3.6)
[[ -x "$venv/bin/sam" ]] || missing+=(aws-sam-cli==1.170.0)
if ((${#missing[@]})); then
    echo "lint-template: installing ${missing[*]} into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
fi

failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs one check; prints "ok: NAME" or the tool's full output and "FAIL: NAME".
check() {
    local name="$1"
    shift
    if "$@" >"$log" 2>&1; then
        echo "ok: $name"
    else
        cat "$log" >&2
        echo "FAIL: $name" >&2
        failed=1
    fi
}

# cfn-lint exits non-zero on any reported finding (errors 2, warnings 4, informational 8).
# The file name comes first: -c / --append-rules take several values and would swallow it.
check "cfn-lint" \
    "$venv/bin/cfn-lint" "$template" --include-checks I
check "cfn-lint + cfn_lint_serverless.rules" \
    "$venv/bin/cfn-lint" "$template" --include-checks I --append-rules cfn_lint_serverless.rules
check "sam validate --lint" \
    "$venv/bin/sam" validate --lint --template-file "$template"
# The template as deployed per TokenTransport (LanguageExtensions, then SAM): authorizer identity
# sources and cache, CORS.
check "template per token transport (identity sources, cache, CORS)" \
    "$venv/bin/python" scripts/check-template-transports.py "$template"

exit "$failed"
