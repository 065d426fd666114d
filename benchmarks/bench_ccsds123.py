"""ccsds123 on the shared real cubes: speed, lossless rate beside JPEG 2000, rate-distortion beside speck and pca.

Run from the repository root:
    python benchmarks/bench_ccsds123.py [--speed] [--lossless] [--rd] [--rates 0.25,0.5,1,1.5,2,3,4]

* ``--speed``: encode and decode seconds of ccsds123 lossless (default, sample-adaptive and
  block-adaptive coders) and at max_error=4 on jasper_ridge
  (best of 3 after a warm-up; wall clock and process CPU time, since the machine may be shared),
  the same for the other classical codecs at 2 bpppb, and ccsds123 lossless on a synthetic
  1476 x 256 x 145 cube (the size of Botswana) to show time grows linearly with the samples.
* ``--lossless``: ccsds123[max_error=0] bpppb per cube (../shared/data) beside per-band
  reversible JPEG 2000 (OpenJPEG through imagecodecs, every band its own image, 5/3 wavelet).
* ``--rd``: bpppb, PSNR (data_range = max - min of the cube) and max |error| of ccsds123,
  speck and pca on jasper_ridge at each rate (ccsds123 reaches rates below 1 bpppb with its
  block-adaptive coder; a rate a codec cannot reach is shown as "below floor").

With no section flag, all three run.  Skips cleanly when ../shared/data is absent.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hsibench import codecs, metrics  # noqa: E402
from hsibench.datasets.synthetic import synthetic  # noqa: E402
from hsibench.errors import InvalidRateError  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CUBES = ["jasper_ridge", "indian_pines_sub85x70", "paviaU_sub50x50", "synthetic_128x128x64"]


def _timed(f, repeat: int = 3):
    """(best wall seconds, best CPU seconds, result) over ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = f()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def speed(cube: np.ndarray) -> None:
    print("## Speed (jasper_ridge 100 x 100 x 198; seconds: wall / CPU, best of 3 after a warm-up)\n")
    print("| codec | bpppb | encode s | decode s |")
    print("|---|---|---|---|")
    runs = [("ccsds123[max_error=0]", 16.0), ("ccsds123[max_error=0,coder=sample]", 16.0),
            ("ccsds123[max_error=0,coder=block,J=64]", 16.0), ("ccsds123[max_error=4]", 16.0), ("ccsds123", 2.0),
            ("ccsds123", 0.5)]
    runs += [(name, 2.0) for name in ("speck", "spiht", "pca", "jpeg2000")]
    for spec, rate in runs:
        codec = codecs.get(spec)
        codec.decode(codec.encode(cube[:32, :32], bpppb=rate))  # compile / warm up
        we, ce, data = _timed(lambda: codec.encode(cube, bpppb=rate))
        wd, cd, _ = _timed(lambda: codec.decode(data))
        print(f"| {spec} | {8 * len(data) / cube.size:.3f} | {we:.3f} / {ce:.3f} | {wd:.3f} / {cd:.3f} |")
    big = synthetic(1476, 256, 145, seed=0)
    codec = codecs.get("ccsds123[max_error=0]")
    we, ce, data = _timed(lambda: codec.encode(big, bpppb=16), repeat=1)
    wd, cd, out = _timed(lambda: codec.decode(data), repeat=1)
    assert np.array_equal(out, big)
    print(
        f"\nLinear in size: synthetic 1476 x 256 x 145 ({big.size / 1e6:.1f} M samples) lossless at "
        f"{8 * len(data) / big.size:.3f} bpppb: encode {we:.2f} s wall / {ce:.2f} s CPU ({1e9 * ce / big.size:.0f} ns per sample), "
        f"decode {wd:.2f} s wall / {cd:.2f} s CPU ({1e9 * cd / big.size:.0f} ns per sample)\n"
    )


def lossless(cubes: dict[str, np.ndarray]) -> None:
    from hsibench.codecs.predictive.ccsds123.codec import dynamic_range
    from hsibench.codecs.wavelet.jpeg2000 import imagecodecs_module

    ic = imagecodecs_module()
    print("## Lossless bpppb (ccsds123[max_error=0] vs per-band reversible JPEG 2000)\n")
    print("| cube | D | ccsds123 | JPEG 2000 per band | ccsds123 / JPEG 2000 |")
    print("|---|---|---|---|---|")
    for name, cube in cubes.items():
        codec = codecs.get("ccsds123[max_error=0]")
        data = codec.encode(cube, bpppb=16)
        assert np.array_equal(codec.decode(data), cube)
        D = dynamic_range(cube)[1]
        j2k = 0
        for z in range(cube.shape[2]):
            band = np.ascontiguousarray(cube[:, :, z])
            stream = ic.jpeg2k_encode(band, codecformat="J2K", reversible=True, bitspersample=D)
            assert np.array_equal(ic.jpeg2k_decode(stream), band)
            j2k += len(stream)
        ours, theirs = 8 * len(data) / cube.size, 8 * j2k / cube.size
        print(f"| {name} | {D} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.3f} |")
    print()


def rate_distortion(cube: np.ndarray, rates: list[float]) -> None:
    print("## Rate-distortion on jasper_ridge (PSNR with data_range = max - min; max |error|)\n")
    r = metrics.data_range_of(cube)
    specs = ["ccsds123", "speck", "pca"]
    print("| target | " + " | ".join(f"{s} bpppb | {s} dB | {s} max err" for s in specs) + " |")
    print("|---" * (1 + 3 * len(specs)) + "|")
    for rate in rates:
        cells = [f"{rate:g}"]
        for spec in specs:
            codec = codecs.get(spec)
            try:
                data = codec.encode(cube, bpppb=rate)
            except InvalidRateError:
                cells += ["below floor", "", ""]
                continue
            out = codec.decode(data)
            err = np.abs(out.astype(np.float64) - cube).max()
            cells += [f"{8 * len(data) / cube.size:.3f}", f"{metrics.psnr(cube, out, data_range=r):.2f}", f"{err:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--lossless", action="store_true")
    ap.add_argument("--rd", action="store_true")
    ap.add_argument("--rates", default="0.25,0.5,1,1.5,2,3,4")
    args = ap.parse_args(argv)
    everything = not (args.speed or args.lossless or args.rd)
    cubes = {name: np.load(DATA / f"{name}.npy") for name in CUBES if (DATA / f"{name}.npy").exists()}
    if "jasper_ridge" not in cubes:
        print(f"skipped: {DATA}/jasper_ridge.npy not found")
        return 0
    if everything or args.lossless:
        lossless(cubes)
    if everything or args.rd:
        rate_distortion(cubes["jasper_ridge"], [float(v) for v in args.rates.split(",")])
    if everything or args.speed:
        speed(cubes["jasper_ridge"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
