#!/usr/bin/env bash
# Starts a real single-node Slurm cluster on this machine, for tests of `indu sweep --backend
# slurm` (scripts/sweep_slurm_test.sh) and by hand. Needs root and Debian/Ubuntu (apt-get);
# works without systemd. Stop it with scripts/slurm/down.sh.
#
#   eval "$(scripts/slurm/up.sh | tail -1)"     # sets SLURM_CONF for sbatch, squeue, ...
#   sbatch --mem=100 --wrap 'hostname'; squeue
#   scripts/slurm/down.sh
#
# - Installs slurmctld, slurmd, slurm-client and munge (--no-install-recommends) if missing.
# - Everything lives in a state directory of its own, ${INDU_SLURM_DIR:-/tmp/indu-slurm},
#   wiped at each start: slurm.conf, spool and state dirs, logs (log/), pid files (run/) and a
#   munged of its own (munge/: socket, pid, log; key /etc/munge/munge.key). It never writes
#   /etc/slurm/slurm.conf and does not touch a system munged or Slurm (it does use the default
#   ports 6817/6818; set INDU_SLURM_PORT=N to use N and N+1 instead).
# - The cluster: ClusterName=indu, controller and node both `localhost` (independent of
#   `hostname`), CPUs = nproc, RealMemory = 80% of MemTotal, one partition `main` (default),
#   EnforcePartLimits=ALL (impossible requests are rejected at sbatch, not left pending),
#   proctrack/linuxproc, task/none, no accounting (sacct does not work; finished jobs leave
#   squeue/scontrol after MinJobAge=300 s). Memory is a consumable resource, so always pass
#   --mem (a job without it takes the whole node); it is not enforced.
# - SLURM_CONF: Slurm 22.05's clients (sbatch, squeue, scontrol, sinfo, scancel) read the
#   config named by $SLURM_CONF (checked here); the daemons get it with -f. The last line of
#   stdout is `export SLURM_CONF=<state dir>/slurm.conf`, also written to <state dir>/env.sh.
#   Progress and errors go to stderr.
# - Checks: `munge -n | unmunge`, the node `idle` in sinfo (up to 20 s), and a trivial job
#   that completes (up to 30 s); otherwise it fails with the tails of the daemon logs (and
#   stops the daemons it started).
# - Idempotent: a cluster that this script started on the same state dir is stopped first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${INDU_SLURM_DIR:-/tmp/indu-slurm}
PORT=${INDU_SLURM_PORT:-6817}
MARK=.indu-slurm
start=$(date +%s.%N)

say() { echo "slurm up: $*" >&2; }
die() { echo "slurm up: error: $*" >&2; exit 1; }
logs() {
  local f
  for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" "$DIR/munge/munged.log"; do
    [ -s "$f" ] && { echo "--- tail of $f" >&2; tail -n 25 "$f" >&2; }
  done
  return 0
}
# fail: the error, the logs, and whatever this run had started is stopped again.
fail() {
  echo "slurm up: error: $*" >&2
  logs
  INDU_SLURM_DIR=$DIR "$HERE/down.sh" || true
  exit 1
}

# port_listening PORT: some socket listens on TCP PORT (IPv4 or IPv6).
port_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h && $4 == "0A") f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# running NAME PIDFILE: the PID in PIDFILE is a live (not zombie) process named NAME.
running() {
  local pid st
  pid=$(tr -dc '0-9' <"$2" 2>/dev/null) || return 1
  [ -n "$pid" ] || return 1
  st=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st#Z}" = "$st" ] && [ "$(ps -o comm= -p "$pid")" = "$1" ]
}

