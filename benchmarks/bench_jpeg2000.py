"""JPEG 2000 codecs beside pca, speck and the QccPack 3D-SPECK reference on the shared real cubes.

Run from the repository root:
    python benchmarks/bench_jpeg2000.py [--cubes a,b] [--rates 0.1,0.25,...] [--codecs spec;spec;...]
    python benchmarks/bench_jpeg2000.py --sweep-levels      # jpeg2000 spectral DWT levels 3..7

Prints a markdown table per cube: PSNR in dB (data_range = max - min of the cube) of each codec
at each rate, the QccPack 3D-SPECK reference of ../shared/data/README.md, then a table of the
achieved share of the byte budget and the encode seconds (wall clock; the machine is shared, so
treat them as rough).  Codecs not registered (e.g. speck before it lands) are skipped.
Skips cleanly when ../shared/data is absent.
"""

from __future__ import annotations

import os

# One BLAS thread: the codecs are single-core designs (the QccPack reference ran on one core), and
# multi-threaded OpenBLAS on a busy 2-core machine made small eigh/solve calls 30x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _common import QCCPACK_SPECK as REFERENCE, RATES, psnr  # noqa: E402
from hsibench import codecs  # noqa: E402
from hsibench.codecs.base import budget_bytes  # noqa: E402
from hsibench.errors import HsibenchError  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CODECS = ["jpeg2000[spectral_levels=0]", "jpeg2000", "pca_jpeg2000", "pca", "speck"]
SWEEP = [f"jpeg2000[spectral_levels={n}]" for n in range(3, 8)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cubes", default=",".join(REFERENCE))
    ap.add_argument("--rates", default=",".join(map(str, RATES)))
    ap.add_argument("--codecs", default=";".join(CODECS), help="codec specs separated by ';'")
    ap.add_argument("--sweep-levels", action="store_true", help="compare jpeg2000 spectral DWT levels 3..7")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} not present: nothing to measure")
        return 0
    rates = [float(r) for r in args.rates.split(",")]
    specs = SWEEP if args.sweep_levels else [s for s in args.codecs.split(";") if s]
    specs = [s for s in specs if codecs.parse_spec(s)[0] in codecs.names()]
    for name in args.cubes.split(","):
        cube = np.load(DATA / f"{name}.npy")
        print(f"\n### {name} {cube.shape} {cube.dtype}\n")
        head = "| codec | " + " | ".join(f"{r:g}" for r in rates) + " bpppb |"
        print(head)
        print("|---" * (len(rates) + 1) + "|")
        notes = []
        for spec in specs:
            codec = codecs.get(spec)
            cells, fills, secs, info = [], [], [], []
            for rate in rates:
                t0 = time.perf_counter()
                try:
                    data = codec.encode(cube, bpppb=rate)
                except HsibenchError as exc:
                    cells.append("n/a")
                    fills.append("-")
                    secs.append("-")
                    info.append(str(exc).split(":")[0])
                    continue
                secs.append(f"{time.perf_counter() - t0:.1f}")
                fills.append(f"{len(data) / budget_bytes(rate, cube.shape):.3f}")
                cells.append(f"{psnr(cube, codec.decode(data, **codec.secrets())):.2f}")
                keep = {k: v for k, v in codec.info.items() if k in ("components", "spectral_levels", "spatial_levels")}
                info.append(",".join(f"{k}={v}" for k, v in keep.items()))
            print(f"| {spec} | " + " | ".join(cells) + " |", flush=True)
            notes.append((spec, fills, secs, info))
        if not args.sweep_levels and name in REFERENCE and [0.1, 0.25, 0.5, 1.0, 2.0] == rates:
            print("| QccPack 3D-SPECK (reference) | " + " | ".join(f"{v:.2f}" for v in REFERENCE[name]) + " |")
        print("\nachieved bytes / budget; encode seconds; what the encoder chose\n")
        for spec, fills, secs, info in notes:
            print(f"- {spec}: " + "; ".join(f"{r:g}: {f} {s}s {i}" for r, f, s, i in zip(rates, fills, secs, info)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
