#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (root; Debian's slurm-wlm + munge):
# munged, slurmctld and slurmd with a generated slurm.conf in DIR (default /tmp/rl-research-slurm),
# job completions logged to DIR/jobcomp.log (no accounting database). Waits until the node is idle.
# Prints `export SLURM_CONF=...` for the clients. Stop it with tests/slurm/stop.sh DIR.
set -euo pipefail
D="${1:-/tmp/rl-research-slurm}"
mkdir -p "$D/state" "$D/spool"
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))

# munge: one key, the daemon as root (--force: its directories are root's here).
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chmod 400 /etc/munge/munge.key
chown -R root:root /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 755 /run/munge
pgrep -x munged >/dev/null || munged --force

cat > "$D/slurm.conf" <<CONF
ClusterName=rltest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/filetxt
JobCompLoc=$D/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
KillWait=10
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then
        echo "export SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 1
done
echo "error: the Slurm node did not become idle in 60 s; see $D/slurmctld.log and $D/slurmd.log" >&2
sinfo >&2 || true
exit 1
