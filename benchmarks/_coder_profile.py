"""What the stage profilers of the wavelet coders share: their command line, the cube and codec
they load, the warm-up, and the best-of table they print (speck_profile.py, spiht_profile.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def setup(description: str, default_spec: str):
    """Parse the common options, set numba's threads, load the cube and codec and warm them up:
    (args, cube, codec, reference stream, reference decoded cube)."""
    from hsibench import codecs, datasets

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("cube", nargs="?", default=str(ROOT.parent / "shared" / "data" / "jasper_ridge.npy"))
    ap.add_argument("--bpppb", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--spec", default=default_spec)
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's, every core)")
    args = ap.parse_args()
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    cube = np.load(args.cube) if args.cube.endswith(".npy") else datasets.load(args.cube).cube
    codec = codecs.get(args.spec)
    ref = codec.encode(cube, bpppb=args.bpppb)  # warm-up: compiles or loads the kernels
    return args, cube, codec, ref, codec.decode(ref)


def keep_best(best: dict, side: str, stages: dict) -> None:
    """Fold one run's per-stage (CPU s, wall s) into ``best[side]``, stage by stage."""
    for k, v in stages.items():
        old = best[side].get(k)
        best[side][k] = v if old is None else (min(old[0], v[0]), min(old[1], v[1]))
