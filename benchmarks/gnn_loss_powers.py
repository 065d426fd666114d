"""The paper's Table 1: training loss mean |y - y_hat|^p for p = 1, 1.5, 2, 3, on one structure.

    python benchmarks/gnn_loss_powers.py [--cube ../shared/data/paviaU_sub50x50.npy] [--epochs 400]
        [--powers 1,1.5,2,3] [--seeds 0,1] [--spec-extra blocks=3,channels=16,weights=float32]

Reports, per p and averaged over the seeds, the MSE of the decoded cube on the data min-max
normalised to [-1, 1] (as the paper reports it), the PSNR (10 log10(2^2 / MSE)), and the MSE
of every seed so the seed-to-seed spread can be compared with the differences between powers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _common import load_cube
from hsibench import codecs

HERE = Path(__file__).resolve().parent
DEFAULT_CUBE = HERE.parents[1] / "shared" / "data" / "paviaU_sub50x50.npy"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cube", default=str(DEFAULT_CUBE), help="a .npy file or an hsibench dataset spec, e.g. synthetic")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--powers", default="1,1.5,2,3")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--spec-extra", default="blocks=3,channels=16,weights=float32")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    cube = load_cube(args.cube)
    lo, hi = float(cube.min()), float(cube.max())
    norm = 2.0 * (cube.astype(np.float64) - lo) / (hi - lo) - 1.0
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"cube {args.cube} {cube.shape}; gnn[{args.spec_extra}], epochs {args.epochs}, seeds {seeds}")
    print("| p | MSE (normalised, mean over seeds) | PSNR dB | MSE per seed | encode s (mean) |")
    print("|---|---|---|---|---|")
    for p in [float(x) for x in args.powers.split(",")]:
        mses, secs = [], []
        for seed in seeds:
            spec = (f"gnn[{args.spec_extra},p={p:g},epochs={args.epochs},seed={seed},threads={args.threads},"
                    "progress=false,time_budget_s=100000]")
            codec = codecs.get(spec)
            t0 = time.perf_counter()
            data = codec.encode(cube, bpppb=16.0)
            secs.append(time.perf_counter() - t0)
            out = codec.decode(data)
            y = 2.0 * (out.astype(np.float64) - lo) / (hi - lo) - 1.0
            mses.append(float(np.mean((y - norm) ** 2)))
        m = float(np.mean(mses))
        print(f"| {p:g} | {m:.3e} | {10 * np.log10(4 / m):.2f} | {', '.join(f'{x:.3e}' for x in mses)} | {np.mean(secs):.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
