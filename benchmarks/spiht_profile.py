"""Per-stage CPU seconds of spiht's encoder and decoder (issue 15's profile).

    python benchmarks/spiht_profile.py [CUBE] [--bpppb 1] [--repeat 5] [--spec spiht] [--threads N]

CUBE is a path (.npy) or an hsibench dataset spec; default ../shared/data/jasper_ridge.npy.
Unlike ``speck_profile.py`` (which re-runs the codec's stages one by one), this runs the
codec's own ``encode`` / ``decode`` with the modules it calls (the numba kernels ``K`` (and ``KC``, ``WK`` where present), the
transform ``dwt``, the bit coder ``_bits``, ``build_tree``) wrapped by timers, so each
kernel call is a stage and what is left over (container, header, array copies) is "rest".
The profile therefore cannot drift from the codec.  Per stage: the best of ``--repeat``
runs in process CPU seconds and in wall seconds (wall < CPU: several cores worked); numba
compilation and cache loading are excluded by a warm-up encode / decode.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _Timed:
    """Attribute proxy: every callable attribute of ``target`` is timed into ``sink[name]``."""

    def __init__(self, target, sink, names=None):
        self._target, self._sink, self._names = target, sink, names

    def __getattr__(self, attr):
        obj = getattr(self._target, attr)
        if not callable(obj) or (self._names is not None and attr not in self._names):
            return obj

        def call(*a, **k):
            c, w = time.process_time(), time.perf_counter()
            try:
                return obj(*a, **k)
            finally:
                old = self._sink.get(attr, (0.0, 0.0))
                self._sink[attr] = (old[0] + time.process_time() - c, old[1] + time.perf_counter() - w)

        return call


def _profile(S, fn, sink):
    """Run ``fn()`` with spiht's modules timed; return its result, stages in ``sink``."""
    saved = S.K, S.dwt, S._bits, S.build_tree, S.KC
    S.K = _Timed(saved[0], sink)
    S.KC = _Timed(saved[4], sink)
    S.dwt = _Timed(saved[1], sink, {"forward_inplace", "inverse_inplace", "to_cube"})
    S._bits = _Timed(saved[2], sink)
    tree_proxy = _Timed(S, sink, {"build_tree"})
    S.build_tree = tree_proxy.__getattr__("build_tree")
    c, w = time.process_time(), time.perf_counter()
    try:
        out = fn()
    finally:
        S.K, S.dwt, S._bits, S.build_tree, S.KC = saved
    tc, tw = time.process_time() - c, time.perf_counter() - w
    sink["rest"] = (tc - sum(v[0] for v in sink.values()), tw - sum(v[1] for v in sink.values()))
    return out


def main() -> None:
    from _coder_profile import keep_best, setup

    import numba

    from hsibench.codecs.wavelet import spiht as S

    args, cube, codec, ref, ref_cube = setup(__doc__.splitlines()[0], "spiht")
    best: dict[str, dict[str, tuple[float, float]]] = {"encode": {}, "decode": {}}
    for _ in range(args.repeat):
        enc: dict = {}
        dec: dict = {}
        stream = _profile(S, lambda: codec.encode(cube, bpppb=args.bpppb), enc)
        rec = _profile(S, lambda s=stream: codec.decode(s), dec)
        assert stream == ref and np.array_equal(rec, ref_cube), "the profiled run differs from the plain one"
        keep_best(best, "encode", enc)
        keep_best(best, "decode", dec)
    print(f"{args.spec} on {Path(args.cube).stem} {cube.shape} at {args.bpppb:g} bpppb, best of {args.repeat}, "
          f"{numba.get_num_threads()} numba thread(s), load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for side, stages in best.items():
        tc, tw = sum(v[0] for v in stages.values()), sum(v[1] for v in stages.values())
        print(f"| {side} stage | CPU s | wall s | share of CPU |\n|---|---|---|---|")
        for k, (c, w) in stages.items():
            print(f"| {k} | {c:.3f} | {w:.3f} | {100 * c / tc:.0f} % |")
        print(f"| total (sum of bests) | {tc:.3f} | {tw:.3f} | |\n")


if __name__ == "__main__":
    main()
