"""3D-SPIHT: set partitioning in hierarchical trees on a 3-D wavelet transform (codec ``spiht``).

Kim, Pearlman & Xiong (IEEE TCSVT 2000) extended Said & Pearlman's SPIHT to 3-D: the
coefficients of a 3-D wavelet transform are bit-plane coded through spatial-orientation
trees, with the lists of insignificant pixels (LIP), insignificant sets (LIS) and
significant pixels (LSP), a sorting and a refinement pass per bit plane.  The bitstream is
embedded: every prefix decodes to a coarser version of the cube, and the encoder stops at the
exact byte budget of the target rate (container header included).

Trees (built here, tabulated by :mod:`._spiht_kernels`, coded by :mod:`._spiht_coder`):

* ``kind="dyadic"``: the classical 3-D tree.  Each detail subband's coefficient has 2x2x2
  children at the same position in the same-orientation subband one level finer; each
  coefficient of the lowest subband has one child in each of the coarsest detail subbands
  (the EZW root rule, so no root is childless).  With unequal spectral/spatial level counts
  the levels that split fewer axes fan out only along the axes they split.
* ``kind="packet"`` (the default): a wavelet-packet tree in the spirit of the asymmetric
  trees of Christophe, Mailhes & Duhamel (IEEE TIP 2008).  Every spectral subband carries the
  2-D spatial tree of its own spatial decomposition (LL -> coarsest LH/HL/HH -> ... 2x2
  children), and the spatial LL coefficients of the spectral subbands are linked by the 1-D
  spectral tree (lowest band -> coarsest high band -> two positions in the next finer high
  band ...).  So a coefficient of a spectral subband's LL has its three spatial children plus
  one or two spectral children, every other coefficient its 2x2 spatial children.  While
  developing (with simpler contexts than now) this tree measured, on the four shared real
  cubes, as good as or better than the "product" tree (spectral children crossed with
  spatial children, 2x2x2) with arithmetic coding (up to +0.3 dB) and 1-4 dB better without;
  a tree descending spectrally first, a product tree with spectral and spatial levels
  aligned at the finest end, and spectral chains through the coarsest detail subbands too
  were worse or mixed.

Sizes need not be powers of two: child positions are clipped to their subband and the last
coefficient of a subband adopts the extra positions of an odd-sized child subband.

Coding: the cube mean goes to the header, magnitudes are scaled to integers below 2^30 (the
scale is a power of two stored in the header), and decisions are either coded with the
adaptive binary range coder of :mod:`._bits` (``ac=true``) or written as raw bits
(``ac=false``, the original SPIHT).  Contexts, per subband class: significance tests by the
number of significant spatial (0, 1, 2+) and spectral (0, 1, 2) neighbours, D(i) tests also by
the significance of i, L(i) tests by the number of significant children, refinements by
whether it is the first, and signs by the sign votes of the significant neighbours along
bands, rows and columns (the sign contexts alone are worth 0.2-0.8 dB on the shared cubes).
Decoded coefficients are reconstructed at the middle of their uncertainty interval and the
output is clipped to the cube's range (stored in the header).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidCubeError, InvalidParameterError, InvalidRateError
from .. import fields as F
from . import dwt
from . import tiles as T
from ..base import FLOAT32_MAX, Codec, Header, Param, budget_bytes, register, unpack

# numba kernels: loaded when first coding (hsibench._lazy)
_bits = lazy_module("hsibench.codecs._bits")
K = lazy_module("hsibench.codecs.wavelet._spiht_kernels")
KC = lazy_module("hsibench.codecs.wavelet._spiht_coder")

_MAX_VOXELS = 2**31  # list entries are int32 flat indices
_MAG_BITS = 30  # magnitudes are scaled below 2^30: int32 with room for the reconstruction
# a valid scale exponent is e = 30 - exponent(max |c|): float64 coefficients reach down to 2^-1074,
# and cubes within the float32 range (validate_cube) transform to well below 2^400 (whose
# reconstructions stay finite through the inverse transform); anything outside is corrupt or crafted
_MIN_SCALE_EXP = _MAG_BITS - 400
_MAX_SCALE_EXP = _MAG_BITS + 1074


# ------------------------------------------------------------------------------------------
# Trees
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """Subband boxes, their parent->child relations and the per-coordinate lookup tables."""

    arrays: tuple  # (zint, yint, xint, boxmap, blo, bhi, rstart, rchild, rf, bcls): see _spiht_kernels
    order: np.ndarray  # boxes, deepest first (children before parents)
    root: int  # the box whose coefficients are the roots (LIP / LIS at the start)
    ncls: int  # number of context classes
    boxes: tuple  # (z0, z1, y0, y1, x0, x1) per box id (for checks)


def _axis(n: int, levels: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """1-D Mallat intervals of an axis (low band first, then high bands coarse to fine)."""
    sizes = [n]
    for _ in range(levels):
        sizes.append((sizes[-1] + 1) // 2)
    iv = [(0, sizes[levels])] + [(sizes[levels + 1 - t], sizes[levels - t]) for t in range(1, levels + 1)]
    tab = np.empty(n, dtype=np.int8)
    for t, (lo, hi) in enumerate(iv):
        tab[lo:hi] = t
    return iv, tab


def _finish(shape, boxes, edges, root, cls, tabs, boxmap) -> Tree:
    """Pack boxes and parent->child box edges into the kernel arrays; check the tree is whole."""
    nb = len(boxes)
    blo = np.array([[b[0], b[2], b[4]] for b in boxes], dtype=np.int64).reshape(nb, 3)
    bhi = np.array([[b[1], b[3], b[5]] for b in boxes], dtype=np.int64).reshape(nb, 3)
    size = bhi - blo
    children: list[list[int]] = [[] for _ in range(nb)]
    parents = [0] * nb
    for p, c in edges:
        children[p].append(c)
        parents[c] += 1
    rstart = np.zeros(nb + 1, dtype=np.int64)
    rchild, rf = [], []
    for b in range(nb):
        for c in children[b]:
            rchild.append(c)
            # fan-out 2 where the child box is larger along the axis (the next finer level)
            rf.append([2 if size[c, d] > size[b, d] else 1 for d in range(3)])
            if size[b].min() == 0 and size[c].min() > 0:
                raise InvalidParameterError(
                    f"a {shape} cube is too small for this many wavelet levels (an empty subband has children)"
                )
        rstart[b + 1] = len(rchild)
    # every non-root box has one parent, and the root none
    for b in range(nb):
        want = 0 if b == root else 1
        if parents[b] != want:
            raise AssertionError(f"spiht tree: box {b} has {parents[b]} parents")
    depth = [-1] * nb
    depth[root] = 0
    frontier = [root]
    while frontier:
        nxt = []
        for b in frontier:
            for c in children[b]:
                depth[c] = depth[b] + 1
                nxt.append(c)
        frontier = nxt
    if min(depth) < 0:
        raise AssertionError("spiht tree: unreachable subband")
    order = np.array(sorted(range(nb), key=lambda b: -depth[b]), dtype=np.int64)
    bcls = np.asarray(cls, dtype=np.int64)
    if bcls.max() > 255:  # the kernels keep one uint8 class per coefficient
        raise InvalidParameterError(f"too many wavelet levels for spiht's context classes ({bcls.max() + 1} > 256)")
    arrays = (
        tabs[0],
        tabs[1],
        tabs[2],
        boxmap.astype(np.int16),
        blo,
        bhi,
        rstart,
        np.asarray(rchild, dtype=np.int64),
        np.asarray(rf, dtype=np.int64).reshape(-1, 3),
        bcls,
    )
    return Tree(arrays, order, root, int(bcls.max()) + 1, tuple(tuple(int(v) for v in b) for b in boxes))


def packet_tree(shape_brc, spectral_levels: int, spatial_levels: int) -> Tree:
    """The wavelet-packet tree: a 2-D spatial tree in every spectral subband, their LL
    coefficients linked by the 1-D spectral tree (see the module docstring)."""
    nz, ny, nx = shape_brc
    L, S = spectral_levels, spatial_levels
    ziv, ztab = _axis(nz, L)
    yiv, ytab = _axis(ny, S)
    xiv, xtab = _axis(nx, S)
    # spatial boxes: 0 = LL, then 1 + 3 (t - 1) + o at depth t = 1 (coarsest) .. S, o = LH, HL, HH
    ns = 1 + 3 * S
    sp = [(yiv[0], xiv[0], 0)]
    for t in range(1, S + 1):
        ylo, yhi = (0, yiv[t][0]), yiv[t]  # low / high part of the level S + 1 - t split
        xlo, xhi = (0, xiv[t][0]), xiv[t]
        sp += [(yhi, xlo, t), (ylo, xhi, t), (yhi, xhi, t)]
    sp_children = [[1, 2, 3] if S > 0 else []] + [
        [1 + 3 * t + o] if t < S else [] for t in range(1, S + 1) for o in range(3)
    ]
    spmap = np.zeros((S + 1, S + 1), dtype=np.int64)
    for ty in range(S + 1):
        for tx in range(S + 1):
            t = max(ty, tx)
            spmap[ty, tx] = 0 if t == 0 else 1 + 3 * (t - 1) + (0 if tx < t else (1 if ty < t else 2))
    boxes, cls, edges = [], [], []
    for tz in range(L + 1):
        z0, z1 = ziv[tz]
        for sid, ((y0, y1), (x0, x1), t) in enumerate(sp):
            boxes.append((z0, z1, y0, y1, x0, x1))
            cls.append(tz * (S + 1) + t)
    for tz in range(L + 1):
        zc = tz + 1 if tz < L else None
        for sid in range(ns):
            b = tz * ns + sid
            for c in sp_children[sid]:  # the spatial tree inside the spectral subband
                edges.append((b, tz * ns + c))
            if sid == 0 and zc is not None:  # LL links the spectral subbands
                edges.append((b, zc * ns))
    boxmap = np.zeros((L + 1, S + 1, S + 1), dtype=np.int64)
    for tz in range(L + 1):
        boxmap[tz] = tz * ns + spmap
    return _finish(shape_brc, boxes, edges, 0, cls, (ztab, ytab, xtab), boxmap)


def dyadic_tree(shape_brc, spectral_levels: int, spatial_levels: int) -> Tree:
    """The 3-D dyadic tree (levels that split only some axes fan out only along those)."""
    nz, ny, nx = shape_brc
    L, S = spectral_levels, spatial_levels
    J = max(L, S)
    ziv, ztab = _axis(nz, L)
    yiv, ytab = _axis(ny, S)
    xiv, xtab = _axis(nx, S)
    ivs = (ziv, yiv, xiv)
    counts = (L, S, S)

    def split(j):  # axes transformed at level j (1 = finest)
        return [d for d in range(3) if j <= counts[d]]

    boxes = [(ziv[0][0], ziv[0][1], yiv[0][0], yiv[0][1], xiv[0][0], xiv[0][1])]
    cls = [0]
    ids: dict[tuple[int, int], int] = {}
    for j in range(J, 0, -1):  # coarsest level first
        ax = split(j)
        for m in range(1, 8):
            if any((m >> d) & 1 and d not in ax for d in range(3)):
                continue
            ext = []
            for d in range(3):
                iv = ivs[d]
                t = counts[d] + 1 - j  # interval index of the high band of level j on axis d
                if (m >> d) & 1:
                    ext.append(iv[t])
                elif j <= counts[d]:
                    ext.append((0, iv[t][0]))  # the low part of level j
                else:
                    ext.append((0, iv[0][1]))  # axis not split at this level: the whole low band
            ids[(j, m)] = len(boxes)
            boxes.append((ext[0][0], ext[0][1], ext[1][0], ext[1][1], ext[2][0], ext[2][1]))
            cls.append(1 + 3 * (J - j) + bin(m).count("1") - 1)
    edges = []
    for (j, m), b in ids.items():
        if (j + 1, m) in ids:
            edges.append((ids[(j + 1, m)], b))
        else:
            edges.append((0, b))
    boxmap = np.zeros((L + 1, S + 1, S + 1), dtype=np.int64)
    for tz in range(L + 1):
        for ty in range(S + 1):
            for tx in range(S + 1):
                # the level of each interval index, 0 for the low band
                lv = [counts[d] + 1 - t if t > 0 else 0 for d, t in enumerate((tz, ty, tx))]
                j = min([v for v in lv if v > 0], default=0)
                if j == 0:
                    boxmap[tz, ty, tx] = 0
                    continue
                m = sum(1 << d for d in range(3) if lv[d] == j)
                boxmap[tz, ty, tx] = ids[(j, m)]
    return _finish(shape_brc, boxes, edges, 0, cls, (ztab, ytab, xtab), boxmap)


def build_tree(shape_brc, kind: str, spectral_levels: int, spatial_levels: int) -> Tree:
    """The SPIHT tree of a ``(bands, rows, cols)`` coefficient array of the given decomposition."""
    make = packet_tree if kind == "packet" else dyadic_tree
    return make(tuple(int(s) for s in shape_brc), int(spectral_levels), int(spatial_levels))


# ------------------------------------------------------------------------------------------
# The codec
# ------------------------------------------------------------------------------------------


def _read_params(p) -> tuple:
    """The header parameters, type- and range-checked: (kind, sl, tl, ac, e, top, mean, lo, hi)."""
    kind = F.read_choice(p, "k", "spiht", dwt.KINDS)
    sl, tl = F.read_list(p, "l", "spiht", 2, F.is_int, "integer level counts")
    ac = F.read_choice(p, "ac", "spiht", (0, 1))
    e = F.read_int(p, "e", "spiht", _MIN_SCALE_EXP, _MAX_SCALE_EXP)
    top = F.read_int(p, "t", "spiht", -1, _MAG_BITS - 1)
    mean = F.read_number(p, "m", "spiht")
    lo, hi = F.read_range(*F.read_list(p, "r", "spiht", 2, F.is_value, "numbers (the value range)"), "spiht")
    return kind, sl, tl, bool(ac), e, top, mean, lo, hi


def _offset_and_range(x: np.ndarray) -> tuple[float | int, float | int, float | int]:
    """Header numbers: the mean (6 significant digits: any offset works, short is cheaper) and
    the clipping range (exact; integers for integer data, so the JSON stays short)."""
    lo, hi = float(x.min()), float(x.max())
    mean = float(f"{float(x.mean(dtype=np.float64)):.6g}")
    if lo.is_integer() and hi.is_integer() and abs(lo) < 2**53 and abs(hi) < 2**53:
        lo, hi = int(lo), int(hi)
    if mean.is_integer() and abs(mean) < 2**53:
        mean = int(mean)
    return mean, lo, hi


@register
class SPIHT(Codec):
    """3D-SPIHT on a packet or dyadic CDF 9/7 transform, embedded, with or without arithmetic coding."""

    name = "spiht"
    revision = 1  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "3D-SPIHT (Kim, Pearlman & Xiong) on a 3-D CDF 9/7 wavelet transform, embedded"
    embedded = True
    params = {
        **dwt.transform_params(),
        "ac": Param(bool, True, "context-adaptive arithmetic coding of the decisions (false: raw bits)"),
        "streams": T.streams_param(),
    }

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        cfg = self.config
        rows, cols, bands = cube.shape
        if cube.size >= _MAX_VOXELS:
            raise InvalidCubeError(f"spiht codes cubes of fewer than 2^31 voxels; this one has {cube.size}")
        slabs = T.row_slabs(rows, min(cfg["streams"], rows))
        n = len(slabs)
        sl, tl = dwt.choose_levels((bands, min(b - a for a, b in slabs), cols), cfg["kind"], cfg["spectral_levels"],
                                   cfg["spatial_levels"])  # levels every slab can take
        layouts = [dwt.make_layout((bands, b - a, cols), cfg["kind"], sl, tl) for a, b in slabs]
        coeffs = [dwt.band_major(cube[a:b]) for a, b in slabs]  # band-major work arrays, transformed in place
        # the mean goes to the header (the DC would otherwise spend the top bit planes), and the
        # decoder clips to the cube's range: both cost a few header bytes and help at low rates
        mean, lo, hi = _offset_and_range(coeffs[0] if n == 1 else cube)
        for a, layout in zip(coeffs, layouts):
            a -= mean
            dwt.forward_inplace(a, layout)
        top_abs = max(max(float(a.max()), -float(a.min())) for a in coeffs)
        scale_exp = _MAG_BITS - math.frexp(top_abs)[1] if top_abs > 0.0 else 0  # |c| * 2^e < 2^30
        quantised = []
        for i in range(n):
            flat, coeffs[i] = coeffs[i].reshape(-1), None
            quantised.append(_quantise(flat, scale_exp, top_abs > 0.0))
            del flat
        top = max(int(mb.max()) for _, _, mb in quantised) - 1
        # short keys: the header counts toward the rate (describe_stream spells them out)
        params = {
            "k": cfg["kind"],
            "l": [sl, tl],
            "ac": int(bool(cfg["ac"])),
            "e": int(scale_exp),
            "t": int(top),
            "m": mean,
            "r": [lo, hi],
        }
        if n > 1:
            params["s"] = n
        budget = budget_bytes(bpppb, cube.shape)
        limit = budget - self._header_size(cube, params) - T.LENGTH_BYTES * (n - 1)
        if limit < 0:
            raise InvalidRateError(
                f"{bpppb:g} bpppb ({budget} bytes) cannot hold even the {budget - limit}-byte spiht header"
            )
        limits = T.share_bytes([T.top_bit_histogram(mb, 0) for _, _, mb in quantised], limit) if n > 1 else [limit]
        trees = [build_tree(layout.shape, layout.kind, sl, tl) for layout in layouts]
        coded = T.map_slabs(n, lambda i: _code(*quantised[i], trees[i], layouts[i].shape, top, limits[i], cfg["ac"]))
        self.info = {"kind": cfg["kind"], "spectral_levels": sl, "spatial_levels": tl, "bit_planes": top + 1,
                     "truncated": any(info["truncated"] for _, info in coded)}
        if n == 1:
            self.info.update(coded[0][1])
            return self._pack(cube, params, coded[0][0])
        self.info.update({"streams": n, "stream_bytes": [len(p) for p, _ in coded]})
        return self._pack(cube, params, T.frame([p for p, _ in coded]))

    def describe_stream(self, data: bytes) -> dict:
        """The stream's parameters under their long names."""
        header = unpack(data)[0]
        kind, sl, tl, ac, e, top, mean, lo, hi = _read_params(header.params)
        return {"kind": kind, "spectral_levels": sl, "spatial_levels": tl, "ac": ac, "scale_exp": e,
                "bit_planes": top + 1, "mean": mean, "min": lo, "max": hi,
                "streams": T.streams_of(header.params, "s", header.shape[0], "spiht")}

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        kind, sl, tl, ac, e, top, mean, lo, hi = _read_params(header.params)
        if bands * rows * cols >= _MAX_VOXELS:
            raise CorruptDataError(f"spiht stream announces a {header.shape} cube, larger than spiht codes (< 2^31 voxels)")
        n = T.streams_of(header.params, "s", rows, "spiht")
        slabs = T.row_slabs(rows, n)
        try:
            layouts = [dwt.make_layout((bands, b - a, cols), kind, sl, tl) for a, b in slabs]
            trees = [build_tree(layout.shape, kind, sl, tl) for layout in layouts]
        except InvalidParameterError as exc:
            raise CorruptDataError(f"spiht stream header has invalid wavelet levels: {exc}") from None
        parts = T.unframe(payload, n) if n > 1 else [payload]
        in_float32 = max(abs(lo), abs(hi)) <= FLOAT32_MAX
        out = np.empty(header.shape, dtype=np.float32 if in_float32 else np.float64)
        T.map_slabs(n, lambda i: _decode_slab(parts[i], trees[i], layouts[i], top, ac, e, (mean, lo, hi),
                                              out[slabs[i][0]:slabs[i][1]], n > 1))
        return out

    def _truncate_payload(self, header: Header, payload: bytes, keep: int) -> bytes:
        """A multi-stream payload is cut stream by stream, each to the same fraction (:mod:`.tiles`)."""
        return T.truncate_payload(payload, T.streams_of(header.params, "s", header.shape[0], "spiht"), keep, "spiht")


