"""3D-SPECK: embedded set-partitioning coding of a 3-D wavelet transform (Tang & Pearlman).

Encode: subtract the cube mean, 3-D CDF 9/7 transform (:mod:`.dwt`, packet by default),
scale the magnitudes so the largest lies in ``[2**30, 2**31)`` and code them bit plane by bit
plane with the octree set partitioning of :mod:`._speck_kernels`, every decision through an
adaptive-context range coder (``ac=true``) or as raw bits (``ac=false``).  Decode mirrors the
decisions and reconstructs every coefficient at the midpoint of its uncertainty interval.

Octave-band partitioning: every subband of the layout is an initial set of the LIS, in the
layout's order (lowest/coarsest first), and sets are processed smallest first.  This is how
3D-SPECK treats a wavelet-packet decomposition, where the 2-D "I set" construction does not
apply; the cost is one decision per subband per plane while the subband is insignificant.

Rate control and truncation: the encoder stops at the last decision that keeps the *whole
container* within the target's byte budget (it lands within 2 bytes of it), so one pass hits
any rate.  The stream is *embedded*: ``hsibench.codecs.truncate(data, nbytes)`` rewrites the
header for a prefix of the payload, and that prefix decodes to the cube at the lower rate (the
decoder stops when its input runs out; decisions read from real bytes are the encoder's).
Cutting the raw bytes instead is *rejected*: the container's header announces the payload size
and a CRC, so an accidental truncation or corruption raises ``CorruptDataError`` rather than
silently decoding to a worse cube.

Parallel coding (``streams=N``, default 1): N slabs of rows are coded as N independent embedded
streams (:mod:`.tiles`), on N threads, and decoded the same way.  The slabs share the cube's
mean, clipping range and quantiser step; the byte budget is split before coding by a model of
the embedded order (:func:`.tiles.share_bytes`).  The bytes depend on N (the header says it; a
stream decodes on any number of threads), and truncation cuts every stream to the same fraction.
"""

from __future__ import annotations

import math

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidParameterError, InvalidRateError
from .. import fields as F
from . import dwt as W
from . import tiles as T
from ..base import Codec, Header, Param, budget_bytes, register

# numba kernels: loaded when first coding (hsibench._lazy)
B = lazy_module("hsibench.codecs._bits")
BL = lazy_module("hsibench.codecs._bits_local")
K = lazy_module("hsibench.codecs.wavelet._speck_kernels")
SC = lazy_module("hsibench.codecs.wavelet._speck_coder")

# bounds on the stored scale exponent floor(log2(max |coefficient|)): float64 coefficients reach down to
# 2**-1074; cubes within the float32 range (validate_cube) transform to well below 2**400, and
# reconstructions up to 2**400 stay finite through the inverse transform
_MIN_EXP, _MAX_EXP = -1100, 400


def _as_number(v):
    """A JSON-exact number: int when integral and small, else float."""
    f = float(v)
    if f.is_integer() and abs(f) < 2**53:
        return int(f)
    return f


def _split_pow2(e: int) -> tuple[float, float]:
    """2**e as two float64 factors, so that e may lie outside the float64 exponent range."""
    h = e // 2
    return math.ldexp(1.0, h), math.ldexp(1.0, e - h)


def _round_out(v: float, up: bool) -> float:
    """``v`` rounded to 6 significant digits away from the data (a short, safe clipping bound)."""
    if v == 0.0 or not math.isfinite(v):
        return v
    step = 10.0 ** (math.floor(math.log10(abs(v))) - 5)
    r = float(f"{v:.6g}")
    while (up and r < v) or (not up and r > v):
        r = float(f"{(r + step) if up else (r - step):.6g}")
    return r


