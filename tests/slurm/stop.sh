#!/usr/bin/env bash
# Stops the daemons tests/slurm/start.sh started (DIR as given to it).
D="${1:-/tmp/rl-research-slurm}"
for f in "$D/slurmd.pid" "$D/slurmctld.pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
done
pkill -x munged 2>/dev/null || true
exit 0