def _quantise(flat: np.ndarray, scale_exp: int, nonzero: bool) -> tuple:
    """Magnitudes scaled by 2^scale_exp (int32), signs (1 = negative) and bit lengths of one slab."""
    nn = flat.size
    mag = np.empty(nn, dtype=np.int32)
    neg = np.empty(nn, dtype=np.uint8)
    mb = np.empty(nn, dtype=np.int8)  # bit length of each magnitude
    if nonzero:
        if scale_exp > 1000:  # subnormal-sized data: 2^e itself would overflow, scale in two steps
            flat *= math.ldexp(1.0, scale_exp - 1000)
        K.quantise(flat, math.ldexp(1.0, min(scale_exp, 1000)), mag, neg, mb)
    else:
        mag.fill(0)
        neg.fill(0)
        mb.fill(0)
    return mag, neg, mb


def _code(mag, neg, mb, tree: Tree, shape: tuple, top: int, limit: int, ac: bool) -> tuple[bytes, dict]:
    """One slab's embedded stream of ``limit`` bytes at most, and what its coding counted."""
    nz, ny, nx = shape
    nn = mag.size
    dbits = np.empty(nn, dtype=np.int8)
    lbits = np.empty(nn, dtype=np.int8)
    kind = np.empty(nn, dtype=np.int8)
    ccls = np.empty(nn, dtype=np.uint8)
    K.structure(tree.arrays, tree.order, nz, ny, nx, mb, dbits, lbits, kind, ccls, True)
    lp = np.full(nn, -1, dtype=np.int8)
    buf = np.zeros(limit + 16, dtype=np.uint8)
    models = _bits.new_models(K.CTX_PER_CLASS * tree.ncls)
    stats = np.zeros(16, dtype=np.int64)
    if ac:
        mode, state = K.MODE_ENC_AC, _bits.enc_new()
    else:
        mode, state = K.MODE_ENC_RAW, _bits.bw_new()
    cut = KC.run(mode, tree.arrays, nz, ny, nx, tree.root, mag, mb, neg, lp, dbits, lbits, kind, ccls, top, limit,
                 state, buf, models, tree.ncls, stats)
    n = _bits.enc_finish(state, buf) if ac else _bits.bw_finish(state, buf)
    if n < 0 or n > limit:  # nothing fitted (a budget smaller than the coder's flush)
        n, cut = 0, True
    # The decoder applies the encoder's room checks to the payload length: a cut stream is
    # padded to the budget so both stop at the same decision, a complete one by the largest
    # room a decision asks (3 bytes AC, a byte raw) so its last decisions pass the checks.
    pad = limit if cut else min(limit, n + (3 if ac else 1))
    info = {
        "truncated": bool(cut),
        "decisions": dict(zip(("lip", "child", "set_d", "set_l", "refine", "sign"), map(int, stats[:6]))),
        "ones": dict(zip(("lip", "child", "set_d", "set_l", "refine"), map(int, stats[8:13]))),
    }
    return buf[:n].tobytes() + bytes(pad - n), info


