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
"""

from __future__ import annotations

import math

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidCubeError, InvalidParameterError, InvalidRateError
from .. import fields as F
from . import dwt as W
from ..base import Codec, Header, Param, budget_bytes, register

# numba kernels: loaded when first coding (hsibench._lazy)
B = lazy_module("hsibench.codecs._bits")
BL = lazy_module("hsibench.codecs._bits_local")
K = lazy_module("hsibench.codecs.wavelet._speck_kernels")
SC = lazy_module("hsibench.codecs.wavelet._speck_coder")
WK = lazy_module("hsibench.codecs.wavelet._dwt_kernels")

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
    revision = 1  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "3D-SPECK set partitioning on a 3-D CDF 9/7 wavelet transform, embedded, context-adaptive AC"
    embedded = True
    params = {
        **W.transform_params(),
        "ac": Param(bool, True, "arithmetic-code the decisions (false: raw bits)"),
    }

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        cfg = self.config
        shape_brc = (cube.shape[2], cube.shape[0], cube.shape[1])
        layout = W.make_layout(shape_brc, cfg["kind"], cfg["spectral_levels"], cfg["spatial_levels"])
        lo, hi = _round_out(float(cube.min()), False), _round_out(float(cube.max()), True)
        mean = float(f"{cube.mean(dtype=np.float64):.6g}")  # any offset works; a short one saves header bytes
        a = W.band_major(cube, mean)
        W.forward_inplace(a, layout)
        amax = K.max_abs(a)
        exp = None if amax == 0.0 else math.frexp(amax)[1] - 1  # floor(log2(amax))
        params = {
            "kind": layout.kind, "sl": layout.spectral_levels, "tl": layout.spatial_levels,
            "ac": bool(cfg["ac"]), "mean": _as_number(mean), "lo": _as_number(lo), "hi": _as_number(hi),
            "exp": exp,
        }
        budget = budget_bytes(bpppb, cube.shape)
        limit = budget - self._header_size(cube, params)
        if limit < 0:
            raise InvalidRateError(
                f"{bpppb:g} bpppb ({budget} bytes) cannot even hold the {budget - limit}-byte speck header "
                f"for a {cube.shape} cube"
            )
        self.info = {"spectral_levels": layout.spectral_levels, "spatial_levels": layout.spatial_levels}
        if exp is None:  # constant cube: the mean says it all
            return self._pack(cube, params, b"")
        n = a.size
        q = np.empty(n, dtype=np.int32)
        sgn = np.empty(n, dtype=np.uint8)
        msb = np.empty(n, dtype=np.int8)
        boxes = np.asarray(layout.subbands, dtype=np.int64).reshape(-1, 6)
        K.quantise(a, boxes, *_split_pow2(K.TOP_PLANE - exp), q, sgn, msb)
        del a  # the float coefficients are no longer needed: free them before coding
        payload = self._code(q, sgn, msb, layout, limit, cfg["ac"])
        return self._pack(cube, params, payload)

    def _code(self, q, sgn, msb, layout: W.Layout, limit: int, ac: bool) -> bytes:
        t = K.build_tables(layout.subbands, layout.kind)
        n = q.size
        pyr = K.build_pyramid(msb, t["sb_off"], t["sb_k"], t["lvl_dim"], t["pyr_off"], t["pyr_size"])
        buf = np.zeros(limit + 16, dtype=np.uint8)
        st = B.enc_new() if ac else B.bw_new()
        models = B.new_models(K.N_MODELS)
        sig = np.zeros(n, dtype=np.int8)
        stopped, plane, decisions, _, _, _ = SC.run(BL.mode_of(True, ac), limit, buf, models, st, msb, pyr, q, sgn, sig,
                                                    _geometry(t))
        if decisions == 0:
            return b""
        size = B.enc_finish(st, buf) if ac else B.bw_finish(st, buf)
        if size < 0 or size > limit:  # cannot happen: the kernel keeps a 2-byte margin
            raise RuntimeError(f"speck: payload of {size} bytes overran the {limit}-byte budget")
        self.info.update({"last_plane": int(plane), "complete": not stopped, "decisions": int(decisions)})
        return buf[:size].tobytes()

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        kind, sl, tl, ac, mean, lo, hi, exp = _read_params(header.params, (bands, rows, cols))
        out = np.empty((bands, rows, cols), dtype=np.float64)
        if exp is None or len(payload) == 0:
            out.fill(0.0)
        else:
            layout = W.make_layout((bands, rows, cols), kind, sl, tl)
            boxes = np.asarray(layout.subbands, dtype=np.int64).reshape(-1, 6)
            try:
                t = K.build_tables(layout.subbands, layout.kind)
            except InvalidCubeError as exc:
                raise CorruptDataError(f"the speck stream's cube cannot be coded by speck: {exc}") from None
            n = out.size
            data = np.frombuffer(payload, dtype=np.uint8).copy()  # writeable: one kernel codes both ways
            st = B.dec_new(data) if ac else B.br_new()
            models = B.new_models(K.N_MODELS)
            sig = np.zeros(n, dtype=np.int8)
            dummy8 = np.zeros(1, dtype=np.int8)
            _, _, _, m, lsp_v, lsp_m = SC.run(BL.mode_of(False, ac), 0, data, models, st, dummy8, dummy8,
                                              np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.uint8), sig, _geometry(t))
            K.scatter_lsp(lsp_v, lsp_m, m, sig, boxes, *_split_pow2(exp - K.TOP_PLANE), out)
            del lsp_v, lsp_m, sig
            W.inverse_inplace(out, layout)
        cube = np.empty(header.shape, dtype=np.float32)  # C-contiguous (rows, cols, bands), no extra copy
        WK.to_cube(out, cube, mean, lo, hi)
        return cube


def _geometry(t: dict) -> tuple:
    """The octree tables in the order :mod:`._speck_coder` takes them (one tuple)."""
    return t["sb_off"], t["sb_dim"], t["sb_k"], t["lvl_dim"], t["pyr_off"], t["lvl_count"], t["sb_ctx"], t["pk"]


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
