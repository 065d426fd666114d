"""3D-SPIHT time and peak memory versus cube size and rate (one measurement per process).

Run from the repository root, one configuration per process so that peak RSS is its own:

    python benchmarks/bench_spiht_scale.py --shape 1476,256,145 --rate 1.0 [--ac false]

The cube is :func:`hsibench.datasets.synthetic.synthetic` (a linear-mixing scene, uint16) of the
given ``rows,cols,bands``.  Prints encode and decode seconds, wall and CPU (JIT compiled beforehand on a tiny
cube), bytes and PSNR, and the process's peak resident set size (``ru_maxrss``), which includes
the input cube and the decoded float32 cube.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from hsibench.codecs import get
from hsibench.datasets.synthetic import synthetic


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="1476,256,145", help="rows,cols,bands")
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--ac", default="true", choices=["true", "false"])
    ap.add_argument("--spec", default="spiht", help="codec spec (default spiht)")
    args = ap.parse_args(argv)
    rows, cols, bands = (int(v) for v in args.shape.split(","))
    codec = get(args.spec, ac=args.ac == "true")
    warm = synthetic(16, 16, 32, seed=1)
    codec.decode(codec.encode(warm, bpppb=1.0))
    cube = synthetic(rows, cols, bands, seed=0)
    t0, c0 = time.perf_counter(), time.process_time()
    data = codec.encode(cube, bpppb=args.rate)
    t1, c1 = time.perf_counter(), time.process_time()
    out = codec.decode(data)
    t2, c2 = time.perf_counter(), time.process_time()
    x = cube.astype(np.float64)
    r = float(x.max() - x.min())
    mse = float(np.mean((x - out) ** 2))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        f"{args.spec}[ac={args.ac}] {rows}x{cols}x{bands} ({cube.dtype}, {cube.size / 1e6:.1f} M voxels) "
        f"at {args.rate:g} bpppb: encode {t1 - t0:.2f} s ({c1 - c0:.2f} s CPU), decode {t2 - t1:.2f} s "
        f"({c2 - c1:.2f} s CPU), {len(data)} bytes, "
        f"PSNR {10 * np.log10(r * r / mse):.2f} dB, peak RSS {peak_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
