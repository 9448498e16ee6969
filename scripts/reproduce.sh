#!/usr/bin/env bash
# Reproduce every seed result with indu and regenerate docs/reproduction-figures.md and
# docs/img/*.png. Usage: scripts/reproduce.sh [--quick] [--out DIR]
#   --quick   a few steps per preset (CI): checks the whole pipeline, not the figures;
#             writes into a temporary directory and leaves docs/ alone.
# Runs on a 2-core machine; the full run takes about as long as the five trainings
# (see docs/reproduction.md for wall times).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: scripts/reproduce.sh [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
cargo build --release --quiet
BIN="$ROOT/target/release/indu"
if [ -z "$OUT" ]; then
  if [ $QUICK = 1 ]; then OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; else OUT="$ROOT/runs/repro"; fi
fi
mkdir -p "$OUT"
IMG="$OUT/img"
mkdir -p "$IMG"
REPORT="$OUT/figures.md"

# steps per task: full = the preset's own; quick = a handful.
steps() { if [ $QUICK = 1 ]; then echo "--steps 6 --set train.eval_every=3 --set train.eval_size=32"; fi; }

# json FILE KEY: the first number after "KEY": in a pretty-printed JSON file.
json() { grep -m1 "\"$2\":" "$1" | sed -E 's/.*: *([-0-9.eE+naNul]+),?$/\1/'; }


echo "| seed | task | indu figure | command | wall (s) |" > "$REPORT"
echo "|---|---|---|---|---|" >> "$REPORT"

run_task() { # task extra-args...
  local task=$1; shift
  local dir="$OUT/runs/$task"
  local t0 t1
  t0=$(date +%s)
  # shellcheck disable=SC2046
  "$BIN" train --task "$task" --out "$dir" --force --quiet $(steps) "$@" > "$OUT/$task.train.txt"
  t1=$(date +%s)
  echo $((t1 - t0)) > "$OUT/$task.wall"
  "$BIN" eval --run "$dir" --n $([ $QUICK = 1 ] && echo 64 || echo 2000) > "$OUT/$task.eval.txt"
  "$BIN" plot-loss --run "$dir" > /dev/null
  cat "$OUT/$task.train.txt"
}

for task in induction skip_trigrams permutations addition repeated; do
  run_task "$task"
done

# Seed 000 / 001 / 004: samples, head scores, attention patterns of the induction model.
IND="$OUT/runs/induction"
"$BIN" sample --run "$IND" -n 50 > "$OUT/induction.samples.txt"
"$BIN" detect-heads --run "$IND" > "$OUT/induction.heads.txt"
"$BIN" plot-attn --run "$IND" > /dev/null
"$BIN" detect-heads --run "$OUT/runs/repeated" --probe-len 5 --repeats 3 > "$OUT/repeated.heads.txt"
"$BIN" plot-attn --run "$OUT/runs/repeated" --probe > /dev/null
for task in induction skip_trigrams permutations addition repeated; do
  for f in "$OUT/runs/$task"/plots/*.png; do cp "$f" "$IMG/${task}_$(basename "$f")"; done
done

e() { printf "%.4f" "$(json "$OUT/runs/$1/eval.json" "$2")" 2>/dev/null || echo "n/a"; }
cat >> "$REPORT" <<MD
| 000 | induction | eval loss $(e induction loss), det. acc $(e induction det_acc), samples: $(tail -1 "$OUT/induction.samples.txt" | sed -E 's/.*: ([0-9]+ of [0-9]+ valid).*/\1/') | \`indu train --task induction\` | $(cat "$OUT/induction.wall") |
| 001 | induction (probe) | $(grep -m1 'mean log-prob' "$OUT/induction.heads.txt") | \`indu detect-heads\` | - |
| 002 | permutations | held-out token acc $(e permutations acc), sequence acc $(e permutations seq_acc) | \`indu train --task permutations\` | $(cat "$OUT/permutations.wall") |
| 003 | addition | eval loss $(e addition loss), exact match $(e addition exact_acc) | \`indu train --task addition\` | $(cat "$OUT/addition.wall") |
| 003 | skip_trigrams | eval loss $(e skip_trigrams loss), acc $(e skip_trigrams acc) | \`indu train --task skip_trigrams\` | $(cat "$OUT/skip_trigrams.wall") |
| 003 | repeated | masked eval loss $(e repeated loss) | \`indu train --task repeated\` | $(cat "$OUT/repeated.wall") |
| 004 | repeated (probe T=5, k=3) | $(grep -m1 'induction heads' "$OUT/repeated.heads.txt" || echo 'no induction head flagged') | \`indu detect-heads --probe-len 5 --repeats 3\` | - |
MD
cat "$REPORT"
if [ $QUICK = 0 ]; then
  mkdir -p "$ROOT/docs/img"
  cp "$REPORT" "$ROOT/docs/reproduction-figures.md"
  cp "$IMG"/*.png "$ROOT/docs/img/"
  echo "updated docs/reproduction-figures.md and docs/img/"
fi
echo "reproduce: OK ($OUT)"
