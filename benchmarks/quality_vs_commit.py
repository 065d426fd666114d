"""PSNR of codecs on this checkout against another commit: the check behind a ``revision`` bump.

    python benchmarks/quality_vs_commit.py [--base HEAD^] [--specs "speck;speck[streams=4]"]
        [--rates 0.1,0.5,1,2] [--cubes a.npy,b.npy]

The base commit is checked out in a temporary git worktree (removed afterwards) and both sides
run in their own Python process on the same cubes (default: every ``.npy`` of ../shared/data),
specs (``;``-separated, since a spec may hold commas) and rates.  Per row: PSNR (data range =
max - min) of the full decode and, for embedded codecs, of a decode of the stream truncated to
half its bytes (``hsibench.codecs.truncate``), and the bytes; then, per spec, the lowest and the
mean difference; with 4 rates or more, per cube and spec, the Bjøntegaard deltas of this tree
against the base (:mod:`hsibench.bd`, PCHIP, on the streams' bytes): the whole curve, not only
the points.  A codec whose bytes changed should show equal or better quality here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def measure(specs: list[str], rates: list[float], cubes: list[str]) -> dict[str, list]:
    """``"cube|spec|rate" -> [psnr, half-stream psnr or None, bytes]`` on the hsibench importable here."""
    import numpy as np

    from hsibench import codecs, metrics

    out = {}
    for path in cubes:
        cube = np.load(path)
        dr = float(cube.max()) - float(cube.min())
        for spec in specs:
            codec = codecs.get(spec)
            for rate in rates:
                stream = codec.encode(cube, bpppb=rate)
                half = None
                if codec.embedded:
                    half = metrics.psnr(cube, codec.decode(codecs.truncate(stream, len(stream) // 2)), data_range=dr)
                out[f"{Path(path).stem}|{spec}|{rate:g}"] = [
                    metrics.psnr(cube, codec.decode(stream), data_range=dr), half, len(stream)]
    return out


def _side(root: Path, args) -> dict[str, list]:
    """:func:`measure` in a child process importing hsibench from ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, __file__, "--child", "--specs", args.specs, "--rates", args.rates, "--cubes", args.cubes]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _table(base: dict, new: dict, base_name: str) -> list[str]:
    lines = [f"| cube | spec | bpppb | PSNR {base_name} | PSNR this tree | diff | half-stream diff | bytes |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    diffs: dict[str, list[float]] = {}
    for key, (p0, h0, b0) in base.items():
        p1, h1, b1 = new[key]
        cube, spec, rate = key.split("|")
        diffs.setdefault(spec, []).append(p1 - p0)
        hd = f"{h1 - h0:+.3f}" if h0 is not None and h1 is not None else "-"
        lines.append(f"| {cube} | {spec} | {rate} | {p0:.3f} | {p1:.3f} | {p1 - p0:+.3f} | {hd} | {b0} / {b1} |")
    lines.append("")
    for spec, d in diffs.items():
        lines.append(f"{spec}: {len(d)} points, lowest diff {min(d):+.3f} dB, mean {sum(d) / len(d):+.3f} dB, "
                     f"{sum(x >= -0.02 for x in d)} within -0.02 dB or better")
    return lines + _bd_lines(base, new)


def _bd_lines(base: dict, new: dict) -> list[str]:
    """BD-PSNR and BD-rate of this tree against the base per cube and spec (4 rates or more)."""
    from hsibench import bd

    curves: dict[tuple[str, str], list[tuple[int, float, int, float]]] = {}
    for key, (p0, _, b0) in base.items():
        cube, spec, _ = key.split("|")
        p1, _, b1 = new[key]
        curves.setdefault((cube, spec), []).append((b0, p0, b1, p1))
    lines = []
    for (cube, spec), pts in curves.items():
        if len(pts) < 4:
            continue
        pts.sort()
        b0, p0, b1, p1 = (list(col) for col in zip(*pts))
        dp = bd.bd_psnr(b0, p0, b1, p1, method="pchip")
        dr = bd.bd_rate(b0, p0, b1, p1, method="pchip")
        lines.append(f"{cube} {spec}: BD-PSNR {dp:+.3f} dB, BD-rate {dr:+.2f} % over {b0[0]}-{b0[-1]} bytes "
                     f"({len(pts)} rates)")
    return ([""] if lines else []) + lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD^", help="the commit to compare with (default HEAD^)")
    ap.add_argument("--specs", default="speck", help="codec specs separated by ';'")
    ap.add_argument("--rates", default="0.1,0.5,1,2")
    ap.add_argument("--cubes", default=",".join(str(p) for p in sorted(DATA.glob("*.npy"))))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    specs = [s for s in args.specs.split(";") if s]
    rates = [float(r) for r in args.rates.split(",")]
    cubes = [c for c in args.cubes.split(",") if c]
    if args.child:
        json.dump(measure(specs, rates, cubes), sys.stdout)
        return 0
    if not cubes:
        ap.error(f"no cubes (none given and no .npy in {DATA})")
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), base_rev], cwd=ROOT, check=True)
        try:
            base = _side(tree, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    new = _side(ROOT, args)
    print("\n".join(_table(base, new, base_rev)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
