"""3D-SPIHT time and peak memory versus cube size and rate (one measurement per process).

Run from the repository root, one configuration per process so that peak RSS is its own:

    python benchmarks/bench_spiht_scale.py --shape 1476,256,145 --rate 1.0 [--ac false]

The cube is :func:`hsibench.datasets.synthetic.synthetic` (a linear-mixing scene, uint16) of the
given ``rows,cols,bands``.  Prints encode and decode seconds, wall and CPU (JIT compiled beforehand on a tiny
cube), bytes and PSNR, and the peak resident set size of the process during encode and during
decode (Linux: the VmHWM mark, reset after the cube is generated and between the two), which
includes the input cube held by the process and, for decode, the float32 output.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from hsibench.codecs import get
from hsibench.datasets.synthetic import synthetic


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _peak() -> float:
    """Peak resident set size since the last reset, MB (Linux VmHWM; ru_maxrss elsewhere)."""
    hwm = _status_mb("VmHWM") if sys.platform.startswith("linux") else float("nan")
    return hwm if hwm == hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak() -> float:
    """Reset the peak-RSS mark to the current RSS (Linux: clear_refs 5); return the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS") if sys.platform.startswith("linux") else float("nan")


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
    base_mb = _reset_peak()  # the generator's temporaries are not the codec's
    t0, c0 = time.perf_counter(), time.process_time()
    data = codec.encode(cube, bpppb=args.rate)
    t1, c1 = time.perf_counter(), time.process_time()
    enc_peak = _peak()
    _reset_peak()
    out = codec.decode(data)
    t2, c2 = time.perf_counter(), time.process_time()
    dec_peak = _peak()  # before the PSNR temporaries
    r = float(cube.max()) - float(cube.min())
    sse = sum(float(np.sum((cube[i].astype(np.float64) - out[i]) ** 2)) for i in range(rows))
    mse = sse / cube.size
    print(
        f"{args.spec}[ac={args.ac}] {rows}x{cols}x{bands} ({cube.dtype}, {cube.size / 1e6:.1f} M voxels) "
        f"at {args.rate:g} bpppb: encode {t1 - t0:.2f} s ({c1 - c0:.2f} s CPU), decode {t2 - t1:.2f} s "
        f"({c2 - c1:.2f} s CPU), {len(data)} bytes, "
        f"PSNR {10 * np.log10(r * r / mse):.2f} dB, peak RSS encode {enc_peak:.0f} MB, decode {dec_peak:.0f} MB "
        f"(process at start {base_mb:.0f} MB, holding the cube)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
