#!/usr/bin/env bash
# End-to-end test of `indu sweep --backend slurm` on a real single-node Slurm cluster
# (scripts/slurm/up.sh, stopped again by scripts/slurm/down.sh on exit, also on failure).
# A 4-point induction sweep (seed=0..3, 30 steps each) in which seed=3 fails on purpose (its
# run dir is a regular file), then `sweep status`, `sweep resubmit` after the fix (only seed=3
# reruns), and `sweep report`; then a 20-seed sweep as one array job (all done, a 20-row
# report, plot-loss over the set). About a minute; prints SLURM SWEEP TEST OK at the end.
#
#   INDU_BIN=$PWD/target/release/indu scripts/sweep_slurm_test.sh
#
# Needs root (for the cluster; packages are installed if missing) and python3. INDU_BIN
# (required) is the absolute path of the indu binary. It (re)starts, then stops, the cluster
# in ${INDU_SLURM_DIR:-/tmp/indu-slurm}. The scratch dir is removed on success and kept (its
# path printed) on failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)
phase=$start

say() { echo "sweep_slurm_test: $*"; }
die() { echo "sweep_slurm_test: FAIL: $*" >&2; exit 1; }
lap() { # lap WHAT: seconds since the previous lap
  local now
  now=$(date +%s)
  say "$1 ($((now - phase)) s)"
  phase=$now
}

