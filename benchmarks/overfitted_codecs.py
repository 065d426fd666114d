"""Overfitted codecs beside the wavelets: PSNR, rate and time of siren, coolchic, speck, pca (and gnn).

    python benchmarks/overfitted_codecs.py [--cubes jasper_ridge,...] [--rates 0.1,0.25,0.5,1]
                                           [--codecs siren,coolchic,speck,pca,jpeg2000,gnn] [--out FILE]
                                           [--threads N] [--figure PNG]

For every shared cube of ``../shared/data/`` (or the given ones) and every rate, encodes with
each codec at its default settings (``progress=false``; the trained codecs then use their CPU
schedule on a machine without CUDA), decodes from the bytes, and prints one markdown table per
cube: achieved bpppb, PSNR (``hsibench.metrics.psnr`` with ``data_range = max - min``), encode
and decode seconds, and what the trained codecs chose (structure, main epochs, † when a time
budget stopped training).  Every result is also appended to ``--out`` (JSON lines; rows already
there are not run again, so an interrupted run resumes), with the hsibench commit, the UTC time
and the 1-minute load average when the row started.  Times are wall clock on this machine, as
loaded as it is: the numbers say nothing about other machines (and the trained codecs' time
budgets are wall clock too, so a loaded machine also trains them less).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
from pathlib import Path

import numpy as np

from _common import SHARED_DATA, psnr
from hsibench import codecs
from hsibench.environment import git_commit

CUBES = ["jasper_ridge", "indian_pines_sub85x70", "paviaU_sub50x50"]
TRAINED = {"siren", "coolchic", "gnn"}


def run_one(cube: np.ndarray, spec: str, rate: float) -> dict:
    codec = codecs.get(spec)
    t0 = time.perf_counter()
    try:
        data = codec.encode(cube, bpppb=rate)
    except Exception as exc:  # noqa: BLE001 - a failure is a row of the table, not the end of the run
        return {"error": f"{type(exc).__name__}: {exc}"}
    enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = codecs.get(codec.name).decode(data)
    dec = time.perf_counter() - t0
    row = {"bpppb": 8 * len(data) / cube.size, "bytes": len(data), "psnr": psnr(cube, out), "encode_s": enc,
           "decode_s": dec}
    info = codec.info
    if codec.name in TRAINED:
        row["structure"] = info.get("structure")
        row["epochs"] = (info.get("epochs_run") or {}).get("main")
        row["time_stop"] = bool(info.get("stopped_by_time_budget"))
        row["threads"] = info.get("threads")
    if codec.name == "pca":
        row["structure"] = {"components": info.get("components")}
    return row


def describe(row: dict) -> str:
    st = row.get("structure")
    if not isinstance(st, dict):
        return ""
    text = ",".join(f"{k}={v}" for k, v in st.items())
    if row.get("epochs") is not None:
        text += f"; {row['epochs']}{'†' if row.get('time_stop') else ''} epochs"
    return text


def figure(rows: list[dict], path: Path) -> None:
    """Rate-distortion curves (PSNR vs achieved bpppb), one panel per cube, from the result rows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cubes = list(dict.fromkeys(r["cube"] for r in rows))
    fig = Figure(figsize=(5 * len(cubes), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(cubes), squeeze=False)[0]
    for ax, name in zip(axes, cubes):
        for codec in dict.fromkeys(r["codec"] for r in rows):
            pts = sorted((r["bpppb"], r["psnr"]) for r in rows if r["cube"] == name and r["codec"] == codec and "psnr" in r)
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=4, lw=1.2, label=codec)
        ax.set_xscale("log")
        ax.set_xlabel("bpppb (achieved)")
        ax.set_ylabel("PSNR (dB), peak = max - min")
        ax.set_title(name, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cubes", default=",".join(CUBES))
    ap.add_argument("--rates", default="0.1,0.25,0.5,1")
    ap.add_argument("--codecs", default="siren,coolchic,speck,pca")
    ap.add_argument("--out", default="results/overfitted_codecs.jsonl")
    ap.add_argument("--figure", default=None, help="also draw the rate-distortion curves of the rows into this PNG")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads of the trained codecs (default: theirs, every usable core); on a machine "
                         "shared with other work, 1 avoids the slowdown of oversubscribed torch threads")
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[(r["cube"], r["codec"], r["rate"])] = r
    if args.threads:  # decoders (torch's synthesis) too, so decode times are not those of oversubscribed threads
        import torch

        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.codecs.split(",") if n.strip()]
    rates = [float(r) for r in args.rates.split(",")]
    for name in [c.strip() for c in args.cubes.split(",") if c.strip()]:
        cube = np.load(SHARED_DATA / f"{name}.npy") if not name.endswith(".npy") else np.load(name)
        print(f"\n### {name} {cube.shape} {cube.dtype}\n")
        print("| codec | target | bpppb | PSNR dB | encode s | decode s | chosen |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for codec in names:
            extra = f",threads={args.threads}" if args.threads else ""
            spec = f"{codec}[progress=false{extra}]" if codec in TRAINED else codec
            for rate in rates:
                key = (name, codec, rate)
                if key not in done:
                    meta = {"commit": git_commit(), "utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                            "load1": round(os.getloadavg()[0], 2)}
                    row = {"cube": name, "codec": codec, "spec": spec, "rate": rate, **run_one(cube, spec, rate), **meta}
                    with out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    done[key] = row
                r = done[key]
                if "error" in r:
                    print(f"| {codec} | {rate:g} | – | failed: {r['error'][:80]} | | | |", flush=True)
                else:
                    print(f"| {codec} | {rate:g} | {r['bpppb']:.4f} | {r['psnr']:.2f} | {r['encode_s']:.1f} | "
                          f"{r['decode_s']:.2f} | {describe(r)} |", flush=True)
    if args.figure:
        figure([r for r in done.values() if r["codec"] in names], Path(args.figure))
        print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
