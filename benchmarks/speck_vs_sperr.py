"""speck (and spiht) side by side with SPERR, NCAR's C++ SPECK compressor (issue 15's table).

SPERR is built in a temporary folder from its public repository, never committed::

    git clone https://github.com/NCAR/SPERR /tmp/sperr && cd /tmp/sperr
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUSE_OMP=ON && cmake --build build -j2
    gcc -O2 -o /tmp/sperr/bench_sperr benchmarks/sperr/bench_sperr.c \\
        -I/tmp/sperr/include -I/tmp/sperr/build -L/tmp/sperr/build/src -lSPERR -lm \\
        -Wl,-rpath,/tmp/sperr/build/src        # (the gcc line runs in this repository)

then::

    python benchmarks/speck_vs_sperr.py --sperr /tmp/sperr/bench_sperr [--cube PATH] \\
        [--rates 0.1,1,2] [--threads 1] [--repeat 5] [--codecs speck,spiht]

Both sides are timed in-process, in alternation (``--repeat`` rounds of one SPERR run, then one
run of each codec), best of the rounds, CPU and wall seconds: SPERR through its
C API (``bench_sperr.c``: ``sperr_comp_3d`` / ``sperr_decomp_3d`` at a target bpp, one chunk of
up to 256^3), the hsibench codecs through ``encode`` / ``decode`` after a warm-up call (numba
compilation excluded).  The cube goes to SPERR band-major as float32 (x = columns fastest,
z = bands), the orientation in which SPERR's quality is best on jasper_ridge.  PSNR uses the
original's max - min for both.  ``--threads`` sets SPERR's OpenMP threads and numba's; with more than one thread compare the wall
ratios (``speck[streams=N]`` codes N streams on N threads).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sperr(binary: str, cube: np.ndarray, bpppb: float, threads: int, repeat: int) -> dict:
    """Run the C driver on ``cube`` (rows, cols, bands); its JSON line as a dict."""
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        np.ascontiguousarray(cube.transpose(2, 0, 1), dtype=np.float32).tofile(f.name)
        rows, cols, bands = cube.shape
        out = subprocess.run([binary, f.name, str(cols), str(rows), str(bands), str(bpppb), str(threads), str(repeat)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours(spec: str, cube: np.ndarray, bpppb: float, repeat: int) -> dict:
    """Best of ``repeat`` encodes and decodes after a warm-up (numba compilation excluded)."""
    from hsibench import codecs, metrics

    codec = codecs.get(spec)
    data = codec.encode(cube, bpppb=bpppb)  # warm-up
    codec.decode(data)
    best = {"comp_cpu": 1e9, "comp_wall": 1e9, "decomp_cpu": 1e9, "decomp_wall": 1e9}
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        data = codec.encode(cube, bpppb=bpppb)
        best["comp_cpu"] = min(best["comp_cpu"], time.process_time() - c)
        best["comp_wall"] = min(best["comp_wall"], time.perf_counter() - w)
        c, w = time.process_time(), time.perf_counter()
        rec = codec.decode(data)
        best["decomp_cpu"] = min(best["decomp_cpu"], time.process_time() - c)
        best["decomp_wall"] = min(best["decomp_wall"], time.perf_counter() - w)
    best["bytes"] = len(data)
    best["psnr"] = metrics.psnr(cube, rec, data_range=metrics.data_range_of(cube))
    return best


def _best(a: dict | None, b: dict) -> dict:
    """The smaller of every timing of two measurements (the rest from the latest)."""
    if a is None:
        return b
    return {k: min(a[k], b[k]) if k.endswith(("_cpu", "_wall")) else b[k] for k in b}


def interleaved(binary: str, specs: list[str], cube: np.ndarray, bpppb: float, threads: int, repeat: int) -> tuple:
    """SPERR and each codec timed in alternation, ``repeat`` rounds of one run each, best of
    the rounds: on a shared machine whose speed drifts over minutes, both sides see the same drift."""
    s, o = None, {spec: None for spec in specs}
    for _ in range(repeat):
        s = _best(s, sperr(binary, cube, bpppb, threads, 1))
        for spec in specs:
            o[spec] = _best(o[spec], ours(spec, cube, bpppb, 1))
    return s, o


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sperr", required=True, help="the bench_sperr binary")
    ap.add_argument("--cube", default=str(ROOT.parent / "shared" / "data" / "jasper_ridge.npy"))
    ap.add_argument("--rates", default="0.1,1,2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--codecs", default="speck")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    cube = np.load(args.cube)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"{Path(args.cube).stem} {cube.shape}, {args.threads} thread(s), best of {args.repeat}, load {' '.join(load)}")
    print("| codec | bpppb | SPERR comp / decomp CPU s | codec enc / dec CPU s | ratio enc / dec (CPU) "
          "| wall SPERR / codec enc, dec | ratio enc / dec (wall) | SPERR PSNR | codec PSNR |\n"
          "|---|---|---|---|---|---|---|---|---|")
    from hsibench.codecs import split_specs

    for rate in (float(r) for r in args.rates.split(",")):
        s, results = interleaved(args.sperr, split_specs(args.codecs), cube, rate, args.threads, args.repeat)
        for spec, o in results.items():
            print(f"| {spec} | {rate:g} | {s['comp_cpu']:.3f} / {s['decomp_cpu']:.3f} | {o['comp_cpu']:.3f} / "
                  f"{o['decomp_cpu']:.3f} | {o['comp_cpu'] / s['comp_cpu']:.2f} / {o['decomp_cpu'] / s['decomp_cpu']:.2f} "
                  f"| {s['comp_wall']:.3f} / {o['comp_wall']:.3f}, {s['decomp_wall']:.3f} / {o['decomp_wall']:.3f} "
                  f"| {o['comp_wall'] / s['comp_wall']:.2f} / {o['decomp_wall'] / s['decomp_wall']:.2f} "
                  f"| {s['psnr']:.2f} | {o['psnr']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
