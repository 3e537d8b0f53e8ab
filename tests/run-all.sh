#!/usr/bin/env bash
# Every test of the project, in one command (`.ci/run` calls it on a fresh machine):
#
#   tests/run-all.sh [--skip python,packaging,slurm] [-- CARGO_TEST_ARGS...]
#
# 1. checks the formatting (cargo fmt);
# 2. creates or reuses the checkers' venv ($RL_RESEARCH_VENV, default ~/.cache/rl-research/venv)
#    with hydra-core, TensorBoard, rliable, Gymnasium and pytest: the real readers and checkers
#    the Rust tests compare against;
# 3. starts a single-node Slurm (slurm-wlm + munge) where it can (root with apt-get), for
#    tests/core/slurm.rs, and stops it at the end;
# 4. runs `cargo test --locked` (unit, integration and GUI tests);
# 5. builds and installs the Python package into the venv and runs its pytest suite;
# 6. runs the packaging test (build the .deb, install it, launch it) where the machine allows
#    (root on Debian/Ubuntu).
# It goes on after a failed step, so one run shows every failure, and ends with one summary
# line: what passed, what failed, what was skipped and why. Exit code 0 when nothing failed.
# As root with apt-get it also installs what the tests use: nasm (faster openh264), Mesa's
# software Vulkan driver (the wgpu tests), slurm-wlm and munge.
set -uo pipefail
cd "$(dirname "$0")/.."

skip_steps=","
cargo_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --skip) skip_steps=",${2:-},"; shift 2 || { echo "error: --skip needs a list, e.g. --skip python,packaging,slurm" >&2; exit 2; } ;;
        --skip=*) skip_steps=",${1#--skip=},"; shift ;;
        --) shift; cargo_args=("$@"); break ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown option '$1': expected --skip LIST or -- followed by cargo test arguments" >&2; exit 2 ;;
    esac
done
for s in $(echo "$skip_steps" | tr ',' ' '); do
    case "$s" in python|packaging|slurm) ;; *) echo "error: --skip '$s' is not a step: use python, packaging or slurm" >&2; exit 2 ;; esac
done
skipping() { [[ "$skip_steps" == *",$1,"* ]]; }

started=$SECONDS
passed=()   # "what (detail)"
failed=()
skipped=()  # "what (why)"
is_root=false; [ "$(id -u)" = 0 ] && is_root=true
has_apt=false; command -v apt-get >/dev/null 2>&1 && has_apt=true
apt_updated=false
apt_install() { # packages...: quiet, bounded; returns apt's status
    if ! $apt_updated; then timeout 300 apt-get update -qq >/dev/null 2>&1; apt_updated=true; fi
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "$@" >/dev/null 2>&1
}

join() { # items... -> "a; b; c"
    local out="" x
    for x in "$@"; do out+="${out:+; }$x"; done
    echo "$out"
}

