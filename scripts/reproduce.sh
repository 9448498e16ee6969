#!/usr/bin/env bash
# Reproduce every seed result with indu: runs the commands that docs/reproduction.md lists,
# regenerates every image it cites (docs/img/*.png) and writes the measured table to
# docs/reproduction-figures.md (the doc's table is written by hand from such a run).
# Usage: scripts/reproduce.sh [--quick] [--out DIR]
#   --quick   a few steps per training (CI, seconds): checks the whole pipeline, not the
#             figures; writes into a temporary directory (or --out) and leaves docs/ alone.
# The full run takes about an hour on a 2-core machine (mostly the addition training and the
# six 3000-step repeated-token runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || { echo "--out needs a directory" >&2; exit 2; }; OUT="$2"; shift ;;
    *) echo "usage: scripts/reproduce.sh [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
# INDU_BIN: a binary already built (CI passes the one `cargo test --release` built; a plain
# `cargo build` after it would rebuild several crates, since the dev-dependencies turn on
# other features of shared dependencies).
if [ -n "${INDU_BIN:-}" ] && [ -x "$INDU_BIN" ]; then
  BIN="$INDU_BIN"
else
  cargo build --release --quiet
  BIN="$ROOT/target/release/indu"
fi
if [ -z "$OUT" ]; then
  if [ $QUICK = 1 ]; then OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; else OUT="$ROOT/runs/repro"; fi
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
IMG="$OUT/img"
mkdir -p "$IMG"
REPORT="$OUT/figures.md"
LOG="$OUT/commands.txt"
: > "$LOG"
# Commands run from $OUT, so the runs land in $OUT/runs/... as the doc's commands assume.
cd "$OUT"

# Extra arguments for a training: none in full mode (the preset's own), a handful of steps
# in quick mode.
QUICK_STEPS=(--steps 6 --set train.eval_every=3 --set train.eval_size=32)
# `run NAME indu-args...`: run indu, log the command, keep stdout in NAME.txt and the wall
# time in NAME.wall.
run() {
  local name=$1; shift
  echo "indu $*" >> "$LOG"
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" "$@" > "$OUT/$name.txt"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }' > "$OUT/$name.wall"
}
train() { # task [extra args...]
  local task=$1; shift
  if [ $QUICK = 1 ]; then
    run "$task.train" train --task "$task" --out "runs/$task" --force --quiet "${QUICK_STEPS[@]}" "$@"
  else
    run "$task.train" train --task "$task" --out "runs/$task" --force --quiet "$@"
  fi
}
wall() { cat "$OUT/$1.wall"; }
# json FILE KEY: the first number after "KEY": in a pretty-printed JSON file.
json() { grep -m1 "\"$2\":" "$1" | sed -E 's/.*: *([-0-9.eE+naNul]+),?$/\1/'; }
e() { printf "%.4f" "$(json "runs/$1/eval.json" "$2")" 2>/dev/null || echo "n/a"; }
img() { cp "$1" "$IMG/$2"; }

# --- seed 000 / 001 / 004: the induction preset and its analyses -----------------------
train induction
run induction.eval eval --run runs/induction
run induction.sample sample --run runs/induction -n 50
run induction.sample1000 sample --run runs/induction -n 1000 --seed 5
run induction.plot-loss plot-loss --run runs/induction
run induction.plot-attn plot-attn --run runs/induction --text .tiajsxguepdvrkcpdvrkcpdvrkcpdvr
run induction.heads detect-heads --run runs/induction
run induction.circuits circuits --run runs/induction
run induction.ablate ablate --run runs/induction --heads 1.0
run induction.attribute attribute --run runs/induction
P=runs/induction/plots
img $P/loss.png induction_loss.png
img $P/attn_grid.png induction_attn_grid.png
img $P/head_scores.png induction_head_scores.png
img $P/circuits_composition.png induction_circuits_composition.png
img $P/circuits_subspace.png induction_circuits_subspace.png
img $P/ablate.png induction_ablate.png
img $P/attribute.png induction_attribute.png

# --- seed 002: permutations -------------------------------------------------------------
train permutations
run permutations.eval eval --run runs/permutations
run permutations.plot-loss plot-loss --run runs/permutations
run permutations.plot-attn plot-attn --run runs/permutations --out img/permutations_attn.png
img runs/permutations/plots/loss.png permutations_loss.png

# --- seed 003: skip-trigrams, addition, repeated tokens ---------------------------------
train skip_trigrams
run skip_trigrams.eval eval --run runs/skip_trigrams
run skip_trigrams.plot-loss plot-loss --run runs/skip_trigrams
img runs/skip_trigrams/plots/loss.png skip_trigrams_loss.png
img runs/skip_trigrams/plots/loss_classes.png skip_trigrams_loss_classes.png

train addition
run addition.eval eval --run runs/addition
run addition.plot-loss plot-loss --run runs/addition
img runs/addition/plots/loss.png addition_loss.png
img runs/addition/plots/loss_digits.png addition_loss_digits.png

