"""Per-stage CPU seconds of speck's encoder and decoder (issue 15's profile).

    python benchmarks/speck_profile.py [CUBE] [--bpppb 1] [--repeat 5] [--spec speck] [--threads N]

With ``--spec "speck[streams=N]"`` the stages are those of N streams: every slab's transform
and quantisation, the byte split, then the streams coded (decoded) at once on numba's threads.

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
        geo = S._geometry(tb)
        SC.run(BL.mode_of(True, ac), limit, buf, models, st, msb, pyr, q, sgn, geo, *SC.workspace(geo, n, False))
        size = B.enc_finish(st, buf) if ac else B.bw_finish(st, buf)
    payload = buf[:size].tobytes()
    return out, codec._pack(cube, params, payload)


def _stages_decode(codec, stream):
    from hsibench.codecs import base
    from hsibench.codecs.wavelet import speck as S

    W, K, SC, B, BL = S.W, S.K, S.SC, S.B, S.BL
    out = {}
    t = _Timer(out)
    header, payload = base.unpack(stream)
    rows, cols, bands = header.shape
    kind, sl, tl, ac, mean, lo, hi, exp = S._read_params(header.params, (bands, rows, cols))
    layout = W.make_layout((bands, rows, cols), kind, sl, tl)
    with t("tables"):
        tb = K.build_tables(layout.subbands, layout.kind)
    rec = np.zeros((bands, rows, cols), dtype=np.float64)
    with t("passes (coder)"):
        data = np.frombuffer(payload, dtype=np.uint8).copy()
        st = B.dec_new(data) if ac else B.br_new()
        models = B.new_models(K.N_MODELS)
        d8 = np.zeros(1, dtype=np.int8)
        geo = S._geometry(tb)
        work = SC.workspace(geo, rec.size, True)
        m = SC.run(BL.mode_of(False, ac), 0, data, models, st, d8, d8, np.zeros(1, dtype=np.int32),
                   np.zeros(1, dtype=np.uint8), geo, *work)[3]
    with t("dequantise"):
        K.scatter_lsp(work[1], work[2], m, *S._split_pow2(exp - K.TOP_PLANE), rec.reshape(-1))
    with t("transform"):
        W.inverse_inplace(rec, layout)
    with t("to_cube"):
        cube = np.empty(header.shape, dtype=np.float32)
        W.to_cube(rec, cube, mean, lo, hi)
    return out, cube


def _stages_encode_streams(codec, cube, bpppb):
    """The stages of a ``speck[streams=N]`` encode: every slab's transform and quantisation, the
    byte split, then the N streams coded at once (wall: the parallel section; CPU: all threads)."""
    from hsibench.codecs import base
    from hsibench.codecs.wavelet import speck as S

    W, K, T = S.W, S.K, S.T
    cfg = codec.config
    out = {}
    t = _Timer(out)
    rows, cols, bands = cube.shape
    slabs = T.row_slabs(rows, min(cfg["streams"], rows))
    n = len(slabs)
    sl, tl = W.choose_levels((bands, min(b - a for a, b in slabs), cols), cfg["kind"], cfg["spectral_levels"],
                             cfg["spatial_levels"])
    layouts = S._layouts(slabs, bands, cols, cfg["kind"], sl, tl)
    mean = float(f"{cube.mean(dtype=np.float64):.6g}")
    with t("band_major"):
        coeffs = [W.band_major(cube[a:b], mean) for a, b in slabs]
    with t("transform"):
        for c, layout in zip(coeffs, layouts):
            W.forward_inplace(c, layout)
    with t("quantise"):
        exp = int(np.frexp(max(K.max_abs(c) for c in coeffs))[1]) - 1
        quantised = []
        for c, layout in zip(coeffs, layouts):
            q, sgn, msb = np.empty(c.size, np.int32), np.empty(c.size, np.uint8), np.empty(c.size, np.int8)
            K.quantise(c, S._boxes(layout), *S._split_pow2(K.TOP_PLANE - exp), q, sgn, msb)
            quantised.append((q, sgn, msb, layout))
    params = {"kind": cfg["kind"], "sl": sl, "tl": tl, "ac": bool(cfg["ac"]), "mean": S._as_number(mean),
              "lo": S._as_number(S._round_out(float(cube.min()), False)),
              "hi": S._as_number(S._round_out(float(cube.max()), True)), "exp": exp, "streams": n}
    limit = base.budget_bytes(bpppb, cube.shape) - codec._header_size(cube, params) - T.LENGTH_BYTES * (n - 1)
    with t("byte split"):
        limits = T.share_bytes([T.top_bit_histogram(m, 1) for _, _, m, _ in quantised], limit)
    with t(f"tables+pyramid+passes ({n} streams at once)"):
        coded = T.map_slabs(n, lambda i: S._code(*quantised[i], limits[i], cfg["ac"]))
    return out, codec._pack(cube, params, T.frame([p for p, _ in coded]))


def _stages_decode_streams(codec, stream):
    """The stages of a ``speck[streams=N]`` decode: the N streams decoded at once, each through
    to its slab of the cube (dequantised, inverse transformed, converted) on its thread."""
    from hsibench.codecs import base
    from hsibench.codecs.wavelet import speck as S

    K, T = S.K, S.T
    out = {}
    t = _Timer(out)
    header, payload = base.unpack(stream)
    rows, cols, bands = header.shape
    n = T.streams_of(header.params, "streams", rows, "speck")
    slabs = T.row_slabs(rows, n)
    kind, sl, tl, ac, mean, lo, hi, exp = S._read_params(header.params, (bands, min(b - a for a, b in slabs), cols))
    layouts = S._layouts(slabs, bands, cols, kind, sl, tl)
    with t("tables"):
        parts = T.unframe(payload, n)
        tables = [S._tables(layout) for layout in layouts]
    steps = S._split_pow2(exp - K.TOP_PLANE)
    with t(f"passes+dequantise+transform+to_cube ({n} streams at once)"):
        cube = np.empty(header.shape, dtype=np.float32)
        T.map_slabs(n, lambda i: S._decode_slab(parts[i], tables[i], ac, layouts[i], steps, (mean, lo, hi),
                                                cube[slabs[i][0]:slabs[i][1]], True))
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
    streamed = codec.config["streams"] > 1
    for _ in range(args.repeat):
        enc, stream = (_stages_encode_streams if streamed else _stages_encode)(codec, cube, args.bpppb)
        dec, rec = (_stages_decode_streams if streamed else _stages_decode)(codec, stream)
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
