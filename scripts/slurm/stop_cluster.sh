#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by scripts/slurm/start_cluster.sh.
#   sudo bash scripts/slurm/stop_cluster.sh
# Cancels the queued/running jobs, then stops slurmd, slurmctld and munged (SIGTERM, then
# SIGKILL after 15 s), each only if start_cluster.sh started it (recorded in $STATE).
# Idempotent: nothing running is not an error. The config files are left in place.
set -euo pipefail

STATE=/run/mathdistill-slurm

log() { echo "stop_cluster: $*" >&2; }

[[ $(id -u) -eq 0 ]] || { log "error: must run as root"; exit 1; }

stop() {  # stop NAME PIDFILE
  local name=$1 pidfile=$2 pid
  [[ -e $STATE/$name ]] || return 0
  if [[ -s $pidfile ]] && pid=$(cat "$pidfile") && kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$STATE/$name"
}

if [[ -e $STATE/slurmctld ]] && command -v scancel >/dev/null; then
  # our single-node cluster: no job outlives it (slurmd would kill their steps anyway)
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [[ -n $jobs ]]; then
    log "cancelling jobs: $(echo $jobs)"
    timeout 10 scancel $jobs 2>/dev/null || true
    sleep 2
  fi
fi
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
log "stopped"
