"""3D-SPIHT quality and speed on the shared real cubes, against the QccPack 3D-SPECK reference.

Run from the repository root:  python benchmarks/bench_spiht.py [--ac both|true|false] [--cubes a,b]
                                [--rates 0.1,0.25,...] [--repeat N] [--tree packet|dyadic]

Prints one line per cube and rate: PSNR (data_range = max - min of the cube) of spiht with the
reference's settings (packet transform, 4 spectral + 3 spatial levels), the QccPack 3D-SPECK
reference PSNR from ../shared/data/README.md and the difference, achieved/budget bytes, and
the best-of-N encode and decode seconds, wall clock and CPU (process) time (JIT compilation
excluded by a warm-up run; on a shared machine the CPU time is the steadier figure).
Skips cleanly when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from _common import QCCPACK_SPECK as REFERENCE, RATES, psnr
from hsibench.codecs import get
from hsibench.codecs.base import budget_bytes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ac", default="both", choices=["both", "true", "false"])
    ap.add_argument("--cubes", default=",".join(REFERENCE))
    ap.add_argument("--rates", default=",".join(map(str, RATES)))
    ap.add_argument("--repeat", type=int, default=1, help="timing repeats (best of)")
    ap.add_argument("--tree", default="packet", choices=["packet", "dyadic"])
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} not present: nothing to measure")
        return 0
    acs = [True, False] if args.ac == "both" else [args.ac == "true"]
    rates = [float(r) for r in args.rates.split(",")]
    print(f"{'cube':24s} {'ac':5s} {'bpppb':>5s} {'PSNR':>7s} {'SPECK':>6s} {'diff':>6s} {'bytes':>8s} {'budget':>8s} {'enc s':>6s} {'dec s':>6s} {'enc cpu':>7s} {'dec cpu':>7s}")
    worst = float("inf")
    for name in args.cubes.split(","):
        cube = np.load(DATA / f"{name}.npy")
        for ac in acs:
            codec = get(f"spiht[kind={args.tree},spectral_levels=4,spatial_levels=3,ac={str(ac).lower()}]")
            codec.decode(codec.encode(cube[:16, :16, :32], bpppb=1.0))  # JIT warm-up
            for rate in rates:
                te = td = ce = cd = float("inf")
                for _ in range(max(1, args.repeat)):
                    t0, c0 = time.perf_counter(), time.process_time()
                    data = codec.encode(cube, bpppb=rate)
                    t1, c1 = time.perf_counter(), time.process_time()
                    out = codec.decode(data)
                    t2, c2 = time.perf_counter(), time.process_time()
                    te, td = min(te, t1 - t0), min(td, t2 - t1)
                    ce, cd = min(ce, c1 - c0), min(cd, c2 - c1)
                p = psnr(cube, out)
                ref = REFERENCE[name][RATES.index(rate)] if name in REFERENCE and rate in RATES else float("nan")
                worst = min(worst, p - ref)
                print(
                    f"{name:24s} {str(ac):5s} {rate:5.2f} {p:7.2f} {ref:6.2f} {p - ref:+6.2f} {len(data):8d} "
                    f"{budget_bytes(rate, cube.shape):8d} {te:6.3f} {td:6.3f} {ce:7.3f} {cd:7.3f}",
                    flush=True,
                )
    print(f"worst difference to QccPack 3D-SPECK: {worst:+.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
