#!/bin/sh
# A single-node SLURM cluster on this machine, for the tests of profiles/slurm (tests/workflow/
# test_slurm.py) and for trying the profile by hand: Debian's slurm-wlm and munge, the daemons
# started as plain background processes (no systemd needed), stopped by the PIDs it recorded.
#   scripts/local_slurm.sh up [GPUS]   install if missing, configure, start, wait for an idle node
#   scripts/local_slurm.sh down        stop the daemons it started, remove its configuration
#   scripts/local_slurm.sh check       exit 0 if `up` can run here, else say why and exit 3
# Needs root (it writes /etc/slurm and starts the daemons) and apt-get when slurm is missing.
# GPUS (default 2) are faked: gres "gpu" entries backed by null devices, so a rule's gpu resource
# becomes --gpus and the job sees CUDA_VISIBLE_DEVICES, with no device behind it.
#
# Settings found necessary (issue 14):
#  - the config lives at /etc/slurm/slurm.conf: the executor plugin's job step removes every SLURM_*
#    variable, SLURM_CONF included, before its inner srun, which then finds no other path;
#  - no accounting daemon, so sacct fails: the profile queries squeue (slurm-status-command), and
#    the plugin trusts squeue only if MinJobAge >= 3 x its initial wait, hence MinJobAge=600;
#  - a gres.conf line without File= drains the node, one whose count differs from its files stops
#    slurmd, and files that are not devices give the job no CUDA_VISIBLE_DEVICES.
set -eu

STATE=${GDBENCH_SLURM_STATE:-/run/gdbench-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by gdbench scripts/local_slurm.sh"

why_not() {
    if [ "$(id -u)" != 0 ]; then
        echo "local_slurm: needs root (it writes /etc/slurm and starts slurmctld, slurmd and munged)"
        return 3
    fi
    if ! command -v slurmctld >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; then
        echo "local_slurm: slurmctld is not installed and there is no apt-get to install slurm-wlm"
        return 3
    fi
    if [ -f "$CONF" ] && ! grep -q "$MARK" "$CONF"; then
        echo "local_slurm: $CONF exists and is not ours: this machine has a SLURM of its own"
        return 3
    fi
    return 0
}

install() {
    if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
        return 0
    fi
    echo "local_slurm: installing slurm-wlm and munge (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # the packages' own start scripts need systemd or init; the daemons are started below instead
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

configure() {
    gpus=$1
    node=$(hostname -s)
    cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it honours OMP_NUM_THREADS, which the test session may have set to 1
    memory=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
    mkdir -p /etc/slurm "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    gres=""
    if [ "$gpus" -gt 0 ]; then
        gres="Gres=gpu:$gpus"
        # one device file per GPU (slurmd refuses a count that differs from its files), each a
        # character device with /dev/null's numbers: SLURM reads the GPU's index off its name and
        # sets CUDA_VISIBLE_DEVICES (a plain file gives no index, so no variable)
        index=0
        while [ "$index" -lt "$gpus" ]; do
            rm -f "$STATE/fakegpu$index"
            mknod "$STATE/fakegpu$index" c 1 3
            index=$((index + 1))
        done
        echo "$MARK
NodeName=$node Name=gpu Count=$gpus File=$STATE/fakegpu[0-$((gpus - 1))]" > /etc/slurm/gres.conf
    fi
    cat > "$CONF" <<EOF
$MARK
ClusterName=gdbench
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
SchedulerType=sched/backfill
GresTypes=gpu
NodeName=$node CPUs=$cpus RealMemory=$memory $gres State=UNKNOWN
PartitionName=gdbench Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
}

start() {
    # munged runs as its own user, as its package does; it writes its PID file itself
    su -s /bin/sh munge -c "munged --pid-file=/run/munge/munged.pid"
    cp /run/munge/munged.pid "$STATE/munged.pid"
    slurmctld
    slurmd
    started=$(date +%s)
    while :; do
        state=$(sinfo -h -o %t 2>/dev/null || true)
        [ "$state" = idle ] && break
        if [ $(($(date +%s) - started)) -gt 60 ]; then
            echo "local_slurm: the node is '$state', not idle, after 60 s; logs in /var/log/slurm" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "local_slurm: node $(hostname -s) idle, $(getconf _NPROCESSORS_ONLN) CPUs, $1 faked GPUs, after $(($(date +%s) - started)) s"
}

down() {
    for daemon in slurmd slurmctld munged; do
        if [ -f "$STATE/$daemon.pid" ]; then
            pid=$(cat "$STATE/$daemon.pid")
            kill "$pid" 2>/dev/null || true
            # wait for it to exit: a daemon still shutting down would keep its port from the next `up`
            waited=0
            while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 20 ]; do
                sleep 0.5
                waited=$((waited + 1))
            done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$STATE/$daemon.pid"
        fi
    done
    if [ -f "$CONF" ] && grep -q "$MARK" "$CONF"; then
        rm -f "$CONF" /etc/slurm/gres.conf
    fi
    rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
}

case "${1:-}" in
    check) why_not ;;
    up)
        why_not >&2 || exit 3
        install
        down  # a previous cluster of ours, if one was left running
        for daemon in slurmctld slurmd; do
            # one not started by this script (no PID file of ours) would answer in place of ours
            if pgrep -x "$daemon" >/dev/null; then
                echo "local_slurm: a $daemon not started by this script is running (pid $(pgrep -x "$daemon" | tr '\n' ' ')); stop it first" >&2
                exit 1
            fi
        done
        configure "${2:-2}"
        start "${2:-2}"
        ;;
    down) down ;;
    *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
