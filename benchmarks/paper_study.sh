#!/usr/bin/env bash
# The seed paper's study at the paper's schedule on real cubes (hsibench run --preset paper),
# as results/reference/paper/ holds it.  Resumable: rerun the same command to continue.
#
#   bash benchmarks/paper_study.sh [OUT] [WORKERS]
#
# Runs WORKERS (default: the number of cores) copies of the same command at once, each pinned to
# its own core with taskset (so each GNN trains single-threaded and deterministic: the task keys
# say "threads auto:1"), into one run directory: each takes the next task no other copy has
# claimed (hsibench/claims.py), and a killed copy's training resumes from its checkpoint.  Then
# one more pass runs whatever is left (the classical codecs at the sizes of GNN streams recorded
# after a copy listed its tasks).  The cubes are the development cubes of ../shared/data/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/reference/paper/run}
WORKERS=${2:-$(nproc)}
DATA=${HSIBENCH_SHARED_DATA:-../shared/data}
CUBES="$DATA/paviaU_sub50x50.npy,$DATA/indian_pines_sub85x70.npy,$DATA/jasper_ridge.npy"
mkdir -p "$OUT"
pids=()
for i in $(seq 1 "$WORKERS"); do
  core=$(( (i - 1) % $(nproc) ))
  taskset -c "$core" hsibench run --preset paper --dataset "$CUBES" --out "$OUT" \
      --no-progress >"$OUT/worker$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
taskset -c 0 hsibench run --preset paper --dataset "$CUBES" --out "$OUT" --no-progress >"$OUT/final.log" 2>&1 || status=$?
exit $status