def _decode_slab(payload: bytes, tree: Tree, layout: dwt.Layout, top: int, ac: bool, e: int, shift: tuple,
                 out: np.ndarray, serial: bool) -> None:
    """Decode one slab's stream into its rows ``out`` of the cube: coefficients, inverse transform,
    ``shift = (mean, lo, hi)``.  ``serial``: every stage on this thread alone, without the GIL
    (one of several slabs decoded at once, each through to the cube)."""
    mag, neg, lp = _decode_stream(payload, tree, layout.shape, top, ac)
    flat = np.empty(mag.size, dtype=np.float64)
    scale = math.ldexp(1.0, -min(e, 1000))
    impl = "serial" if serial else "numba"
    if serial:
        K.reconstruct_span(mag, neg, lp, scale, flat, 0, mag.size)
    else:
        K.reconstruct(mag, neg, lp, scale, flat)
    if e > 1000:
        flat *= math.ldexp(1.0, 1000 - e)
    del mag, neg, lp
    x = flat.reshape(layout.shape)
    dwt.inverse_inplace(x, layout, impl=impl)
    mean, lo, hi = (float(v) for v in shift)
    if out.dtype == np.float32:  # clip(x + mean) to float32 in one tiled pass; the range keeps every value finite
        dwt.to_cube(x, out, mean, lo, hi, impl=impl)
    else:  # a crafted range beyond float32: as_output clips what would overflow
        x += mean
        np.clip(x, lo, hi, out=x)
        out[...] = np.moveaxis(x, 0, 2)


