"""GNN structures on a real cube: blocks x pruning x weight precision, beside 3D-SPECK at the same rates.

    python benchmarks/gnn_structures.py [--cube ../shared/data/jasper_ridge.npy] [--epochs 250]
        [--channels 16] [--blocks 2,3,4] [--prune 0,0.67] [--weights float32,float16,int8] [--threads 1]

Every structure is fixed in the spec (no rate search) and given a rate of 16 bpppb (the native
depth) as its ceiling, so the stored size of the network *is* the achieved rate.  For each:
achieved bpppb, compression ratio (16 / bpppb), PSNR with data_range = max - min (the paper's
10 log10(2^2 / MSE) on [-1, 1] data), mean spectral angle, encode seconds, and speck's PSNR at
the same achieved rate when a ``speck`` codec is registered.  Prints a markdown table and writes
JSON lines next to it (``--out``).  Timings on a shared CPU are noisy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


from _common import load_cube
from hsibench import codecs, metrics

HERE = Path(__file__).resolve().parent
DEFAULT_CUBE = HERE.parents[1] / "shared" / "data" / "jasper_ridge.npy"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cube", default=str(DEFAULT_CUBE), help="a .npy file or an hsibench dataset spec, e.g. synthetic")
    ap.add_argument("--epochs", type=int, default=250)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--blocks", default="2,3,4")
    ap.add_argument("--prune", default="0,0.67")
    ap.add_argument("--weights", default="float32,float16,int8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="gnn_structures.jsonl")
    args = ap.parse_args()

    cube = load_cube(args.cube)
    r = float(cube.max()) - float(cube.min())
    have_speck = "speck" in codecs.names()
    rows = []
    print(f"cube {args.cube} {cube.shape} {cube.dtype}; epochs {args.epochs}; channels {args.channels}; threads {args.threads}")
    print("| blocks | prune | weights | params | bpppb | CR | PSNR dB | SAM deg | encode s | speck PSNR dB | GNN - speck dB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with open(args.out, "w") as fh:
        for b in [int(x) for x in args.blocks.split(",")]:
            for pr in [float(x) for x in args.prune.split(",")]:
                for w in args.weights.split(","):
                    spec = (
                        f"gnn[blocks={b},channels={args.channels},prune={pr:g},weights={w},epochs={args.epochs},"
                        f"threads={args.threads},progress=false,time_budget_s=100000]"
                    )
                    codec = codecs.get(spec)
                    t0 = time.perf_counter()
                    try:
                        data = codec.encode(cube, bpppb=16.0)
                    except Exception as exc:  # e.g. a float32 network above 16 bpppb
                        print(f"| {b} | {pr:g} | {w} | - | - | - | {type(exc).__name__}: {exc} |")
                        continue
                    enc_s = time.perf_counter() - t0
                    out = codec.decode(data)
                    rate = 8 * len(data) / cube.size
                    rec = {
                        "spec": spec, "blocks": b, "prune": pr, "weights": w, "params": codec.info["params"],
                        "bpppb": rate, "cr": 16 / rate, "psnr": metrics.psnr(cube, out, data_range=r),
                        "sam": metrics.sam(cube, out), "encode_s": enc_s, "qmax": codec.info["qmax"],
                        "train_s": codec.info["train_seconds"], "epochs_run": codec.info["epochs_run"],
                    }
                    if have_speck:
                        sp = codecs.get("speck")
                        rec["speck_psnr"] = metrics.psnr(cube, sp.decode(sp.encode(cube, bpppb=rate)), data_range=r)
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    rows.append(rec)
                    sp_txt = f"{rec['speck_psnr']:.2f} | {rec['psnr'] - rec['speck_psnr']:+.2f}" if have_speck else "- | -"
                    wtxt = w if w != "int8" else f"int8 (qmax {rec['qmax']})"
                    print(
                        f"| {b} | {pr:g} | {wtxt} | {rec['params']} | "
                        f"{rate:.4f} | {rec['cr']:.1f} | {rec['psnr']:.2f} | {rec['sam']:.3f} | {enc_s:.1f} | {sp_txt} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
