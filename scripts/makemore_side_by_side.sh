#!/usr/bin/env bash
# Seed 000's model, indu against makemore itself, back to back on this machine.
#
#   scripts/makemore_side_by_side.sh MAKEMORE_PY [PAIRS]    # default 3 pairs
#
# MAKEMORE_PY is karpathy/makemore's makemore.py (a single public file; not in this repo).
# Each pair runs makemore (`--n-layer 2 --n-head 1 --max-steps 2000`, the seed's command, on
# the 32000 strings of ../shared/bench/gen_induction.py) and then
# `indu train --task induction_makemore` (2000 steps, the same model and optimiser), and
# times both from the command to its exit. Prints each pair, the medians and their ratio,
# makemore's last test loss and indu's held-out loss.
#
# Environment: PEER_PY (default $HOME/.cache/indu-ref/venv/bin/python, from
# ../shared/bench/setup-peer.sh, plus `pip install tensorboard` for makemore's logger),
# PEER_DIR (default ../shared/bench), SKIP_BUILD=1 to use the existing target/release/indu.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MM="${1:?usage: makemore_side_by_side.sh MAKEMORE_PY [PAIRS]}"
PAIRS="${2:-3}"
PEER_PY="${PEER_PY:-$HOME/.cache/indu-ref/venv/bin/python}"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/bench}"
INDU="$ROOT/target/release/indu"
MM="$(cd "$(dirname "$MM")" && pwd)/$(basename "$MM")"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$PEER_PY" "$PEER_DIR/gen_induction.py" "$work/induction.txt" >/dev/null

now() { date +%s.%N; }
mm_s=()
indu_s=()
echo "machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$PAIRS"); do
  rm -rf mm run
  t0=$(now)
  "$PEER_PY" -W ignore "$MM" -i induction.txt -o mm --n-layer 2 --n-head 1 --max-steps 2000 >mm.log 2>&1
  t1=$(now)
  "$INDU" train --task induction_makemore --out run --quiet >indu.log 2>&1
  t2=$(now)
  a=$(echo "$t1 - $t0" | bc)
  b=$(echo "$t2 - $t1" | bc)
  mm_s+=("$a")
  indu_s+=("$b")
  mm_loss=$(sed -n 's/.*test loss: \([0-9.]*\).*/\1/p' mm.log | tail -1)
  indu_loss=$("$PEER_PY" -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["final_eval"]["loss"])' run/summary.json)
  printf 'pair %d: makemore %.1f s (last test loss %s), indu %.1f s (held-out loss %s), ratio %.2f\n' \
    "$i" "$a" "$mm_loss" "$b" "$indu_loss" "$(echo "$b / $a" | bc -l)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
m1=$(median "${mm_s[@]}")
m2=$(median "${indu_s[@]}")
printf 'median: makemore %.1f s, indu %.1f s, indu / makemore %.2f\n' "$m1" "$m2" "$(echo "$m2 / $m1" | bc -l)"
