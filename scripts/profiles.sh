#!/usr/bin/env bash
# Compares release profile settings on what they change here: stripped binary size (x86_64, the
# host), cold start (scripts/coldstart.py), and the speed of the hot paths (the divan benches:
# Argon2 and JSON are Rust, so compiler settings reach them; the signature maths is aws-lc's C and
# assembly, which they do not).
#
# Each variant is a profile inheriting [profile.release] with one setting changed, given on the
# command line (--config), so Cargo.toml stays as it is. Variants build in their own target
# directory (VARIANT_TARGET_DIR, default target/profiles-build) so that these long builds never
# hold the workspace's target directory lock; "release" is the workspace's own build. From
# clean, each variant costs a full release build of the functions plus the benches (~15 min on
# 2 cores).
#
#   scripts/profiles.sh                      # every variant below
#   scripts/profiles.sh release fat          # some of them
# Results: target/profiles/<variant>.txt (and a summary on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."

# Dependencies at "s" except the ones that compute (Argon2, JSON, aws-lc, tokio's scheduler).
KEEP_FAST='argon2 blake2 serde_json aws-lc-sys aws-lc-rs tokio'
deps_s='package."*".opt-level="s"'
for name in $KEEP_FAST; do deps_s+=" package.\"$name\".opt-level=3"; done
declare -A SETTINGS=(
  [release]=""                                  # as in Cargo.toml
  [fat]='lto="fat"'
  [nolto]='lto=false codegen-units=16'
  [opt-s]='opt-level="s"'
  [opt-z]='opt-level="z"'
  [deps-s]="$deps_s"
  [fat-deps-s]="lto=\"fat\" $deps_s"
  [abort]='panic="abort"'
)
ORDER=(release fat opt-s deps-s fat-deps-s)   # nolto, opt-z and abort on request
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("${ORDER[@]}")
FUNCTIONS=${FUNCTIONS:-authorizer,login}
BENCHES=${BENCHES:-'authorizer::valid_first_use|tokens::issue_pair|argon2_raw|refresh'}
out=target/profiles
mkdir -p "$out"

for variant in "${variants[@]}"; do
  [ -n "${SETTINGS[$variant]+set}" ] || { echo "unknown variant $variant" >&2; exit 2; }
  flags=()
  profile=release
  target_dir=target
  if [ "$variant" != release ]; then
    target_dir=${VARIANT_TARGET_DIR:-target/profiles-build}
    profile="cmp-$variant"
    flags+=(--config "profile.$profile.inherits=\"release\"")
    for setting in ${SETTINGS[$variant]}; do flags+=(--config "profile.$profile.$setting"); done
  fi
  packages=()
  for name in ${FUNCTIONS//,/ }; do packages+=(-p "$name"); done
  echo "== $variant (${SETTINGS[$variant]:-Cargo.toml as is})"
  started=$(date +%s)
  CARGO_TARGET_DIR=$target_dir cargo build --quiet --profile "$profile" "${flags[@]}" "${packages[@]}"
  built=$(( $(date +%s) - started ))
  {
    echo "variant $variant: ${SETTINGS[$variant]:-Cargo.toml as is}; build of ${FUNCTIONS} ${built}s"
    for name in ${FUNCTIONS//,/ }; do
      echo "size $name $(stat -c %s "$target_dir/$profile/$name") bytes"
    done
    python3 scripts/coldstart.py --bin-dir "$target_dir/$profile" --only "$FUNCTIONS" --runs "${RUNS:-21}" --load 50
    CARGO_TARGET_DIR=$target_dir cargo bench --quiet --profile "$profile" "${flags[@]}" -p shared --bench hot_paths \
      -- "$BENCHES" 2>&1 |
      grep -E '^[│ ]*[├╰]─ |^hot_paths' | grep -vE 'alloc|grow'
  } | tee "$out/$variant.txt"
done