def _decode_stream(payload: bytes, tree: Tree, shape: tuple, top: int, ac: bool) -> tuple:
    """One slab's decoded magnitudes, signs and last planes (for :func:`._spiht_kernels.reconstruct`)."""
    nz, ny, nx = shape
    nn = nz * ny * nx
    kinds = np.empty(nn, dtype=np.int8)
    dummy = np.zeros(1, dtype=np.int8)
    ccls = np.empty(nn, dtype=np.uint8)
    K.structure(tree.arrays, tree.order, nz, ny, nx, dummy, dummy, dummy, kinds, ccls, False)
    mag = np.zeros(nn, dtype=np.int32)
    neg = np.zeros(nn, dtype=np.uint8)
    lp = np.full(nn, -1, dtype=np.int8)
    data = np.frombuffer(payload, dtype=np.uint8).copy()  # writable: one kernel serves both directions
    models = _bits.new_models(K.CTX_PER_CLASS * tree.ncls)
    if ac:
        mode, state = K.MODE_DEC_AC, _bits.dec_new(data)
    else:
        mode, state = K.MODE_DEC_RAW, _bits.br_new()
    KC.run(mode, tree.arrays, nz, ny, nx, tree.root, mag, dummy, neg, lp, dummy, dummy, kinds, ccls, top,
           len(data), state, data, models, tree.ncls, np.zeros(16, dtype=np.int64))
    return mag, neg, lp
