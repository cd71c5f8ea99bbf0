#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while (default 20 s each): a CI smoke test that the
# targets build and that nothing in the committed seed corpus, or found quickly from it,
# panics or answers 5xx. Longer runs: FUZZ_SECONDS=300 scripts/fuzz-smoke.sh token_claims
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer, sancov); this toolchain is stable, so the
# build runs with RUSTC_BOOTSTRAP=1. cargo-fuzz itself is installed from crates.io if missing.
# New corpus entries go to target/fuzz/corpus/<target> (fuzz/corpus/<target> holds only the
# committed seeds and is never written); crashes to target/fuzz/artifacts/<target>/.
# Leak detection is off: the targets keep state across runs on purpose (the embedded store
# grows with every registration), and LeakSanitizer's scans then cost 95% of the time.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-20}
CARGO_FUZZ_VERSION=${CARGO_FUZZ_VERSION:-0.13.2}
export RUSTC_BOOTSTRAP=1
# FUZZ_TARGET_DIR: keep the instrumented build somewhere that outlives the checkout (CI);
# else $CARGO_TARGET_DIR/fuzz, else target/fuzz. Absolute: the runs below work in fuzz/.
target_dir=$(realpath -m "${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}")

phase_started=$SECONDS
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  echo "cargo-fuzz $CARGO_FUZZ_VERSION installed in $((SECONDS - phase_started)) s"
fi

# fuzz/ is its own workspace with its own Cargo.lock: it must hold every crate the targets use
# (shared's dependencies included), or each run would resolve the missing ones afresh. Checked
# first, as `cargo fuzz build` has no --locked. When shared gains a dependency: `cd fuzz && cargo
# fetch` adds it (keeping every other version) and the updated lock is committed.
if ! (cd fuzz && cargo fetch --locked --quiet); then
  echo "fuzz/Cargo.lock is stale (see above): run 'cd fuzz && cargo fetch' and commit fuzz/Cargo.lock" >&2
  exit 1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi

# One build for every target (they share the instrumented dependency graph).
phase_started=$SECONDS
(cd fuzz && cargo fuzz build --target-dir "$target_dir")
echo "fuzz targets built in $((SECONDS - phase_started)) s"

failed=()
for name in "${targets[@]}"; do
  corpus="$target_dir/corpus/$name"
  artifacts="$target_dir/artifacts/$name/"
  mkdir -p "$corpus" "$artifacts"
  printf '\n== fuzz %s for %ss\n' "$name" "$SECONDS_PER_TARGET"
  log="$target_dir/$name.log"
  if (cd fuzz && cargo fuzz run --target-dir "$target_dir" "$name" "$corpus" "corpus/$name" -- \
        -max_total_time="$SECONDS_PER_TARGET" -artifact_prefix="$artifacts" -print_final_stats=1 \
        -max_len=20000 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0) > "$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tail -2 || true
  else
    failed+=("$name")
    tail -60 "$log"
    echo "fuzz target $name FAILED; the reproducer is in $artifacts (log: $log)" >&2
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each, no crash"
