"""coolchic's latent coder (the project's range coder) against ``constriction``, on coolchic-sized latents.

    python benchmarks/coolchic_coder.py [--k 36] [--size 100] [--levels 5] [--calls 50000]

The issue asked for ``constriction`` or the project's own range coder "if measured faster".
Latents shaped like Jasper Ridge at 0.5 bpppb (k = 36 channels, 5 grids of 100 x 100 .. 7 x 7,
Laplace integers) are coded three ways:

1. hsibench: ``entropy.encode_latents`` / ``decode_latents`` — the fixed-point ARM evaluated for
   every latent inside the numba loop, then the range coder (bit-exact on every machine);
2. constriction, encode: one vectorised call with every latent's Laplace mean and scale given —
   no ARM at all, a lower bound of what encoding through it costs;
3. constriction, decode as an auto-regressive decoder must use it: one Python call per latent
   (a latent's parameters depend on its decoded neighbours), ARM excluded — a lower bound again.

The ARM here has random weights, so hsibench's byte count (a poor model) is not comparable with
constriction's (given the true scales); the times are.  Standalone; needs ``pip install
constriction``.  Times depend on what else the machine runs: say so when quoting them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hsibench.codecs.neural.coolchic import entropy as E
from hsibench.codecs.neural.coolchic.codec import _exponents
from hsibench.codecs.neural.coolchic.structure import grid_shapes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=36)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--levels", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50000, help="per-latent constriction decode calls timed")
    args = ap.parse_args()
    import constriction

    rng = np.random.default_rng(0)
    shapes = grid_shapes(args.size, args.size, args.levels)
    scales_l = [2.0 * 2**l for l in range(args.levels)]
    grids = [np.round(rng.laplace(0, s, (args.k, h, w))).astype(np.int64) for (h, w), s in zip(shapes, scales_l)]
    n = sum(g.size for g in grids)
    w = 16
    arm = E.FixedArm.from_float(rng.normal(0, 0.3, (w, E.N_CTX)), rng.normal(0, 0.1, w), rng.normal(0, 0.3, (w, w)),
                                rng.normal(0, 0.1, w), rng.normal(0, 0.3, (2, w)), np.array([0.0, 1.0]))
    exps = _exponents(grids)
    small = [g[:, :4, :4] for g in grids]  # compile the numba loop before timing
    E.decode_latents(E.encode_latents(small, exps, arm), [(4, 4)] * args.levels, args.k, exps, arm)
    t = time.perf_counter()
    data = E.encode_latents(grids, exps, arm)
    te = time.perf_counter() - t
    t = time.perf_counter()
    back = E.decode_latents(data, shapes, args.k, exps, arm)
    td = time.perf_counter() - t
    assert all((a == b).all() for a, b in zip(back, grids))
    print(f"{n} latents; hsibench (ARM + range coder): encode {te:.3f} s ({1e9 * te / n:.0f} ns/latent), "
          f"decode {td:.3f} s ({1e9 * td / n:.0f} ns/latent)")

    sym = np.concatenate([g.reshape(-1) for g in grids]).astype(np.int32)
    scales = np.concatenate([np.full(g.size, s) for g, s in zip(grids, scales_l)])
    means = np.zeros(n)
    lim = int(np.abs(sym).max()) + 1
    family = constriction.stream.model.QuantizedLaplace(-lim, lim)
    t = time.perf_counter()
    enc = constriction.stream.queue.RangeEncoder()
    enc.encode(sym, family, means, scales)
    comp = enc.get_compressed()
    tc = time.perf_counter() - t
    print(f"constriction, vectorised encode without ARM: {tc:.3f} s ({1e9 * tc / n:.0f} ns/latent)")
    m = min(args.calls, n)
    dec = constriction.stream.queue.RangeDecoder(comp)
    out = np.empty(m, np.int32)
    t = time.perf_counter()
    for i in range(m):
        out[i] = dec.decode(family, means[i : i + 1], scales[i : i + 1])[0]
    tl = time.perf_counter() - t
    assert (out == sym[:m]).all()
    print(f"constriction, one decode call per latent without ARM: {1e9 * tl / m:.0f} ns/latent, i.e. "
          f"{tl / m * n:.2f} s for the {n} latents")


if __name__ == "__main__":
    main()
