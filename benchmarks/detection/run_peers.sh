#!/usr/bin/env bash
# Background peer run: all datasets, peers only, 1 thread, in priority order.
#
#   nohup benchmarks/detection/run_peers.sh > results/peer_run.log 2>&1 &
#
# Runs from a snapshot of benchmarks/ (results/.peer_run_src) so that edits to the harness
# during the run do not change the code of later stages. All stages fill the same cache
# (results/.cache); the last stage only reads it and writes the combined report to
# results/peers/all/. Environment overrides: DATA, PY.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DATA=${DATA:-$(cd "$ROOT/../shared/data" && pwd)}
PY=${PY:-$ROOT/.venv/bin/python}
SNAP=$ROOT/results/.peer_run_src
rm -rf "$SNAP" && mkdir -p "$SNAP" && cp -r benchmarks "$SNAP/"
echo "=== $(date -u) peer run from git $(git rev-parse --short HEAD), data $DATA, pid $$"
COMMON=(--data "$DATA" --cache "$ROOT/results/.cache" --methods peers --threads 1)

stage() {
    local name=$1
    shift
    echo "=== $(date -u) stage $name: $*"
    (cd "$SNAP" && "$PY" -m benchmarks.detection.adbench "${COMMON[@]}" --out "$ROOT/results/peers/$name" "$@")
    echo "=== $(date -u) stage $name finished, exit code $?"
}

stage s0-unsupervised --seeds 0 --setting unsupervised
stage s0-novelty --seeds 0 --setting novelty
stage s12-unsupervised --seeds 1,2 --setting unsupervised
stage s12-novelty --seeds 1,2 --setting novelty
stage all --seeds 0,1,2 --setting both
echo "=== $(date -u) all stages done"
