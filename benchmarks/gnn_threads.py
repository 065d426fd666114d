"""GNN training speed on the CPU against the thread count: is one thread faster for tiny networks?

    python benchmarks/gnn_threads.py [--cube ../shared/data/jasper_ridge.npy] [--threads 1,2] [--steps 20]

For a range of structures (channels 2..64, blocks 4) on one cube, times training steps
(forward, loss, backward, Adam) of the paper's generator with each thread count, and prints
ms per step with the MACs per step that ``gnn.schedule.SMALL_STEP_MACS`` compares against (below
it, the GNN would train single-threaded by default; measured on the 2-core machine, it is 0).  Run it on an idle machine: threads that wait
for a busy core make multi-threaded steps look slow.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cube", default=str(HERE.parents[1] / "shared" / "data" / "jasper_ridge.npy"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--channels", default="2,4,8,16,32,64")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()

    import torch

    from hsibench.codecs.neural.gnn.model import Generator
    from hsibench.codecs.neural.gnn.schedule import SMALL_STEP_MACS
    from hsibench.codecs.neural.gnn.structure import Geometry, Structure, macs_per_image
    from hsibench.codecs.neural.gnn.train import loss_fn

    path = Path(args.cube)
    cube = np.load(path) if path.is_file() else None
    if cube is None:
        from hsibench import datasets

        cube = datasets.load("synthetic").cube
    rows, cols, bands = cube.shape
    y = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (1, bands, rows, cols)).astype(np.float32))
    threads = [int(t) for t in args.threads.split(",")]
    print(f"cube {path.name if cube is not None else 'synthetic'} {cube.shape}; {args.steps} steps after 3 warm-up "
          f"steps; SMALL_STEP_MACS = {SMALL_STEP_MACS:.0e}")
    print("| channels | MACs/step | " + " | ".join(f"{t} thread{'s' if t > 1 else ''} ms" for t in threads) + " |")
    print("|---:|---:|" + "---:|" * len(threads))
    geo = Geometry(rows, cols, bands)
    for c in (int(v) for v in args.channels.split(",")):
        st = Structure(args.blocks, c, 0.0, "float32")
        cells = []
        for t in threads:
            torch.set_num_threads(t)
            torch.manual_seed(0)
            model = Generator(geo, st)
            opt = torch.optim.Adam(model.parameters(), lr=5e-4)
            z = torch.randn(1, geo.latent)
            for i in range(3 + args.steps):
                if i == 3:
                    t0 = time.perf_counter()
                loss = loss_fn(model(z), y, 1.5)
                opt.zero_grad()
                loss.backward()
                opt.step()
            cells.append(f"{1000 * (time.perf_counter() - t0) / args.steps:.1f}")
        print(f"| {c} | {3 * macs_per_image(geo, st):.2e} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