[ "$(id -u)" = 0 ] || die "must run as root (slurmd and munged need it)"
case "$DIR" in /*) ;; *) die "INDU_SLURM_DIR must be an absolute path, not '$DIR'" ;; esac
[ "$DIR" != / ] || die "INDU_SLURM_DIR must not be /"

# 1. Packages.
pkgs="slurmctld slurmd slurm-client munge"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $pkgs >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends $pkgs >/dev/null; } ||
    die "could not install $pkgs"
fi
SLURMCTLD=$(command -v slurmctld)
SLURMD=$(command -v slurmd)
MUNGED=$(command -v munged)
[ -s /etc/munge/munge.key ] || die "no /etc/munge/munge.key (reinstall munge, or run mungekey as the munge user)"
id munge >/dev/null 2>&1 || die "no munge user"

# 2. A previous cluster on this state dir: stop it, then wipe the dir (only one of ours).
if [ -e "$DIR" ]; then
  if [ -e "$DIR/$MARK" ]; then
    INDU_SLURM_DIR=$DIR "$HERE/down.sh" || die "could not stop the previous cluster in $DIR"
  elif [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR exists, is not empty and was not made by this script; remove it or set INDU_SLURM_DIR"
  fi
  rm -rf "$DIR"
fi
mkdir -p "$DIR"/{run,log,spool/ctld,spool/d,munge,check}
touch "$DIR/$MARK"
chown munge:munge "$DIR/munge"
chmod 0755 "$DIR"
chmod 0755 "$DIR/munge"

# A port already taken (another Slurm) would make our daemons exit after daemonising while the
# checks below talk to the other cluster: refuse such ports (and check at the end that our
# daemons still run).
for p in "$PORT" $((PORT + 1)); do
  ! port_listening "$p" || die "TCP port $p is in use (another Slurm?); set INDU_SLURM_PORT to another base port"
done

# 3. munged of our own, as the munge user.
MSOCK=$DIR/munge/munge.socket.2
su -s /bin/sh munge -c "'$MUNGED' --socket='$MSOCK' --pid-file='$DIR/munge/munged.pid' \
  --log-file='$DIR/munge/munged.log' --seed-file='$DIR/munge/munged.seed'" ||
  fail "munged did not start"
for _ in $(seq 50); do [ -S "$MSOCK" ] && break; sleep 0.1; done
munge -S "$MSOCK" -n | unmunge -S "$MSOCK" 2>&1 | grep -q 'STATUS: *Success' ||
  fail "munge -n | unmunge does not say STATUS: Success"

# 4. slurm.conf.
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
CONF=$DIR/slurm.conf
cat >"$CONF" <<CONF
# Written by scripts/slurm/up.sh; wiped at its next start.
ClusterName=indu
SlurmctldHost=localhost
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
EnforcePartLimits=ALL
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeHostname=localhost CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$CONF

# 5. Daemons (both daemonise and write their pid files).
"$SLURMCTLD" -f "$CONF" || fail "slurmctld did not start"
"$SLURMD" -f "$CONF" -N localhost || fail "slurmd did not start"

# 6. The node is idle, and a job runs.
state=
for _ in $(seq 40); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1) || true
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "node not idle after 20 s (sinfo -h -o %T: '${state:-nothing}')"
job=$(sbatch --parsable --job-name=indu-up-check --mem=100 --time=1 \
  --output="$DIR/check/%j.out" --wrap "echo ok > '$DIR/check/ok'") || fail "sbatch failed"
for _ in $(seq 60); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
  sleep 0.5
done
jstate=$(scontrol -o show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)
if [ "$jstate" != JobState=COMPLETED ] || [ ! -s "$DIR/check/ok" ]; then
  fail "check job $job did not complete in 30 s (${jstate:-no JobState})"
fi

for d in slurmctld slurmd; do
  running "$d" "$DIR/run/$d.pid" || fail "$d exited after starting"
done

echo "export SLURM_CONF=$CONF" >"$DIR/env.sh"
say "cluster up in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s: $CPUS CPUs, ${MEM_MB} MB, partition main; state in $DIR"
echo "export SLURM_CONF=$CONF"
