#!/usr/bin/env bash
# Compares release profile settings on what they change here: stripped binary size (x86_64, the
# host), cold start (scripts/coldstart.py), and the speed of the hot paths (the divan benches:
# Argon2 and JSON are Rust, so compiler settings reach them; the signature maths is aws-lc's C and
# assembly, which they do not).
#
# Each variant is a profile inheriting [profile.release] with one setting changed, given on the
# command line (--config), so Cargo.toml stays as it is and each variant builds into its own
# target/<profile> directory without disturbing target/release. From clean, each variant costs a
# full release build of two functions plus the benches (~10 min on 2 cores).
#
#   scripts/profiles.sh                      # every variant below
#   scripts/profiles.sh release fat          # some of them
# Results: target/profiles/<variant>.txt (and a summary on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A SETTINGS=(
  [release]=""                                  # as in Cargo.toml
  [fat]='lto="fat"'
  [nolto]='lto=false codegen-units=16'
  [opt-s]='opt-level="s"'
  [opt-z]='opt-level="z"'
  [abort]='panic="abort"'
)
ORDER=(release fat nolto opt-s opt-z abort)
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("${ORDER[@]}")
FUNCTIONS=${FUNCTIONS:-authorizer,login}
BENCHES=${BENCHES:-'authorizer::valid_first_use|tokens::issue_pair|argon2_verify_owasp|refresh'}
out=target/profiles
mkdir -p "$out"

for variant in "${variants[@]}"; do
  [ -n "${SETTINGS[$variant]+set}" ] || { echo "unknown variant $variant" >&2; exit 2; }
  flags=()
  profile=release
  if [ "$variant" != release ]; then
    profile="cmp-$variant"
    flags+=(--config "profile.$profile.inherits=\"release\"")
    for setting in ${SETTINGS[$variant]}; do flags+=(--config "profile.$profile.$setting"); done
  fi
  packages=()
  for name in ${FUNCTIONS//,/ }; do packages+=(-p "$name"); done
  echo "== $variant (${SETTINGS[$variant]:-Cargo.toml as is})"
  started=$(date +%s)
  cargo build --quiet --profile "$profile" "${flags[@]}" "${packages[@]}"
  built=$(( $(date +%s) - started ))
  {
    echo "variant $variant: ${SETTINGS[$variant]:-Cargo.toml as is}; build of ${FUNCTIONS} ${built}s"
    for name in ${FUNCTIONS//,/ }; do
      echo "size $name $(stat -c %s "target/$profile/$name") bytes"
    done
    python3 scripts/coldstart.py --bin-dir "target/$profile" --only "$FUNCTIONS" --runs "${RUNS:-21}" --load 50
    cargo bench --quiet --profile "$profile" "${flags[@]}" -p shared --bench hot_paths -- "$BENCHES" 2>&1 |
      grep -E '^[│ ]*[├╰]─ |^hot_paths' | grep -vE 'alloc|grow'
  } | tee "$out/$variant.txt"
done