[ -n "${INDU_BIN:-}" ] || die "set INDU_BIN to the absolute path of the indu binary"
case "$INDU_BIN" in /*) ;; *) die "INDU_BIN must be an absolute path, not '$INDU_BIN'" ;; esac
[ -x "$INDU_BIN" ] || die "no executable at INDU_BIN=$INDU_BIN"
command -v python3 >/dev/null || die "python3 is needed"

T=$(mktemp -d)
cleanup() {
  local status=$?
  "$HERE/slurm/down.sh" || true
  if [ "$status" = 0 ]; then
    rm -rf "$T"
  else
    echo "sweep_slurm_test: scratch dir kept: $T" >&2
  fi
  exit "$status"
}
trap cleanup EXIT

# The cluster. up.sh's last stdout line is `export SLURM_CONF=...` (sbatch and friends, which
# indu runs, read it).
env_line=$("$HERE/slurm/up.sh") || die "scripts/slurm/up.sh failed"
eval "$(printf '%s\n' "$env_line" | tail -n 1)"
if [ -z "${SLURM_CONF:-}" ] || [ ! -f "$SLURM_CONF" ]; then die "up.sh did not give a SLURM_CONF"; fi
lap "cluster up"

cd "$T"
SW=$T/sw
# sweep_file FILE STEPS SEEDS: a tiny induction sweep over seed, 2 array tasks at a time.
sweep_file() {
  cat >"$1" <<TOML
task = "induction"
set = ["train.steps=$2", "train.eval_every=$(($2 / 2))", "train.eval_size=32", "train.batch_size=8"]
[axes]
seed = "$3"
[slurm]
partition = "main"
cpus_per_task = 1
mem = "1G"
time = "00:10:00"
max_parallel = 2
TOML
}
sweep_file sweep.toml 30 0..4

# Point seed=3 fails: its run dir is a regular file, so `indu train --out $SW/seed=3` fails.
mkdir -p "$SW"
echo "not a directory: sweep_slurm_test.sh makes this point fail" >"$SW/seed=3"

# counts FILE: "pending running done failed missing interrupted" from a `sweep status --json`.
counts() {
  python3 - "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
print(*(c[k] for k in ("pending", "running", "done", "failed", "missing", "interrupted")))
PY
}

# wait_settled WHAT: polls `sweep status --json` every second (up to 120 s) until no point is
# pending or running; leaves the last answer in $T/status.json.
wait_settled() {
  local what=$1 t0 now c prev='' pending running
  t0=$(date +%s)
  while :; do
    "$INDU_BIN" sweep status "$SW" --json >"$T/status.json" ||
      die "indu sweep status --json failed ($what)"
    c=$(counts "$T/status.json") || { cat "$T/status.json" >&2; die "unexpected status JSON"; }
    if [ "$c" != "$prev" ]; then
      say "  $what, $(($(date +%s) - t0)) s: pending running done failed missing interrupted = $c"
      prev=$c
    fi
    read -r pending running _ <<<"$c"
    [ $((pending + running)) = 0 ] && return 0
    now=$(date +%s)
    if [ $((now - t0)) -ge 120 ]; then
      cat "$T/status.json" >&2
      squeue -r -t all >&2 || true
      die "$what: points still pending or running after 120 s"
    fi
    sleep 1
  done
}

# check_points FILE SPEC...: each SPEC is NAME=STATE; also checks there are exactly that many
# points, that failed points have a non-zero exit_code and an existing non-empty log.
check_points() {
  python3 - "$SW" "$@" <<'PY'
import json, os, sys
sw, path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
status = json.load(open(path))
points = {p["name"]: p for p in status["points"]}
want = dict(s.rsplit("=", 1) for s in specs)
errors = []
if sorted(points) != sorted(want):
    errors.append(f"points {sorted(points)}, expected {sorted(want)}")
for name, state in want.items():
    p = points.get(name)
    if p is None:
        continue
    if p["state"] != state:
        errors.append(f"{name}: state {p['state']!r}, expected {state!r}")
    if state == "failed":
        if not isinstance(p.get("exit_code"), int) or p["exit_code"] == 0:
            errors.append(f"{name}: exit_code {p.get('exit_code')!r}, expected a non-zero integer")
        log = p.get("log")
        if not log:
            errors.append(f"{name}: no log path")
        else:
            cands = [log] if os.path.isabs(log) else [log, os.path.join(sw, log)]
            if not any(os.path.isfile(c) and os.path.getsize(c) > 0 for c in cands):
                errors.append(f"{name}: log {log!r} does not exist or is empty")
for state in ("done", "failed", "running", "pending", "missing", "interrupted"):
    k = sum(1 for s in want.values() if s == state)
    if status["counts"].get(state) != k:
        errors.append(f"counts.{state} = {status['counts'].get(state)!r}, expected {k}")
if errors:
    print(json.dumps(status, indent=1), file=sys.stderr)
    sys.exit("\n".join(errors))
PY
}

# mtimes: nanosecond mtimes of seed=0..2's summary.json.
mtimes() {
  python3 - "$SW" <<'PY'
import os, sys
print(*(os.stat(os.path.join(sys.argv[1], f"seed={i}", "summary.json")).st_mtime_ns for i in range(3)))
PY
}

# 1. Submit: returns at once with the array job id.
t_sub=$(date +%s)
sub=$("$INDU_BIN" sweep sweep.toml --backend slurm --out "$SW") || die "indu sweep --backend slurm failed"
echo "$sub"
[ $(($(date +%s) - t_sub)) -le 15 ] || die "indu sweep --backend slurm took over 15 s: it should only submit"
# The id: the number after "job" (e.g. "submitted 4 points as array job 12"), or a line that
# is only a number (sbatch --parsable style).
job=$(python3 -c '
import re, sys
s = sys.stdin.read()
m = re.search(r"\bjob\D{0,20}?(\d+)", s, re.I) or re.search(r"^\s*(\d+)\s*$", s, re.M)
print(m.group(1) if m else "")' <<<"$sub")
[ -n "$job" ] || die "indu sweep --backend slurm printed no job id"
scontrol -o show job "$job" >/dev/null 2>&1 || die "Slurm knows no job $job (from: $sub)"
lap "submitted as array job $job"

# 2. Wait; 3 done, seed=3 failed.
wait_settled "first run"
check_points "$T/status.json" seed=0=done seed=1=done seed=2=done seed=3=failed ||
  die "after the first run"
human=$("$INDU_BIN" sweep status "$SW") || die "indu sweep status failed"
echo "$human"
grep -q failed <<<"$human" || die "indu sweep status does not mention 'failed'"
grep -q 'seed=3' <<<"$human" || die "indu sweep status does not mention 'seed=3'"
lap "first run: 3 done, seed=3 failed"

# 3. Fix seed=3, resubmit: only it reruns.
before=$(mtimes)
rm "$SW/seed=3"
re=$("$INDU_BIN" sweep resubmit "$SW") || die "indu sweep resubmit failed"
echo "$re"
# The count: the number before "point(s)" ("resubmitted 1 point (seed=3) as array job 12", "1
# of 4 points", "1 point resubmitted"), else the number right after "resubmit...".
n=$(python3 -c '
import re, sys
s = sys.stdin.read()
m = re.search(r"(\d+)\s+(?:of\s+\d+\s+)?points?\b", s) or re.search(r"resubmit\w*:?\s+(\d+)", s, re.I)
print(m.group(1) if m else "")' <<<"$re")
[ "$n" = 1 ] || die "indu sweep resubmit does not say it resubmitted 1 point (read: '${n:-no number}')"
wait_settled "resubmitted"
check_points "$T/status.json" seed=0=done seed=1=done seed=2=done seed=3=done ||
  die "after the resubmit"
[ "$(mtimes)" = "$before" ] || die "seed=0..2 were retrained by the resubmit (summary.json changed)"
lap "resubmit: all 4 done, seed=0..2 untouched"

# 4. Report.
"$INDU_BIN" sweep report "$SW" || die "indu sweep report failed"
python3 - "$SW" <<'PY' || die "sweep report"
import csv, json, os, sys
sw = sys.argv[1]
rows = list(csv.reader(open(os.path.join(sw, "sweep.csv"), newline="")))
if len(rows) != 5:
    sys.exit(f"sweep.csv has {len(rows)} lines, expected a header and 4 rows")
with open(os.path.join(sw, "sweep.json")) as f:
    json.load(f)
PY
lap "report: sweep.csv (4 rows) and sweep.json"

# 5. A 20-seed sweep as one array (tiny runs, 2 at a time): every point done, a 20-row report,
# and the sweep read back as a run set by a plain command, with no Slurm involved.
SW20=$T/sw20
sweep_file sweep20.toml 40 0..20
sub=$("$INDU_BIN" sweep sweep20.toml --backend slurm --out "$SW20") ||
  die "indu sweep --backend slurm (20 seeds) failed"
echo "$sub"
grep -q -- '--array=0-19%2' "$SW20"/slurm/array-*.sh || die "the 20-seed script has no --array=0-19%2"
SW=$SW20 wait_settled "20 seeds"
want=()
for i in $(seq 0 19); do want+=("seed=$i=done"); done
SW=$SW20 check_points "$T/status.json" "${want[@]}" || die "20-seed sweep"
"$INDU_BIN" sweep report "$SW20" >/dev/null || die "indu sweep report (20 seeds) failed"
python3 - "$SW20" <<'PY' || die "20-seed sweep report"
import csv, os, sys
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "sweep.csv"), newline="")))
seeds = sorted(int(r["seed"]) for r in rows)
if seeds != list(range(20)):
    sys.exit(f"sweep.csv seeds {seeds}, expected 0..19")
bad = [r["name"] for r in rows if r["state"] != "done"]
if bad:
    sys.exit(f"not done in sweep.csv: {bad}")
PY
"$INDU_BIN" plot-loss --run "$SW20" >/dev/null || die "indu plot-loss on the 20-seed sweep failed"
ls "$SW20"/plots/*.png >/dev/null 2>&1 || die "plot-loss wrote no PNG under the sweep's plots/"
lap "20-seed array: 20 done, report 20 rows, plot-loss over the set"

total=$(($(date +%s) - start))
say "total $total s"
[ "$total" -lt 180 ] || die "took $total s, over 3 minutes"
echo "SLURM SWEEP TEST OK"
