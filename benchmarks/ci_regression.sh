#!/usr/bin/env bash
# Regression benchmarks that can fail (README, "Benchmarks (asv)"): run from the repository root,
# after `pip install -e ".[bench]"` and `asv machine --yes`.
#
# 1. This commit: every asv benchmark on the smoke grid (HSIBENCH_ASV_SMOKE=1), with repeated
#    samples; a benchmark that fails or does not import makes asv exit non-zero.
# 2. Its track_ quality results against benchmarks/golden_quality.json, exactly (regression.py
#    quality; codecs whose library version moved are named, not compared).
# 3. The parent commit (HEAD^, its hsibench/ from git, imported through ASV_PYTHONPATH) on the same
#    machine, right after: the time_ and peakmem_ benchmarks (time_ in CPU seconds, so load from
#    other processes does not count). A result worse than the parent's by more than
#    HSIBENCH_ASV_FACTOR (default 2) and statistically different is re-run on both commits (parent
#    first, then this commit) and fails only if the second comparison flags it again: a burst of
#    load on a shared machine must coincide twice, in opposite order, to fail CI.
#    No parent commit (a shallow clone), a parent whose code does not import or whose benchmarks
#    all fail: a note, no comparison. HSIBENCH_ASV_COMPARE=0 skips step 3.
# Set HSIBENCH_ASV_BENCH to a regular expression to run only some benchmarks (e.g. locally).
set -euo pipefail
cd "$(dirname "$0")/.."
export HSIBENCH_ASV_SMOKE=1
FACTOR=${HSIBENCH_ASV_FACTOR:-2}
ONLY=${HSIBENCH_ASV_BENCH:-.}
HEAD=$(git rev-parse HEAD)
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "asv: benchmarks of $HEAD"
ASV_PYTHONPATH=$PWD asv run --python=same --set-commit-hash "$HEAD" --bench "$ONLY" --show-stderr || status=1
python benchmarks/regression.py quality "$HEAD" --bench "$ONLY" || status=1

if [ "${HSIBENCH_ASV_COMPARE:-1}" = 0 ]; then
    echo "note: HSIBENCH_ASV_COMPARE=0: timings not compared with the parent"
elif ! PARENT=$(git rev-parse -q --verify "HEAD^"); then
    echo "note: no parent commit (shallow clone?): timings not compared"
elif ! git archive "$PARENT" hsibench | tar -x -C "$work"; then
    echo "note: could not extract the parent's hsibench/: timings not compared"
else
    timed="^(?=.*($ONLY)).*(time_|peakmem_)"
    parent_run() {  # the parent's time_/peakmem_ benchmarks (those in "$@", or all)
        # a benchmark that fails on the parent (e.g. new in this commit) is not this commit's regression
        ASV_PYTHONPATH=$work asv run --python=same --set-commit-hash "$PARENT" --show-stderr "$@" \
            || echo "note: some benchmarks failed on the parent"
    }
    echo "asv: time_ and peakmem_ benchmarks of the parent $PARENT"
    parent_run --bench "$timed"
    python benchmarks/regression.py compare "$PARENT" "$HEAD" --factor "$FACTOR" --bench "$ONLY" \
        --flagged "$work/flagged" || true
    if [ -s "$work/flagged" ]; then
        # one --bench per flagged benchmark, its name with parameters as an exact regular expression
        sel=()
        while IFS= read -r name; do
            sel+=(--bench "^$(python -c 'import re, sys; print(re.escape(sys.argv[1]))' "$name")\$")
        done < "$work/flagged"
        echo "asv: confirming $(wc -l < "$work/flagged") flagged benchmark(s): the parent, then this commit, again"
        parent_run "${sel[@]}"
        ASV_PYTHONPATH=$PWD asv run --python=same --set-commit-hash "$HEAD" --show-stderr "${sel[@]}" || true
        python benchmarks/regression.py compare "$PARENT" "$HEAD" --factor "$FACTOR" --names "$work/flagged" \
            || status=1
    fi
fi
exit $status