@register
class Speck(Codec):
    """3D-SPECK on a CDF 9/7 wavelet-packet (or dyadic) transform; embedded, arithmetic-coded."""

    name = "speck"
    revision = 2  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "3D-SPECK set partitioning on a 3-D CDF 9/7 wavelet transform, embedded, context-adaptive AC"
    embedded = True
    params = {
        **W.transform_params(),
        "ac": Param(bool, True, "arithmetic-code the decisions (false: raw bits)"),
        "streams": T.streams_param(),
    }

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        cfg = self.config
        rows, cols, bands = cube.shape
        slabs = T.row_slabs(rows, min(cfg["streams"], rows))
        n = len(slabs)
        sl, tl = W.choose_levels((bands, min(b - a for a, b in slabs), cols), cfg["kind"], cfg["spectral_levels"],
                                 cfg["spatial_levels"])  # levels every slab can take
        layouts = _layouts(slabs, bands, cols, cfg["kind"], sl, tl)
        lo, hi = _round_out(float(cube.min()), False), _round_out(float(cube.max()), True)
        mean = float(f"{cube.mean(dtype=np.float64):.6g}")  # any offset works; a short one saves header bytes
        coeffs = []
        for (a, b), layout in zip(slabs, layouts):
            coeffs.append(W.band_major(cube[a:b], mean))
            W.forward_inplace(coeffs[-1], layout)
        amax = max(K.max_abs(c) for c in coeffs)
        exp = None if amax == 0.0 else math.frexp(amax)[1] - 1  # floor(log2(amax))
        params = {
            "kind": cfg["kind"], "sl": sl, "tl": tl,
            "ac": bool(cfg["ac"]), "mean": _as_number(mean), "lo": _as_number(lo), "hi": _as_number(hi),
            "exp": exp,
        }
        if n > 1:
            params["streams"] = n
        budget = budget_bytes(bpppb, cube.shape)
        limit = budget - self._header_size(cube, params) - T.LENGTH_BYTES * (n - 1)
        if limit < 0:
            raise InvalidRateError(
                f"{bpppb:g} bpppb ({budget} bytes) cannot even hold the {budget - limit}-byte speck header "
                f"for a {cube.shape} cube"
            )
        self.info = {"spectral_levels": sl, "spatial_levels": tl}
        if exp is None:  # constant cube: the mean says it all
            return self._pack(cube, params, b"")
        quantised = []
        for i, layout in enumerate(layouts):
            a, coeffs[i] = coeffs[i], None  # free each slab's float coefficients once quantised
            q = np.empty(a.size, dtype=np.int32)
            sgn = np.empty(a.size, dtype=np.uint8)
            msb = np.empty(a.size, dtype=np.int8)
            K.quantise(a, _boxes(layout), *_split_pow2(K.TOP_PLANE - exp), q, sgn, msb)
            quantised.append((q, sgn, msb, layout))
            del a
        limits = T.share_bytes([T.top_bit_histogram(m, 1) for _, _, m, _ in quantised], limit) if n > 1 else [limit]
        coded = T.map_slabs(n, lambda i: _code(*quantised[i], limits[i], cfg["ac"]))
        if n == 1:
            self.info.update(coded[0][1])
            return self._pack(cube, params, coded[0][0])
        self.info.update({"streams": n, "stream_bytes": [len(p) for p, _ in coded],
                          "complete": all(i.get("complete", True) for _, i in coded)})
        return self._pack(cube, params, T.frame([p for p, _ in coded]))

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        n = T.streams_of(header.params, "streams", rows, "speck")
        slabs = T.row_slabs(rows, n)
        kind, sl, tl, ac, mean, lo, hi, exp = _read_params(header.params, (bands, min(b - a for a, b in slabs), cols))
        parts = T.unframe(payload, n) if n > 1 else [payload]
        if exp is None:
            parts = [b""] * n
        layouts = _layouts(slabs, bands, cols, kind, sl, tl)
        tables = [_tables(layout) if len(part) else None for part, layout in zip(parts, layouts)]
        steps = _split_pow2(exp - K.TOP_PLANE) if exp is not None else (0.0, 0.0)
        cube = np.empty(header.shape, dtype=np.float32)  # C-contiguous (rows, cols, bands), no extra copy
        T.map_slabs(n, lambda i: _decode_slab(parts[i], tables[i], ac, layouts[i], steps, (mean, lo, hi),
                                              cube[slabs[i][0]:slabs[i][1]], n > 1))
        return cube

    def _truncate_payload(self, header: Header, payload: bytes, keep: int) -> bytes:
        """A multi-stream payload is cut stream by stream, each to the same fraction (:mod:`.tiles`)."""
        return T.truncate_payload(payload, T.streams_of(header.params, "streams", header.shape[0], "speck"), keep,
                                  "speck")


def _layouts(slabs: list[tuple[int, int]], bands: int, cols: int, kind: str, sl: int, tl: int) -> list[W.Layout]:
    """The wavelet layout of every slab (all with the same levels)."""
    return [W.make_layout((bands, b - a, cols), kind, sl, tl) for a, b in slabs]


