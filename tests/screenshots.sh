#!/usr/bin/env bash
# Screenshots of every panel of the real app under Xvfb, for a human to look at.
#   tests/screenshots.sh [--docs] [OUT_DIR]      (default: target/screenshots)
# --docs also writes the user guide's pictures (docs/images/*.png, scaled to 960 px wide).
# Needs: xvfb (Xvfb), imagemagick (import); builds the binary with cargo.
# It makes its own runs (a CartPole PPO run with replay data, a LunarLander run, Pendulum (PPO, SAC) and Acrobot runs,
# a gym:Acrobot-v1 run in Python workers,
# a 2-trial sweep, a killed run and a broken directory) in a temporary directory, and keeps
# the app's persisted settings out of your home directory.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=false
if [ "${1:-}" = "--docs" ]; then DOCS=true; shift; fi
OUT="$(realpath -m "${1:-target/screenshots}")"
mkdir -p "$OUT"
tools="Xvfb import"
$DOCS && tools="$tools convert"
for tool in $tools; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found: apt-get install xvfb imagemagick" >&2; exit 1; }
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rl-research/target}"
cargo build --quiet
BIN="$CARGO_TARGET_DIR/debug/rl-research"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config"
RUNS="$WORK/runs"

echo "making runs in $RUNS"
"$BIN" run experiment.name=cartpole_ppo experiment.runs_dir="$RUNS" experiment.total_timesteps=30000 experiment.eval_freq=5000 experiment.keep_checkpoints=10 experiment.video_episodes=3 'experiment.tags=[baseline,cartpole]' 'experiment.notes=PPO defaults: the reference for the learning-rate study' >/dev/null 2>&1
"$BIN" note "$RUNS/cartpole_ppo" "Solves CartPole by 25k steps. The fork with lr 1e-5 (cartpole_ppo_fork) stalls: keep lr >= 1e-4." >/dev/null 2>&1
"$BIN" run --config configs/lunarlander_ppo.ron experiment.name=lunar_short experiment.runs_dir="$RUNS" experiment.total_timesteps=20000 experiment.eval_freq=10000 experiment.n_eval_episodes=2 experiment.video_episodes=1 >/dev/null 2>&1
"$BIN" run --multirun --yes experiment.name=lr_sweep experiment.runs_dir="$RUNS" experiment.total_timesteps=8000 experiment.eval_freq=4000 experiment.video_episodes=0 'experiment.tags=[lr-study]' algorithm.params.learning_rate=1e-3,3e-4 >/dev/null 2>&1
"$BIN" run --fork "$RUNS/cartpole_ppo@5000" algorithm.params.learning_rate=1e-5 >/dev/null 2>&1
"$BIN" run experiment.name=seeds_lr1e-3 experiment.runs_dir="$RUNS" experiment.n_seeds=5 'experiment.tags=[lr-study,cartpole]' experiment.total_timesteps=30000 experiment.eval_freq=3000 experiment.video_episodes=0 >/dev/null 2>&1
"$BIN" run experiment.name=seeds_lr3e-4 experiment.runs_dir="$RUNS" experiment.n_seeds=5 'experiment.tags=[lr-study,cartpole]' experiment.total_timesteps=30000 experiment.eval_freq=3000 experiment.video_episodes=0 algorithm.params.learning_rate=3e-4 >/dev/null 2>&1
"$BIN" run --config configs/pendulum_ppo.ron experiment.name=pendulum experiment.runs_dir="$RUNS" experiment.total_timesteps=40960 experiment.eval_freq=10240 experiment.video_episodes=1 env.normalize_obs=true >/dev/null 2>&1
"$BIN" run --config configs/acrobot_ppo.ron experiment.name=acrobot experiment.runs_dir="$RUNS" experiment.total_timesteps=100000 experiment.eval_freq=25000 experiment.n_eval_episodes=3 experiment.video_episodes=1 >/dev/null 2>&1
"$BIN" run --config configs/pendulum_sac.ron experiment.name=pendulum_sac experiment.runs_dir="$RUNS" experiment.total_timesteps=6000 experiment.eval_freq=3000 experiment.video_episodes=1 >/dev/null 2>&1
# A Gymnasium env stepped in Python workers (a Python with gymnasium[classic-control]).
GYM_PY="${RL_RESEARCH_TEST_PYTHON:-python3}"
"$BIN" run --config configs/acrobot_ppo.ron env.id=gym:Acrobot-v1 env.python="$GYM_PY" experiment.name=gym_acrobot experiment.runs_dir="$RUNS" experiment.total_timesteps=30000 experiment.eval_freq=10000 experiment.n_eval_episodes=3 experiment.video_episodes=1 >/dev/null 2>&1
sed 's/name: gym_acrobot/name: gym_acrobot_live/; s/total_timesteps: 30000/total_timesteps: 200000/' "$RUNS/gym_acrobot/configs/config.yaml" | grep -v '^command_line' >"$WORK/gym.yaml"
mkdir -p "$RUNS/not_a_run"
# A run killed (kill -9) after its first checkpoint: it lists as interrupted, resumable.
"$BIN" run experiment.name=killed experiment.runs_dir="$RUNS" experiment.total_timesteps=1000000 experiment.eval_freq=5000 experiment.video_episodes=0 >/dev/null 2>&1 &
killed=$!
for _ in $(seq 600); do ls "$RUNS/killed/checkpoints/"*.ckpt >/dev/null 2>&1 && break; sleep 0.1; done
kill -9 "$killed"; wait "$killed" 2>/dev/null || true

