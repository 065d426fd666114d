"""Peak memory of cropping a large ENVI file: hsibench's window read vs reading it whole.

Generates a 2 GiB ENVI cube (uint16, BSQ, 4096 lines x 1024 samples x 256 bands, filled with
real data, not a sparse file) in a temporary folder, then in fresh processes:

* ``hsibench.datasets.load("big.hdr[crop=R0:R1,C0:C1]")`` (the crop's window only), and
* ``numpy.fromfile`` of the whole file, then the crop (what the reader did before), and
* ``numpy.memmap`` of the file, then a copy of the crop (what touching pages costs in RSS).

and prints each process's peak resident memory (Linux ``VmHWM``: the process's own image;
``ru_maxrss`` would carry this generating parent's peak over exec) and wall time.  Usage::

    python benchmarks/envi_crop_memory.py [--gib 2] [--crop 1000:1512,100:612] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLES, BANDS = 1024, 256

PEAK = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
"""

CROP_CODE = """
import resource, sys, time
t = time.perf_counter()
from hsibench import datasets
s = datasets.load(sys.argv[1] + "[crop=" + sys.argv[2] + "]")
print(s.shape, round(time.perf_counter() - t, 2), peak_mb())
"""

MEMMAP_CODE = """
import resource, sys, time
import numpy as np
t = time.perf_counter()
lines = int(sys.argv[3])
r0, r1, c0, c1 = (int(v) for part in sys.argv[2].split(",") for v in part.split(":"))
mm = np.memmap(sys.argv[1].replace(".hdr", ".img"), dtype="<u2", mode="r", shape=(256, lines, 1024))
cube = np.ascontiguousarray(mm.transpose(1, 2, 0)[r0:r1, c0:c1])
print(cube.shape, round(time.perf_counter() - t, 2), peak_mb())
"""

WHOLE_CODE = """
import resource, sys, time
import numpy as np
t = time.perf_counter()
lines = int(sys.argv[3])
r0, r1, c0, c1 = (int(v) for part in sys.argv[2].split(",") for v in part.split(":"))
flat = np.fromfile(sys.argv[1].replace(".hdr", ".img"), dtype="<u2")
cube = np.ascontiguousarray(flat.reshape(256, lines, 1024).transpose(1, 2, 0)[r0:r1, c0:c1])
print(cube.shape, round(time.perf_counter() - t, 2), peak_mb())
"""


def generate(folder: Path, gib: float) -> Path:
    """A BSQ uint16 ENVI cube of about ``gib`` GiB with smooth-plus-noise data, written band by band."""
    lines = int(gib * 2**30 / (SAMPLES * BANDS * 2))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:lines, 0:SAMPLES]
    base = (1000 + 500 * np.sin(yy / 97.0) * np.cos(xx / 61.0)).astype(np.float32)
    noise = rng.normal(0, 10, base.shape).astype(np.float32)
    with open(folder / "big.img", "wb") as fh:
        for b in range(BANDS):  # the noise field shifted by one line per band: cheap, and no two bands alike
            band = base * (0.5 + b / BANDS) + np.roll(noise, b, axis=0)
            fh.write(np.clip(band, 0, 65535).astype("<u2").tobytes())
    (folder / "big.hdr").write_text(f"ENVI\nsamples = {SAMPLES}\nlines = {lines}\nbands = {BANDS}\ndata type = 12\n"
                                    "interleave = bsq\nbyte order = 0\nheader offset = 0\n")
    return folder / "big.hdr"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--crop", default="1000:1512,100:612")
    p.add_argument("--keep", default=None, help="generate into (and keep) this folder")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        hdr = generate(folder, args.gib)
        size = (folder / "big.img").stat().st_size
        lines = size // (SAMPLES * BANDS * 2)
        print(f"generated {hdr} ({size / 2**30:.2f} GiB, {lines} x {SAMPLES} x {BANDS} uint16 BSQ) "
              f"in {time.perf_counter() - t:.1f} s")
        runs = (("hsibench.datasets.load with crop= (reads the window's runs)", CROP_CODE),
                ("numpy.memmap, then a copy of the crop", MEMMAP_CODE), ("numpy.fromfile whole, then crop", WHOLE_CODE))
        for what, code in runs:
            out = subprocess.run([sys.executable, "-c", PEAK + code, str(hdr), args.crop, str(lines)], capture_output=True,
                                 text=True, check=True).stdout.strip()
            shape, rest = out.split(")")
            secs, rss = rest.split()
            print(f"{what}: crop {shape.strip('(')} -> peak RSS {rss} MB, {secs} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
