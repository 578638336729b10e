#!/usr/bin/env bash
# Start a single-node SLURM cluster on this host (tests and local trials of profiles/slurm).
#   sudo bash scripts/slurm/start_cluster.sh    # installs slurm-wlm + munge if missing
#   sinfo; snakemake --profile profiles/slurm ...
#   sudo bash scripts/slurm/stop_cluster.sh
# Idempotent: a running cluster is left as is. Writes /etc/slurm/slurm.conf (the default
# path: the job step clears SLURM_* variables, so a SLURM_CONF elsewhere would be lost)
# with this host's real CPUs and memory (`slurmd -C`) and, where `nvidia-smi -L` lists
# GPUs, a gres.conf. An existing slurm.conf not written by this script is never replaced
# (set MATHDISTILL_SLURM_OVERWRITE=1 to replace it). Accounting is off: query job status
# with squeue (profiles/slurm sets --slurm-status-command squeue). Daemons run without
# systemd (containers); what this script started is recorded in $STATE for stop_cluster.sh.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# written by mathdistill scripts/slurm/start_cluster.sh"
STATE=/run/mathdistill-slurm
TIMEOUT=${MATHDISTILL_SLURM_TIMEOUT:-90}   # seconds to wait for the node to become idle

log() { echo "start_cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts daemons)"

# ---- 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get to install them"
  log "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
fi
mkdir -p "$STATE"

running() {  # running PIDFILE: the pid in PIDFILE is alive
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# ---- 2. munge (authentication between the daemons and the clients)
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 0700 /etc/munge && chmod 0600 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged
  touch "$STATE/munged"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# ---- 3. slurm.conf for this host
host=$(hostname -s)
write_conf() {
  local node gpus gres_line=""
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node=$(slurmd -C | head -n1)
  [[ $node == NodeName=* ]] || die "unexpected 'slurmd -C' output: $node"
  gpus=0
  if command -v nvidia-smi >/dev/null; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  fi
  if (( gpus > 0 )); then
    gres_line="GresTypes=gpu"
    node="$node Gres=gpu:$gpus"
    { echo "$MARKER"; echo "Name=gpu File=/dev/nvidia[0-$((gpus - 1))]"; } > "$CONF_DIR/gres.conf"
  else
    rm -f "$CONF_DIR/gres.conf"
  fi
  cat > "$CONF.tmp" <<EOF
$MARKER
# Single-node cluster on $host; regenerated on every start while the daemons are down.
ClusterName=mathdistill
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
SlurmUser=slurm
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups (containers): plain /proc process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# accounting off: sacct does not work, jobs are queried with squeue while MinJobAge keeps
# finished jobs visible (the executor plugin needs >= 3x its status-check interval)
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
$gres_line
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
  log "wrote $CONF: $node"
}

if running /run/slurmctld.pid && running /run/slurmd.pid; then
  log "slurmctld and slurmd already running"
else
  if [[ -e $CONF ]] && ! grep -qxF "$MARKER" "$CONF" \
      && [[ ${MATHDISTILL_SLURM_OVERWRITE:-0} != 1 ]]; then
    die "$CONF exists and was not written by this script (MATHDISTILL_SLURM_OVERWRITE=1 replaces it)"
  fi
  write_conf
  install -d -o slurm -g slurm -m 0755 /var/lib/slurm/slurmctld /var/log/slurm
  install -d -m 0755 /var/lib/slurm/slurmd
  # ---- 4. daemons (each forks into the background and writes its pid file)
  if ! running /run/slurmctld.pid; then
    log "starting slurmctld"
    /usr/sbin/slurmctld
    touch "$STATE/slurmctld"
  fi
  if ! running /run/slurmd.pid; then
    log "starting slurmd"
    /usr/sbin/slurmd
    touch "$STATE/slurmd"
  fi
fi

# ---- 5. wait until the node takes jobs
deadline=$((SECONDS + TIMEOUT))
while :; do
  state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null | head -n1 || true)
  case $state in
    idle|mix|alloc) break ;;
    drain*|down*|fail*)
      scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
  esac
  if (( SECONDS >= deadline )); then
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    die "node $host not idle after ${TIMEOUT}s (state: ${state:-none})"
  fi
  sleep 1
done
log "cluster up: $(sinfo -h -N -o '%N %P %t cpus=%c mem=%m gres=%G' | head -n1)"
