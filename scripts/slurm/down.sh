#!/usr/bin/env bash
# Stops the single-node Slurm cluster that scripts/slurm/up.sh started: slurmd, slurmctld,
# then munged, each by the PID in its pid file under the state directory
# (${INDU_SLURM_DIR:-/tmp/indu-slurm}), never by name, so it leaves any other Slurm or munge
# on the machine alone. Waits up to ~10 s for each to exit (then SIGKILL); zombies count as
# exited. Exit status 0 also when nothing was running. Jobs still queued or running are
# cancelled first (scancel, while slurmctld is up).
set -euo pipefail
DIR=${INDU_SLURM_DIR:-/tmp/indu-slurm}

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

stop() { # stop NAME PIDFILE
  local name=$1 file=$2 pid
  [ -s "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  # Only a live process of that program: a stale pid file may name a recycled PID.
  if [ -z "$pid" ] || ! alive "$pid" || [ "$(ps -o comm= -p "$pid" 2>/dev/null)" != "$name" ]; then
    rm -f "$file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$pid" || { rm -f "$file"; echo "slurm down: stopped $name (pid $pid)" >&2; return 0; }
    sleep 0.1
  done
  echo "slurm down: $name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 30); do
    alive "$pid" || { rm -f "$file"; return 0; }
    sleep 0.1
  done
  echo "slurm down: $name (pid $pid) is still running" >&2
  return 1
}

# cancel_jobs: while the controller is up, cancel every job it knows and wait (up to 10 s)
# until none runs. Stopping slurmd alone leaves the slurmstepd of a running job, and the job,
# running (and that slurmstepd then ignores SIGTERM).
cancel_jobs() {
  local file=$DIR/run/slurmctld.pid pid ids
  [ -s "$file" ] && [ -f "$DIR/slurm.conf" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && alive "$pid" || return 0
  export SLURM_CONF=$DIR/slurm.conf
  ids=$(squeue -h -o %F 2>/dev/null | sort -u) || return 0
  [ -n "$ids" ] || return 0
  echo "slurm down: cancelling jobs $(echo "$ids" | tr '\n' ' ')" >&2
  # shellcheck disable=SC2086
  scancel $ids 2>/dev/null || true
  for _ in $(seq 100); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  echo "slurm down: jobs still listed after 10 s: $(squeue -h -o '%i %T' 2>/dev/null | tr '\n' ' ')" >&2
}

[ -d "$DIR" ] || exit 0
status=0
cancel_jobs
stop slurmd "$DIR/run/slurmd.pid" || status=1
stop slurmctld "$DIR/run/slurmctld.pid" || status=1
stop munged "$DIR/munge/munged.pid" || status=1
exit "$status"
