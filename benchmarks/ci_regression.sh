#!/usr/bin/env bash
# Regression benchmarks that can fail (README, "Benchmarks (asv)"): run from the repository root,
# after `pip install -e ".[bench]"` and `asv machine --yes`.
#
# 1. This commit: every asv benchmark on the smoke grid (HSIBENCH_ASV_SMOKE=1), with repeated
#    samples; a benchmark that fails or does not import makes asv exit non-zero.
# 2. Its track_ quality results against benchmarks/golden_quality.json, exactly.
# 3. The parent commit (HEAD^, its hsibench/ from git, imported through ASV_PYTHONPATH) on the same
#    machine, right after: the time_ and peakmem_ benchmarks; then a result worse than the
#    parent's by more than HSIBENCH_ASV_FACTOR (default 1.5) and statistically different fails.
# Set HSIBENCH_ASV_BENCH to a regular expression to run only some benchmarks (e.g. locally).
set -euo pipefail
cd "$(dirname "$0")/.."
export HSIBENCH_ASV_SMOKE=1
FACTOR=${HSIBENCH_ASV_FACTOR:-1.5}
ONLY=${HSIBENCH_ASV_BENCH:-.}
HEAD=$(git rev-parse HEAD)
status=0
echo "asv: benchmarks of $HEAD"
ASV_PYTHONPATH=$PWD asv run --python=same --set-commit-hash "$HEAD" --bench "$ONLY" --show-stderr
python benchmarks/regression.py quality "$HEAD" --bench "$ONLY" || status=1
if PARENT=$(git rev-parse -q --verify "HEAD^"); then
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git archive "$PARENT" hsibench | tar -x -C "$src"
    echo "asv: time_ and peakmem_ benchmarks of the parent $PARENT"
    # a benchmark that fails on the parent (e.g. new in this commit) is not this commit's regression
    ASV_PYTHONPATH=$src asv run --python=same --set-commit-hash "$PARENT" --show-stderr \
        --bench "^(?=.*($ONLY)).*(time_|peakmem_)" || echo "note: some benchmarks failed on the parent"
    python benchmarks/regression.py compare "$PARENT" "$HEAD" --factor "$FACTOR" --bench "$ONLY" || status=1
else
    echo "note: no parent commit (shallow clone?): timings not compared"
fi
exit $status
