"""Per-stage CPU seconds of speck's encoder and decoder (issue 15's profile).

    python benchmarks/speck_profile.py [CUBE] [--bpppb 1] [--repeat 5] [--spec speck] [--threads N]

CUBE is a path (.npy) or an hsibench dataset spec; default ../shared/data/jasper_ridge.npy.
Runs the stages of ``Speck._encode`` / ``_decode`` one by one (the same calls, in the same
order) and prints, per stage, the best of ``--repeat`` runs in process CPU seconds and in wall
seconds (wall < CPU means several cores worked).  Numba compilation and cache loading are
excluded by a warm-up encode/decode.  Stream and decoded cube are checked against the codec's
own ``encode`` / ``decode``, so the profile measures what the codec does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _stages_encode(codec, cube, bpppb):
    from hsibench.codecs import base
    from hsibench.codecs.wavelet import speck as S

    W, K, SC, B, BL = S.W, S.K, S.SC, S.B, S.BL
    cfg = codec.config
    out = {}
    t = _Timer(out)
    shape_brc = (cube.shape[2], cube.shape[0], cube.shape[1])
    layout = W.make_layout(shape_brc, cfg["kind"], cfg["spectral_levels"], cfg["spatial_levels"])
    mean = float(f"{cube.mean(dtype=np.float64):.6g}")
    with t("band_major"):
        a = S.W.band_major(cube, mean)
    with t("transform"):
        W.forward_inplace(a, layout)
    with t("quantise"):
        amax = K.max_abs(a)
        exp = int(np.frexp(amax)[1]) - 1
        n = a.size
        q = np.empty(n, dtype=np.int32)
        sgn = np.empty(n, dtype=np.uint8)
        msb = np.empty(n, dtype=np.int8)
        boxes = np.asarray(layout.subbands, dtype=np.int64).reshape(-1, 6)
        K.quantise(a, boxes, *S._split_pow2(K.TOP_PLANE - exp), q, sgn, msb)
    params = {"kind": layout.kind, "sl": layout.spectral_levels, "tl": layout.spatial_levels, "ac": bool(cfg["ac"]),
              "mean": S._as_number(mean), "lo": S._as_number(S._round_out(float(cube.min()), False)),
              "hi": S._as_number(S._round_out(float(cube.max()), True)), "exp": exp}
    limit = base.budget_bytes(bpppb, cube.shape) - codec._header_size(cube, params)
    with t("tables+pyramid"):
        tb = K.build_tables(layout.subbands, layout.kind)
        pyr = K.build_pyramid(msb, tb["sb_off"], tb["sb_k"], tb["lvl_dim"], tb["pyr_off"], tb["pyr_size"])
    ac = cfg["ac"]
    with t("passes (coder)"):
        buf = np.zeros(limit + 16, dtype=np.uint8)
        st = B.enc_new() if ac else B.bw_new()
        models = B.new_models(K.N_MODELS)
        SC.run(BL.mode_of(True, ac), limit, buf, models, st, msb, pyr, q, sgn, n, S._geometry(tb))
        size = B.enc_finish(st, buf) if ac else B.bw_finish(st, buf)
    payload = buf[:size].tobytes()
    return out, codec._pack(cube, params, payload)


def _stages_decode(codec, stream):
    from hsibench.codecs import base
    from hsibench.codecs.wavelet import speck as S

    W, K, SC, B, BL, WK = S.W, S.K, S.SC, S.B, S.BL, S.WK
    out = {}
    t = _Timer(out)
    header, payload = base.unpack(stream)
    rows, cols, bands = header.shape
    kind, sl, tl, ac, mean, lo, hi, exp = S._read_params(header.params, (bands, rows, cols))
    layout = W.make_layout((bands, rows, cols), kind, sl, tl)
    boxes = np.asarray(layout.subbands, dtype=np.int64).reshape(-1, 6)
    with t("tables"):
        tb = K.build_tables(layout.subbands, layout.kind)
    rec = np.empty((bands, rows, cols), dtype=np.float64)
    with t("passes (coder)"):
        data = np.frombuffer(payload, dtype=np.uint8).copy()
        st = B.dec_new(data) if ac else B.br_new()
        models = B.new_models(K.N_MODELS)
        d8 = np.zeros(1, dtype=np.int8)
        _, _, _, m, lsp_v, lsp_m, sg, pad = SC.run(BL.mode_of(False, ac), 0, data, models, st, d8, d8,
                                                   np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.uint8), rec.size,
                                                   S._geometry(tb))
    with t("dequantise"):
        K.scatter_lsp(lsp_v, lsp_m, m, sg[pad:pad + rec.size], boxes, *S._split_pow2(exp - K.TOP_PLANE), rec)
    with t("transform"):
        W.inverse_inplace(rec, layout)
    with t("to_cube"):
        cube = np.empty(header.shape, dtype=np.float32)
        WK.to_cube(rec, cube, mean, lo, hi)
    return out, cube


class _Timer:
    def __init__(self, out):
        self.out = out

    def __call__(self, name):
        self.name = name
        return self

    def __enter__(self):
        self.c0, self.w0 = time.process_time(), time.perf_counter()

    def __exit__(self, *exc):
        self.out[self.name] = (time.process_time() - self.c0, time.perf_counter() - self.w0)


def main() -> None:
    from _coder_profile import keep_best, setup

    args, cube, codec, ref, ref_cube = setup(__doc__.splitlines()[0], "speck")
    best: dict[str, dict[str, tuple[float, float]]] = {"encode": {}, "decode": {}}
    for _ in range(args.repeat):
        enc, stream = _stages_encode(codec, cube, args.bpppb)
        dec, rec = _stages_decode(codec, stream)
        assert stream == ref, "the staged encoder's stream differs from the codec's"
        assert np.array_equal(rec, ref_cube), "the staged decoder's cube differs from the codec's"
        keep_best(best, "encode", enc)
        keep_best(best, "decode", dec)
    import numba

    print(f"{args.spec} on {Path(args.cube).stem} {cube.shape} at {args.bpppb:g} bpppb, best of {args.repeat}, "
          f"{numba.get_num_threads()} numba thread(s), load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for side, stages in best.items():
        tc, tw = sum(v[0] for v in stages.values()), sum(v[1] for v in stages.values())
        print(f"| {side} stage | CPU s | wall s | share of CPU |\n|---|---|---|---|")
        for k, (c, w) in stages.items():
            print(f"| {k} | {c:.3f} | {w:.3f} | {100 * c / tc:.0f} % |")
        print(f"| total | {tc:.3f} | {tw:.3f} | |\n")


if __name__ == "__main__":
    main()
