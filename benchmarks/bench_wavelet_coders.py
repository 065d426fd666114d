"""Quality, speed and memory of the wavelet coders (speck, and spiht when it exists).

Standalone until the asv suite lands::

    python benchmarks/bench_wavelet_coders.py [--quality] [--speed] [--large] [--codecs speck,spiht]

--quality  PSNR (data_range = max - min) on the four cubes of ../shared/data at 0.1 .. 2 bpppb,
           packet transform with 4 spectral + 3 spatial levels (QccPack's settings), next to
           QccPack 3D-SPECK's published numbers (../shared/data/README.md), plus the byte count
           against the budget.
--speed    encode / decode seconds on jasper_ridge at 0.1, 1 and 2 bpppb (best of 3, numba
           compilation excluded by a warm-up call) against 1.5x the reference's times.
--large    a synthetic 1476 x 256 x 145 uint16 cube (Botswana's size) at 1 bpppb, run in a
           subprocess: encode and decode seconds and the peak RSS (ru_maxrss) of that process;
           also half the rows and half the rate, to show how time scales with size and rate.
Times are wall-clock with CPU (process) seconds in brackets: on a shared machine the CPU
seconds are the steadier figure.
With no flag, all three run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import QCCPACK_SPECK, RATES, psnr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

BARS_DB = {"speck": 0.3, "spiht": 0.6}  # allowed shortfall against QccPack 3D-SPECK
REFERENCE_SECONDS = {0.1: 0.18, 1.0: 0.92, 2.0: 1.66}  # QccPack 3D-SPECK encode, jasper_ridge
LARGE_SHAPE = (1476, 256, 145)


def available_codecs(wanted: list[str]) -> list[str]:
    out = []
    for name in wanted:
        if importlib.util.find_spec(f"hsibench.codecs.{name}") is None:
            print(f"(skipping {name}: hsibench.codecs.{name} does not exist yet)")
            continue
        out.append(name)
    return out


def quality(names: list[str]) -> None:
    from hsibench import codecs

    print("\n## Quality: PSNR dB (data_range = max - min), packet 4 spectral + 3 spatial")
    print("| codec | cube | " + " | ".join(f"{r:g}" for r in RATES) + " | worst vs QccPack | bytes within budget |")
    print("|---|---|" + "---|" * len(RATES) + "---|---|")
    for name in names:
        codec = codecs.get(f"{name}[spectral_levels=4,spatial_levels=3]")
        for cube_name, ref in QCCPACK_SPECK.items():
            path = DATA / f"{cube_name}.npy"
            if not path.exists():
                print(f"| {name} | {cube_name} | (missing {path}) |")
                continue
            x = np.load(path)
            cells, worst, sizes_ok = [], math.inf, True
            for rate, qref in zip(RATES, ref):
                data = codec.encode(x, bpppb=rate)
                budget = int(math.floor(rate * x.size / 8 + 1e-9))
                sizes_ok &= budget - 32 <= len(data) <= budget
                p = psnr(x, codec.decode(data))
                worst = min(worst, p - qref)
                cells.append(f"{p:.2f} ({p - qref:+.2f})")
            flag = "ok" if worst >= -BARS_DB.get(name, 0.3) else "BELOW BAR"
            print(f"| {name} | {cube_name} | " + " | ".join(cells) + f" | {worst:+.2f} {flag} | {sizes_ok} |")


def _best_of(fn, repeats: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) seconds of ``repeats`` calls."""
    wall = cpu = math.inf
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu


def speed(names: list[str]) -> None:
    from hsibench import codecs

    path = DATA / "jasper_ridge.npy"
    if not path.exists():
        print(f"(speed: {path} missing)")
        return
    x = np.load(path)
    print("\n## Speed: jasper_ridge 100x100x198, seconds (best of 3, JIT excluded)")
    print("| codec | bpppb | encode s (CPU s) | decode s (CPU s) | bar (1.5 x reference) |")
    print("|---|---|---|---|---|")
    for name in names:
        codec = codecs.get(f"{name}[spectral_levels=4,spatial_levels=3]")
        codec.decode(codec.encode(x[:16, :16, :32], bpppb=1.0))  # compile / load the numba cache
        for rate, ref in REFERENCE_SECONDS.items():
            data = codec.encode(x, bpppb=rate)
            te, ce = _best_of(lambda: codec.encode(x, bpppb=rate))
            td, cd = _best_of(lambda: codec.decode(data))
            print(f"| {name} | {rate:g} | {te:.3f} ({ce:.3f}) | {td:.3f} ({cd:.3f}) | {1.5 * ref:.2f} |")