# The repeated-token study (the preset uses the notebook's doubled residual): six seeds of
# 3000 steps overlaid, the preset's own 5000-step run and its head scores on seed 004's probe,
# and the standard-residual seed 0 for comparison (quick: a few steps each, four seeds).
if [ $QUICK = 1 ]; then
  run repeated.train train --task repeated --seeds 0..4 --out runs/repeated --force --quiet "${QUICK_STEPS[@]}"
  run repeated_preset.train train --task repeated --out runs/repeated_preset --force --quiet "${QUICK_STEPS[@]}"
  run repeated_standard.train train --task repeated --set model.residual=standard --out runs/repeated_standard --force --quiet "${QUICK_STEPS[@]}"
else
  run repeated.train train --task repeated --steps 3000 --seeds 0..6 --out runs/repeated --force --quiet
  run repeated_preset.train train --task repeated --out runs/repeated_preset --force --quiet
  run repeated_standard.train train --task repeated --steps 3000 --set model.residual=standard --out runs/repeated_standard --force --quiet
fi
RUNS=()
for s in runs/repeated/seed*; do RUNS+=(--run "$s"); done
run repeated.plot-loss plot-loss "${RUNS[@]}" --out img/repeated_loss.png
run repeated.plot-residual plot-loss --run runs/repeated/seed=0 --run runs/repeated_standard --out img/repeated_residual.png
run repeated.eval eval --run runs/repeated_preset
run repeated.heads0 detect-heads --run runs/repeated_preset --probe-len 5 --repeats 3
img runs/repeated_preset/plots/head_scores.png repeated_heads_seed0.png
run repeated.heads_standard detect-heads --run runs/repeated_standard --probe-len 5 --repeats 3
img runs/repeated_standard/plots/head_scores.png repeated_heads_standard_seed0.png

# --- the measured table -----------------------------------------------------------------
first() { grep -m1 "$2" "$OUT/$1.txt" || echo "n/a"; }
samples() { tail -1 "$OUT/$1.txt" | sed -E 's/.*: ([0-9]+ of [0-9]+ valid).*/\1/'; }
{
  echo "# Measured by scripts/reproduce.sh$([ $QUICK = 1 ] && echo ' --quick (a few steps: not the figures)')"
  echo
  echo "| seed | task | indu figure | command | wall |"
  echo "|---|---|---|---|---|"
  echo "| 000 | induction | eval loss $(e induction loss), det. acc $(e induction det_acc), non-det. acc $(e induction nondet_acc); samples $(samples induction.sample) (seed 0), $(samples induction.sample1000) (seed 5) | \`indu train --task induction\`, \`indu eval\`, \`indu sample -n 50\`, \`indu sample -n 1000 --seed 5\` | $(wall induction.train) |"
  echo "| 000 | induction attention | img/induction_attn_grid.png | \`indu plot-attn --text .tiajsxguepdvrkcpdvrkcpdvrkcpdvr\` | $(wall induction.plot-attn) |"
  echo "| 001 / 004 | head detectors | $(first induction.heads 'induction heads') | \`indu detect-heads\` | $(wall induction.heads) |"
  echo "| 001 | probe log-probs | $(first induction.heads 'mean log-prob') | \`indu detect-heads\`, \`indu attribute\` | $(wall induction.attribute) |"
  echo "| 004 | composition, ablation | $(first induction.circuits '0.0 -> 1.0'); ablate 1.0: $(first induction.ablate '^1.0 ') | \`indu circuits\`, \`indu ablate --heads 1.0\` | $(wall induction.circuits), $(wall induction.ablate) |"
  echo "| 002 | permutations | held-out token acc $(e permutations acc), sequence acc $(e permutations seq_acc) | \`indu train --task permutations\` | $(wall permutations.train) |"
  echo "| 003 | skip_trigrams | eval loss $(e skip_trigrams loss), acc $(e skip_trigrams acc) | \`indu train --task skip_trigrams\` | $(wall skip_trigrams.train) |"
  echo "| 003 | addition | eval loss $(e addition loss), exact match $(e addition exact_acc) | \`indu train --task addition\` | $(wall addition.train) |"
  echo "| 003 | repeated | final eval loss per seed (3000 steps): $(sed -nE 's/^\| *([0-9]+) *\| *[^|]*\| *([^ |]+) *\|.*/seed \1: \2;/p' "$OUT/repeated.train.txt" | tr '\n' ' ') preset: $(e repeated_preset loss) | \`indu train --task repeated --steps 3000 --seeds 0..6\`; \`indu train --task repeated\` | $(wall repeated.train); $(wall repeated_preset.train) |"
  echo "| 004 | repeated, probe T=5 k=3 | preset: $(first repeated.heads0 'induction heads'); standard residual: $(first repeated.heads_standard 'induction heads') | \`indu detect-heads --probe-len 5 --repeats 3\` | $(wall repeated.heads0) |"
  echo
  echo "Commands, in order (from the output directory):"
  echo
  sed 's/^/    /' "$LOG"
} > "$REPORT"
cat "$REPORT"
if [ $QUICK = 0 ]; then
  mkdir -p "$ROOT/docs/img"
  cp "$REPORT" "$ROOT/docs/reproduction-figures.md"
  cp "$IMG"/*.png "$ROOT/docs/img/"
  echo "updated docs/reproduction-figures.md and docs/img/"
fi
echo "reproduce: OK ($OUT)"