def _tables(layout: W.Layout) -> dict:
    """The octree tables of a slab."""
    return K.build_tables(layout.subbands, layout.kind)


def _boxes(layout: W.Layout) -> np.ndarray:
    """The layout's subband boxes as the (n, 6) int64 array the kernels take."""
    return np.asarray(layout.subbands, dtype=np.int64).reshape(-1, 6)


def _code(q, sgn, msb, layout: W.Layout, limit: int, ac: bool) -> tuple[bytes, dict]:
    """One slab's embedded stream of at most ``limit`` bytes, and what its coding measured."""
    t = _tables(layout)
    pyr = K.build_pyramid(msb, t["sb_off"], t["sb_k"], t["lvl_dim"], t["pyr_off"], t["pyr_size"])
    buf = np.zeros(limit + 16, dtype=np.uint8)
    st = B.enc_new() if ac else B.bw_new()
    models = B.new_models(K.N_MODELS)
    geo = _geometry(t)
    stopped, plane, decisions, _ = SC.run(BL.mode_of(True, ac), limit, buf, models, st, msb, pyr, q, sgn, geo,
                                          *SC.workspace(geo, q.size, False))
    if decisions == 0:
        return b"", {}
    size = B.enc_finish(st, buf) if ac else B.bw_finish(st, buf)
    if size < 0 or size > limit:  # cannot happen: the kernel keeps a 2-byte margin
        raise RuntimeError(f"speck: payload of {size} bytes overran the {limit}-byte budget")
    return buf[:size].tobytes(), {"last_plane": int(plane), "complete": not stopped, "decisions": int(decisions)}


def _decode_slab(payload: bytes, t: dict | None, ac: bool, layout: W.Layout, steps: tuple, shift: tuple,
                 out: np.ndarray, serial: bool) -> None:
    """Decode one embedded stream into its slab ``out`` of the cube: the coefficients (zeros for
    an empty stream), the inverse transform, then ``shift = (mean, lo, hi)`` and float32.
    ``serial``: every stage on this thread alone, without the GIL (one of several slabs decoded
    at once, each through to the cube, so that no thread waits for the others between stages)."""
    impl = "serial" if serial else "numba"
    coeffs = np.zeros(layout.shape, dtype=np.float64)  # numpy: huge pages (:func:`._speck_coder.workspace`)
    if len(payload):
        data = np.frombuffer(payload, dtype=np.uint8).copy()  # writeable: one kernel codes both ways
        st = B.dec_new(data) if ac else B.br_new()
        dummy8 = np.zeros(1, dtype=np.int8)
        geo = _geometry(t)
        work = SC.workspace(geo, coeffs.size, True)
        m = SC.run(BL.mode_of(False, ac), 0, data, B.new_models(K.N_MODELS), st, dummy8, dummy8,
                   np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.uint8), geo, *work)[3]
        (K.scatter_lsp_serial if serial else K.scatter_lsp)(work[1], work[2], m, *steps, coeffs.reshape(-1))
        del work
        W.inverse_inplace(coeffs, layout, impl=impl)
    W.to_cube(coeffs, out, *shift, impl=impl)


def _geometry(t: dict) -> tuple:
    """The octree tables in the order :mod:`._speck_coder` takes them (one tuple)."""
    return t["sb_off"], t["sb_dim"], t["sb_k"], t["lvl_dim"], t["pyr_off"], t["lvl_count"], t["sb_ctx"], t["sb_at"]


def _read_params(p: dict, shape_brc):
    """Validate what the header says before any of it reaches a kernel."""
    kind = F.read_choice(p, "kind", "speck", W.KINDS)
    sl, tl = F.read_int(p, "sl", "speck", 0, 64), F.read_int(p, "tl", "speck", 0, 64)
    ac = F.read_choice(p, "ac", "speck", (True, False))
    mean, lo, hi = (F.read_number(p, k, "speck") for k in ("mean", "lo", "hi"))
    exp = None if p.get("exp", 0) is None else F.read_int(p, "exp", "speck", _MIN_EXP, _MAX_EXP)
    try:
        W.choose_levels(shape_brc, kind, sl, tl)
    except InvalidParameterError as exc:
        raise CorruptDataError(f"the speck header's levels do not fit the cube: {exc}") from None
    F.read_range(lo, hi, "speck")
    return kind, sl, tl, ac, float(mean), float(lo), float(hi), exp