_LARGE_CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from hsibench import codecs
rows, cols, bands = {shape!r}
rng = np.random.default_rng(0)
# linear mixing of 4 smooth spectra with smooth abundances plus sensor noise (sigma 8), uint16;
# built band by band so that making the cube costs little memory beside the cube itself
yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
wl = np.linspace(0, 1, bands)
abund = [(1 + np.sin(xx / (17 + 9 * k) + k) * np.cos(yy / (29 + 7 * k))).astype(np.float32) for k in range(4)]
spectra = [900 + 600 * np.sin(2 * np.pi * ((k + 1) * 0.4 * wl + 0.2 * k)) for k in range(4)]
cube = np.empty((rows, cols, bands), dtype=np.uint16)
for b in range(bands):
    band = sum(abund[k] * np.float32(spectra[k][b]) for k in range(4))
    band += rng.normal(0, 8, (rows, cols)).astype(np.float32)
    cube[:, :, b] = np.clip(np.round(band), 0, 65535)
del abund, band, yy, xx
codec = codecs.get({spec!r})
codec.decode(codec.encode(cube[:16, :16, :32], bpppb=1.0))  # JIT / cache warm-up
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
data = codec.encode(cube, bpppb={rate!r})
te, ce = time.perf_counter() - t, time.process_time() - c
t, c = time.perf_counter(), time.process_time()
out = codec.decode(data)
td, cd = time.perf_counter() - t, time.process_time() - c
r = float(cube.max()) - float(cube.min())
mse = float(np.mean((cube.astype(np.float64) - out) ** 2))
print(json.dumps(dict(encode_s=te, decode_s=td, encode_cpu_s=ce, decode_cpu_s=cd, bytes=len(data), psnr=10 * np.log10(r * r / mse),
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      rss_before_mb=base / 1024)))
"""


def large(names: list[str]) -> None:
    """Botswana-size cube at 1 bpppb, plus half the rows and half the rate to show the scaling."""
    half = (LARGE_SHAPE[0] // 2, *LARGE_SHAPE[1:])
    print(f"\n## Large cube: synthetic uint16, Botswana size {LARGE_SHAPE} (one subprocess per row; peak RSS incl. the cube)")
    print("| codec | shape | bpppb | encode s (CPU s) | decode s (CPU s) | PSNR dB | RSS before MB | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, shape, rate in [(n, sh, r) for n in names for sh, r in ((LARGE_SHAPE, 1.0), (half, 1.0), (LARGE_SHAPE, 0.5))]:
        code = _LARGE_CHILD.format(root=str(ROOT), shape=shape, spec=name, rate=rate)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"| {name} | failed: {res.stderr.strip().splitlines()[-1] if res.stderr else res.returncode} |")
            continue
        d = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {'x'.join(map(str, shape))} | {rate:g} | {d['encode_s']:.2f} ({d['encode_cpu_s']:.2f}) "
            f"| {d['decode_s']:.2f} ({d['decode_cpu_s']:.2f}) | {d['psnr']:.2f} | {d['rss_before_mb']:.0f} "
            f"| {d['peak_rss_mb']:.0f} |"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--codecs", default="speck,spiht")
    args = ap.parse_args(argv)
    if not (args.quality or args.speed or args.large):
        args.quality = args.speed = args.large = True
    names = available_codecs([n.strip() for n in args.codecs.split(",") if n.strip()])
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# wavelet coders: {', '.join(names)}  (load average {load}; {os.cpu_count()} CPUs)")
    if args.quality:
        quality(names)
    if args.speed:
        speed(names)
    if args.large:
        large(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
