#!/usr/bin/env bash
# Side-by-side training-step timing: indu vs the TransformerLens/PyTorch peer.
#
#   scripts/bench.sh [STEPS]          # default 60 timed steps per preset (after 10 warm-up)
#
# Environment:
#   THREADS="1 2"   thread counts to measure (indu: train.threads; peer: torch threads)
#   PEER=0          skip the peer even when its venv exists
#   PEER_DIR        peer scripts (default: ../shared/bench relative to the repo root,
#                   or ../../shared/bench for a worktree under a subfolder)
#   PEER_PY         peer python (default: $HOME/.cache/indu-ref/venv/bin/python; make it
#                   with "bash $PEER_DIR/setup-peer.sh")
#   SKIP_BUILD=1    use the existing target/release/indu
#
# Prints a markdown table: median ms/step per preset, indu vs peer, and indu/peer.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STEPS="${1:-60}"
THREADS="${THREADS:-1 2}"
if [ -z "${PEER_DIR:-}" ]; then
  # ../shared/bench beside the checkout; a git worktree one level deeper also finds it.
  PEER_DIR="$ROOT/../shared/bench"
  [ -d "$PEER_DIR" ] || PEER_DIR="$ROOT/../../shared/bench"
fi
PEER_PY="${PEER_PY:-$HOME/.cache/indu-ref/venv/bin/python}"
INDU="$ROOT/target/release/indu"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi

use_peer=0
if [ "${PEER:-1}" != 0 ] && [ -x "$PEER_PY" ] && [ -f "$PEER_DIR/tl_train.py" ]; then
  use_peer=1
  # The peer's induction task trains on a data file; write it once.
  ref_home="${INDU_REF_HOME:-$HOME/.cache/indu-ref}"
  if [ ! -f "$ref_home/induction.txt" ]; then
    "$PEER_PY" "$PEER_DIR/gen_induction.py" >/dev/null
  fi
else
  echo "(peer not run: set PEER_PY/PEER_DIR or run setup-peer.sh)" >&2
fi

# indu preset name -> peer task name
peer_task() {
  case "$1" in
    skip_trigrams) echo skiptrigram ;;
    permutations) echo permutation ;;
    *) echo "$1" ;;
  esac
}

steps_for() {
  # The two big presets take 0.1-0.5 s a step: fewer steps keep the script short.
  case "$1" in
    repeated | addition) echo $(((STEPS + 2) / 3)) ;;
    *) echo "$STEPS" ;;
  esac
}

indu_ms() { # task threads steps
  "$INDU" train --task "$1" --bench "$3" --set "train.threads=$2" |
    sed -n 's/.*median \([0-9.]*\) ms\/step.*/\1/p'
}

peer_ms() { # task threads steps
  "$PEER_PY" -W ignore "$PEER_DIR/tl_train.py" --task "$(peer_task "$1")" \
    --steps $(($3 + 20)) --threads "$2" --log-every 1000000 2>/dev/null |
    "$PEER_PY" -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["median_step_ms"])'
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| preset | threads | indu ms/step | peer ms/step | indu / peer |"
echo "| --- | --- | --- | --- | --- |"
for task in induction skip_trigrams permutations repeated addition; do
  n="$(steps_for "$task")"
  for t in $THREADS; do
    a="$(indu_ms "$task" "$t" "$n")"
    b="-"
    r="-"
    if [ "$use_peer" = 1 ]; then
      b="$(peer_ms "$task" "$t" "$n" || echo -)"
      if [ "$b" != "-" ]; then
        r="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
      fi
    fi
    echo "| $task | $t | $a | $b | $r |"
  done
done