summary() {
    local secs=$((SECONDS - started)) line
    line="run-all: $([ ${#failed[@]} -eq 0 ] && echo PASSED || echo FAILED) in ${secs} s"
    [ ${#failed[@]} -gt 0 ] && line+=" | failed: $(join "${failed[@]}")"
    [ ${#passed[@]} -gt 0 ] && line+=" | passed: $(join "${passed[@]}")"
    [ ${#skipped[@]} -gt 0 ] && line+=" | skipped: $(join "${skipped[@]}")"
    echo
    echo "$line"
}

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: this project needs a Rust toolchain (1.95 or newer, from rustup) on PATH" >&2
    exit 1
fi

# Optional tools, installed where we may (root with apt-get).
if ! command -v nasm >/dev/null 2>&1; then
    if $is_root && $has_apt && apt_install nasm; then :; else
        echo "note: nasm not installed; openh264 builds without assembly (slower video encoding, same results)" >&2
    fi
fi
# Mesa's llvmpipe, a software Vulkan driver: tests/core/gpu.rs then runs the wgpu path on the
# kernels a GPU runs, and must (RL_RESEARCH_REQUIRE_WGPU) once the driver is there.
if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 && $is_root && $has_apt; then
    apt_install mesa-vulkan-drivers || echo "note: mesa-vulkan-drivers not installed; the wgpu tests skip" >&2
fi
if ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
    export RL_RESEARCH_REQUIRE_WGPU=1
fi

# 1. Formatting: a change that is not `cargo fmt`ed fails here, first.
if ! cargo fmt --version >/dev/null 2>&1; then
    skipped+=("format check (rustfmt not installed: rustup component add rustfmt)")
elif cargo fmt --all --check >/dev/null 2>&1; then
    passed+=("cargo fmt")
else
    echo "error: the tree is not formatted: run cargo fmt --all (files: $(cargo fmt --all --check -l 2>/dev/null | tr '\n' ' '))" >&2
    failed+=("cargo fmt (run cargo fmt --all)")
    summary
    exit 1
fi

# A target dir outside the clone is only a cache: a cold build takes 20-35 min on 2 cores,
# and the Python package reuses it (same profile), so burn is built once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rl-research/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RL_RESEARCH_GYM_FIXTURES="${RL_RESEARCH_GYM_FIXTURES:-$PWD/../shared/fixtures/gym}"
[ -d "$RL_RESEARCH_GYM_FIXTURES" ] || skipped+=("Gymnasium parity episodes (no $RL_RESEARCH_GYM_FIXTURES: set RL_RESEARCH_GYM_FIXTURES)")

# 2. The checkers' venv: hydra-core's own override parser (tests/core/hydra_grammar.rs diffs our
# grammar against it), TensorBoard's EventAccumulator (tests/core/tracking.rs reads our event
# files with it), rliable (tests/core/groups.rs compares our IQM/bootstrap statistics with it) and
# Gymnasium (tests/core/gym_workers.rs steps it in worker processes; pygame for frames).
# arch 7.2 (rliable's bootstrap; the newest for Python 3.11) does not import with pandas 3.
VENV="${RL_RESEARCH_VENV:-$HOME/.cache/rl-research/venv}"
venv_ok=true
if [ ! -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV"; then
    if $is_root && $has_apt && apt_install python3-venv && python3 -m venv "$VENV"; then :; else
        echo "error: could not create the venv $VENV: install python3 and python3-venv (Debian: apt install python3-venv)" >&2
        venv_ok=false
    fi
fi
if $venv_ok && "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "hydra-core==1.3.8" "tensorboard>=2.16,<3" "pandas>=2,<3" "rliable==1.2.0" \
    "gymnasium[classic-control]>=1.0" "omegaconf>=2.3" numpy pytest; then
    export RL_RESEARCH_TEST_PYTHON="$VENV/bin/python"
    passed+=("checkers' venv ($VENV)")
else
    failed+=("checkers' venv $VENV (pip install failed: see above)")
    venv_ok=false
fi

# 3. A real single-node Slurm (Debian's slurm-wlm + munge) for tests/core/slurm.rs.
if skipping slurm; then
    skipped+=("Slurm tests (--skip slurm)")
elif sinfo -h >/dev/null 2>&1; then
    export RL_RESEARCH_SLURM=1   # a cluster answers already: the tests must pass on it
    passed+=("Slurm tests on the cluster sinfo answers for")
elif $is_root && $has_apt; then
    if command -v slurmctld >/dev/null 2>&1 || apt_install slurm-wlm munge; then
        SLURM_DIR="$(mktemp -d /tmp/rl-research-slurm.XXXXXX)"
        trap 'bash tests/slurm/stop.sh "$SLURM_DIR"' EXIT
        if slurm_env="$(bash tests/slurm/start.sh "$SLURM_DIR")"; then
            eval "$slurm_env"
            export RL_RESEARCH_SLURM=1
            passed+=("single-node Slurm started for tests/core/slurm.rs")
        else
            failed+=("starting Slurm (tests/slurm/start.sh: see above)")
        fi
    else
        failed+=("installing slurm-wlm and munge with apt-get")
    fi
else
    skipped+=("Slurm tests (starting a single-node Slurm needs root with apt-get: sudo tests/run-all.sh, or start one and set SLURM_CONF)")
fi

# 4. The Rust tests. Tests that cannot run here (no root for a tmpfs, no Slurm) say so in this log.
SKIP_LOG="$(mktemp /tmp/rl-research-skips.XXXXXX)"
export RL_RESEARCH_SKIP_LOG="$SKIP_LOG"
TEST_LOG="$(mktemp /tmp/rl-research-cargo-test.XXXXXX)"
cargo test --locked "${cargo_args[@]}" 2>&1 | tee "$TEST_LOG"
cargo_status=${PIPESTATUS[0]}
counts="$(awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "%d passed, %d failed, %d ignored", p, f, i}' "$TEST_LOG")"
if [ "$cargo_status" = 0 ]; then passed+=("cargo test ($counts)"); else failed+=("cargo test ($counts; exit $cargo_status)"); fi
while IFS= read -r line; do skipped+=("$line"); done < <(sort -u "$SKIP_LOG")
rm -f "$SKIP_LOG" "$TEST_LOG"

# 5. The Python package (maturin + pyo3), built with the tests' profile into the same
# CARGO_TARGET_DIR (only the binding crate is new), then its pytest suite.
if skipping python; then
    skipped+=("Python package (--skip python)")
elif ! $venv_ok; then
    failed+=("Python package (no venv)")
else
    built_at=$SECONDS
    if "$VENV/bin/python" -m pip install -q --disable-pip-version-check ./packaging/python; then
        echo "python package built and installed in $((SECONDS - built_at)) s"
        PYTEST_LOG="$(mktemp /tmp/rl-research-pytest.XXXXXX)"
        "$VENV/bin/python" -m pytest -q -rs packaging/python/tests 2>&1 | tee "$PYTEST_LOG"
        pytest_status=${PIPESTATUS[0]}
        counts="$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$PYTEST_LOG" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')"
        if [ "$pytest_status" = 0 ]; then passed+=("Python package pytest (${counts:-ok})"); else failed+=("Python package pytest (${counts:-exit $pytest_status})"); fi
        rm -f "$PYTEST_LOG"
    else
        failed+=("building the Python package (pip install ./packaging/python: see above)")
    fi
fi

# 6. Packaging: .deb build, dpkg -i, launch of the installed entry under Xvfb, removal.
if skipping packaging; then
    skipped+=("packaging test (--skip packaging)")
elif $is_root && command -v dpkg >/dev/null 2>&1 && $has_apt; then
    if bash packaging/linux/test-deb.sh; then passed+=("packaging (.deb)"); else failed+=("packaging (packaging/linux/test-deb.sh)"); fi
else
    skipped+=("packaging test (needs root on Debian/Ubuntu: sudo packaging/linux/test-deb.sh)")
fi

summary
[ ${#failed[@]} -eq 0 ]
