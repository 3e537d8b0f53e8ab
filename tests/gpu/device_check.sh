#!/usr/bin/env bash
# The GPU checks of issue 18, as one script for the device machine (an NVIDIA
# GPU lent to some sessions only; CI never has one). Prepare here, once:
#   echo /.gl/ >> .git/info/exclude; echo /.devbin/ >> .git/info/exclude
#   mkdir -p .gl /tmp/amd64/partial; o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1)
#   mkdir -p .devbin; strip -o .devbin/rl-research "$CARGO_TARGET_DIR/debug/rl-research"; gzip -f .devbin/rl-research
# then run it with carry [".gl", ".devbin"] and command `bash tests/gpu/device_check.sh`
# (about 5 minutes). It writes everything it prints to $OUT/device_check.log.
set -uo pipefail
OUT="${OUT:-/tmp/device-check}"; mkdir -p "$OUT"
exec > >(tee "$OUT/device_check.log") 2>&1
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
gunzip -c .devbin/rl-research.gz > /tmp/rl-research && chmod +x /tmp/rl-research
B=/tmp/rl-research
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
grep -m1 "model name" /proc/cpuinfo
cd /tmp && rm -rf gpucheck && mkdir gpucheck && cd gpucheck
step() { echo; echo "== $*"; /usr/bin/time -f "wall %e s, max RSS %M KiB" "$@"; }
# 1. The target: 256 seeds of PPO CartPole, 1e5 steps each, one batch on the GPU (PureJaxRL: ~48 s).
step timeout 300 $B run experiment.device=gpu experiment.n_seeds=256 experiment.total_timesteps=100000 \
    experiment.eval_freq=100000 experiment.n_eval_episodes=2 experiment.video_episodes=0 experiment.checkpoint_freq=null \
    logging.system_metrics_secs=0 experiment.name=ppo256 | grep -v "steps/s"
# 2. auto's measurement at 1, 8 and 256 seeds (the note says what it timed and where it trained).
for n in 1 8 256; do
    step timeout 120 $B run experiment.device=auto experiment.n_seeds=$n experiment.total_timesteps=4096 experiment.eval_freq=4096 \
        experiment.n_eval_episodes=2 experiment.video_episodes=0 experiment.name=auto$n | grep -E "auto|device|completed"
done
# 3. The benchmark's GPU rows.
step timeout 200 $B bench --seeds 8,64,256 --algo ppo --device gpu --quick
