#!/usr/bin/env bash
# End-to-end test of `indu view` in a real browser: trains a small induction run with
# dynamics and snapshots, writes its view.html and drives it (scripts/view_browser/test.mjs),
# then runs a 4-run sweep, writes its `indu view --sweep` page and drives that (sweep.mjs),
# from file:// in headless Chromium through the DevTools protocol (playwright-core from npm,
# installed into a scratch directory, never into the repository). Screenshots go to
# $VIEW_SHOTS (default: view-shots/). Needs Debian's chromium (/usr/bin/chromium, or
# $CHROMIUM), node and npm. INDU_BIN picks the binary (default target/release/indu).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${INDU_BIN:-$PWD/target/release/indu}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=${VIEW_SHOTS:-$PWD/view-shots}
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "view_browser_test: $tool is not installed" >&2; exit 2; }
done
[ -x "$CHROMIUM" ] || { echo "view_browser_test: no chromium at $CHROMIUM (apt-get install -y chromium)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "view_browser_test: no indu binary at $BIN (cargo build --release)" >&2; exit 2; }
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$SHOTS" "$work/pw" "$work/profile"
cp scripts/view_browser/package.json scripts/view_browser/shared.mjs scripts/view_browser/test.mjs scripts/view_browser/sweep.mjs "$work/pw/"
(cd "$work/pw" && npm install --no-audit --no-fund --loglevel=error >/dev/null)

"$BIN" train --task induction --steps 300 --set train.eval_every=50 --set train.eval_size=200 \
  --set train.snapshot_every=100 --out "$work/run" --quiet
"$BIN" ablate --run "$work/run" --heads 1.0 --batch 16 >/dev/null 2>&1
"$BIN" attribute --run "$work/run" --batch 16 >/dev/null 2>&1
"$BIN" view --run "$work/run" --scrubber --out "$work/run/view.html"
CHROMIUM="$CHROMIUM" node "$work/pw/test.mjs" "$work/run/view.html" "$SHOTS" 2 1 "$work/profile"

# The sweep page: 2 learning rates x 2 seeds, short runs; each run's own page is written too.
"$BIN" sweep --task induction --grid train.lr=1e-3,2e-3 --grid seed=0..2 --steps 100 \
  --set train.eval_every=50 --set train.eval_size=200 --out "$work/sweep" --quiet
"$BIN" view --sweep "$work/sweep" >/dev/null
mkdir -p "$work/profile-sweep"
CHROMIUM="$CHROMIUM" node "$work/pw/sweep.mjs" "$work/sweep/view.html" "$SHOTS" 4 "$work/profile-sweep"
echo "view browser test passed in $(( $(date +%s) - start )) s; screenshots in $SHOTS"
