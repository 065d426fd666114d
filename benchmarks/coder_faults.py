"""Page faults, user and system CPU of a codec's encode and decode (what fresh memory costs).

    python benchmarks/coder_faults.py CUBE [--spec "speck[streams=4]"] [--bpppb 1] [--threads N] [--repeat 3]

CUBE is a ``.npy`` file.  After one warm-up encode and decode (numba compilation and cache
loading), each of ``--repeat`` encodes and decodes is measured with ``getrusage`` of this
process: wall seconds, user and system CPU seconds and minor page faults.  A kernel that takes
its large arrays from numba's allocator faults every 4 KiB page; numpy asks for huge pages.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _measure(name: str, fn) -> None:
    u0, s0, f0 = _usage()
    w0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - w0
    u1, s1, f1 = _usage()
    print(f"{name}: wall {wall:.3f} s, user {u1 - u0:.3f} s, system {s1 - s0:.3f} s, page faults {f1 - f0}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cube")
    ap.add_argument("--spec", default="speck")
    ap.add_argument("--bpppb", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import numba

    from hsibench import codecs

    if args.threads:
        numba.set_num_threads(args.threads)
    cube = np.load(args.cube)
    codec = codecs.get(args.spec)
    stream = codec.encode(cube, bpppb=args.bpppb)
    codec.decode(stream)
    print(f"{args.spec} on {Path(args.cube).stem} {cube.shape} at {args.bpppb:g} bpppb, "
          f"{numba.get_num_threads()} numba thread(s)")
    for _ in range(args.repeat):
        _measure("encode", lambda: codec.encode(cube, bpppb=args.bpppb))
    for _ in range(args.repeat):
        _measure("decode", lambda: codec.decode(stream))


if __name__ == "__main__":
    main()
