#!/usr/bin/env bash
# One-node Slurm cluster on this machine, for tests (Debian 12: slurm-wlm 22.05 + munge, run as root).
#
#   tests/services/slurm.sh start    # munged + slurmctld + slurmd, wait until the node is idle
#   tests/services/slurm.sh stop     # stop slurmd + slurmctld (munged keeps running)
#   tests/services/slurm.sh status   # exit 0 if sinfo answers and the node is usable
#
# No systemd needed: the daemons are started by hand. No cgroups, no slurmdbd; finished jobs stay
# visible to `squeue --states=all` for a day (MinJobAge). Jobs run as the submitting user (root).
# Environment: SLURM_TEST_CPUS (default: nproc) number of CPUs the node announces (may exceed nproc),
#              SLURM_TEST_TIMEOUT (default: 60) seconds to wait for the node.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by columnar tests/services/slurm.sh"
LOGDIR=/var/log/slurm
NODE="$(hostname -s)"
TIMEOUT="${SLURM_TEST_TIMEOUT:-60}"

say() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: ERROR: $*" >&2; exit 1; }

logs() {
    for f in "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" /var/log/munge/munged.log; do
        [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }
    done
    return 0
}

# is process $1 alive (zombies are dead)? is daemon $1 (slurmctld|slurmd) alive according to its pid file?
alive() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
running() { alive "$(cat "/run/$1.pid" 2>/dev/null || true)"; }

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n1; }

# usable: idle/mixed/allocated and responding (a trailing "*" means slurmd does not respond)
usable() {
    case "$1" in
        *'*') return 1 ;;
        idle* | mix* | alloc* | completing*) return 0 ;;
        *) return 1 ;;
    esac
}

node_ok() { usable "$(node_state)"; }

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating munge key"
        install -d -o munge -g munge -m 0700 /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "starting munged"
        runuser -u munge -- /usr/sbin/munged --force || { logs; die "munged did not start"; }
        for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
    fi
    munge -n | unmunge >/dev/null || { logs; die "munge -n | unmunge fails"; }
    say "munge ok"
}

write_conf() {
    if [ -f "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; not touching it"
    fi
    local cpus mem
    cpus="${SLURM_TEST_CPUS:-$(nproc)}"
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)  # MiB, 10% below the real memory
    mkdir -p /etc/slurm
    cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=columnar
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# CR_CPU: CPUs are the only consumable, so N 1-CPU jobs run at the same time whatever memory they ask for.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# keep finished jobs visible to squeue --states=all (there is no slurmdbd/sacct)
MinJobAge=86400
ReturnToService=2
# trust the CPU/memory numbers below even if they differ from the hardware
SlurmdParameters=config_overrides
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    if [ -f "$CONF" ] && cmp -s "$CONF" "$CONF.tmp"; then
        rm -f "$CONF.tmp"
    else
        mv "$CONF.tmp" "$CONF"
        CONF_CHANGED=1
        say "wrote $CONF (node $NODE, $cpus CPUs, ${mem} MiB)"
    fi
    install -d -o root -g root -m 0755 /var/spool/slurmctld /var/spool/slurmd "$LOGDIR"
}

wait_node() {
    local t0=$SECONDS state
    while [ $((SECONDS - t0)) -lt "$TIMEOUT" ]; do
        state="$(node_state || true)"
        if usable "$state"; then
            say "node $NODE is $state (took $((SECONDS - t0)) s)"
            return 0
        fi
        case "$state" in
            down* | drain* | fail*)
                say "node $NODE is $state, resuming"
                scontrol update NodeName="$NODE" State=RESUME || true ;;
        esac
        sleep 1
    done
    sinfo -N -l >&2 || true
    scontrol show node "$NODE" >&2 || true
    logs
    die "node $NODE not idle after ${TIMEOUT} s (state: '${state:-no answer}')"
}

start() {
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    start_munge
    CONF_CHANGED=0
    write_conf
    if [ "$CONF_CHANGED" = 1 ] && { running slurmctld || running slurmd; }; then
        say "configuration changed, restarting"
        stop
    fi
    if running slurmctld && running slurmd && node_ok; then
        say "already running, node $NODE is $(node_state)"
        return 0
    fi
    if ! running slurmctld; then
        say "starting slurmctld"
        /usr/sbin/slurmctld || { logs; die "slurmctld did not start"; }
    fi
    if ! running slurmd; then
        say "starting slurmd"
        /usr/sbin/slurmd || { logs; die "slurmd did not start"; }
    fi
    wait_node
}

stop() {
    local d
    for d in slurmd slurmctld; do
        running "$d" || continue
        say "stopping $d"
        kill "$(cat "/run/$d.pid")" || true
        for _ in $(seq 20); do running "$d" || break; sleep 0.5; done
        if running "$d"; then
            say "$d still alive after 10 s, killing it"
            kill -9 "$(cat "/run/$d.pid")" || true
        fi
        rm -f "/run/$d.pid"
    done
    say "stopped"
}

status() {
    if node_ok; then
        say "running, node $NODE is $(node_state)"
    else
        die "not running or node not usable (state: '$(node_state || true)')"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
