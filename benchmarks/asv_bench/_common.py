"""Shared inputs of the asv suites: the synthetic scene and fast codec settings."""

from __future__ import annotations

import os
import time
from functools import lru_cache

#: HSIBENCH_ASV_SMOKE=1 (set by .ci/run) shrinks the parameter grid to one size and one rate, so
#: CI runs every benchmark method for every codec once, in minutes, to catch broken benchmarks.
#: Comparisons between commits (asv continuous) use the full grid: leave it unset there.
SMOKE = os.environ.get("HSIBENCH_ASV_SMOKE") == "1"

#: cube shapes (rows, cols, bands) the codec suites run on; small, so every benchmark is quick
SHAPES = {"64x64x32": (64, 64, 32)} if SMOKE else {"32x32x16": (32, 32, 16), "64x64x32": (64, 64, 32)}
RATES = [1.0] if SMOKE else [0.25, 1.0]
#: the scene of the quality (track_) benchmarks
QUALITY_SHAPE = "64x64x32"

#: settings that keep a codec's benchmark fast and deterministic (the trained codecs: a short CPU
#: training, with no wall-clock cut: a schedule's time budget would make their track_ values depend on load)
FAST = {
    "gnn": "gnn[epochs=30,device=cpu,progress=false,threads=1,prune_rounds=1,time_budget_s=100000]",
    "siren": "siren[depth=2,epochs=30,device=cpu,progress=false,threads=1,time_budget_s=100000]",
    "coolchic": "coolchic[epochs=10,device=cpu,progress=false,threads=1,time_budget_s=100000]",
}

#: the clock of every time_ benchmark: CPU seconds of the benchmark process (all its threads), not
#: wall-clock seconds, so a busy neighbour on a shared CI machine (which delays the process without
#: making it do more work) does not read as a slowdown in benchmarks/ci_regression.sh
TIMER = time.process_time


def codec_specs() -> list[str]:
    """One spec per codec registered when ``hsibench.codecs`` is imported."""
    from hsibench import codecs

    return [FAST.get(name, name) for name in codecs.names()]


@lru_cache(maxsize=None)
def cube(shape_name: str):
    """The synthetic scene (uint16, deterministic) at one of :data:`SHAPES`."""
    from hsibench import datasets

    rows, cols, bands = SHAPES[shape_name]
    return datasets.load(f"synthetic[rows={rows},cols={cols},bands={bands}]").cube


def make_codec(spec: str):
    """A configured codec, or ``NotImplementedError`` (asv: skipped) when a dependency is missing."""
    from hsibench import codecs
    from hsibench.errors import MissingDependencyError

    try:
        return codecs.get(spec)
    except MissingDependencyError as exc:
        raise NotImplementedError(str(exc)) from None