if [ -z "${DISPLAY:-}" ]; then
    Xvfb :97 -screen 0 1280x800x24 >/dev/null 2>&1 &
    export DISPLAY=:97
    sleep 2
fi

shot() { # name, seconds, gui args...
    local name="$1" secs="$2"
    shift 2
    "$BIN" gui --runs-dir "$RUNS" "$@" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    sleep "$secs"
    import -window root "$OUT/$name.png"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "  $OUT/$name.png"
}
shot train 6 --tab train
shot training 14 --config configs/lunarlander_ppo.ron --start
printf 'experiment:\n  name: seeds_live\n  n_seeds: 3\n  total_timesteps: 300000\n  video_episodes: 0\n' > "$WORK/group.yaml"
shot training_group 10 --config "$WORK/group.yaml" --start
shot runs 6 --tab runs --select "$RUNS/cartpole_ppo" --select "$RUNS/lr_sweep/trial_0" --select "$RUNS/lr_sweep/trial_1"
# The notebook: the tags column, the disk column, a run's purpose and notes.
shot notebook 6 --tab runs --select "$RUNS/cartpole_ppo"
shot runs_fork 6 --tab runs --select "$RUNS/cartpole_ppo" --select "$RUNS/cartpole_ppo_fork"
shot groups 6 --tab runs --select "$RUNS/seeds_lr1e-3" --select "$RUNS/seeds_lr3e-4"
shot compare 6 --tab runs --select "$RUNS/seeds_lr1e-3" --select "$RUNS/seeds_lr3e-4" --select "$RUNS/cartpole_ppo" --compare
shot replay 6 --replay "$RUNS/cartpole_ppo"
shot replay_lunar 6 --replay "$RUNS/lunar_short"
shot replay_pendulum 6 --replay "$RUNS/pendulum"
shot replay_acrobot 6 --replay "$RUNS/acrobot"
shot train_continuous 6 --tab train --config configs/mountaincarcontinuous_ppo.ron
shot replay_sac 6 --replay "$RUNS/pendulum_sac"
shot train_sac 6 --tab train --config configs/pendulum_sac.ron
shot train_gym 12 --config "$WORK/gym.yaml" --start
shot replay_gym 6 --replay "$RUNS/gym_acrobot"
echo "screenshots in $OUT"
if $DOCS; then
    # The guide's pictures (docs/app.md, README.md): 960 px wide, 8-bit palette PNGs.
    for name in training train_gym runs notebook groups compare replay_lunar; do
        convert "$OUT/$name.png" -resize 960x -colors 256 -strip "PNG8:docs/images/$name.png"
        echo "  docs/images/$name.png"
    done
fi
