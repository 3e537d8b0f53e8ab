#!/usr/bin/env bash
# The long fuzz run: every target of tests/core/hostile.rs with its own budget
# (1,050,000 inputs in all), one seed, with each target's time and peak RSS.
#   tests/fuzz.sh [SEED]        (default 2026; CI runs a short slice of the same tests)
# Needs /usr/bin/time (Debian's `time` package).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rl-research/target}"
export RL_RESEARCH_GYM_FIXTURES="${RL_RESEARCH_GYM_FIXTURES:-$PWD/../shared/fixtures/gym}"
export RL_RESEARCH_FUZZ_SEED="${1:-2026}"
BIN="$(cargo test --locked --test core --no-run --message-format=json 2>/dev/null | sed -n 's/.*"executable":"\([^"]*core-[^"]*\)".*/\1/p' | tail -1)"
[ -x "$BIN" ] || { echo "error: could not build the core test binary (cargo test --test core --no-run)" >&2; exit 1; }
for target in override_parser:500000 config_loaders:150000 model_loader:150000 runs_scanner:40000 checkpoint_loader:10000 resume_cut:100000 event_file:100000; do
    name="${target%%:*}"
    RL_RESEARCH_FUZZ_INPUTS="${target##*:}" /usr/bin/time -f "  $name: %e s, peak RSS %M KiB" "$BIN" --test-threads 1 --nocapture "hostile::$name" 2>&1 \
        | grep -E "fuzz:|peak RSS|panicked|FAILED"
done
