"""Numba kernels of 3D-SPECK around the coder: geometry tables, quantisation, max-msb pyramids.

The passes themselves are in :mod:`._speck_coder`, their models in :mod:`._speck_contexts`.

Coefficients are handled in **subband-major order**: subband ``s`` (a box of the wavelet
layout) occupies ``sb_off[s] : sb_off[s+1]`` of the flat arrays, in C order inside its box.

Sets.  Each subband is the root of an octree of boxes.  Along an axis of length ``d`` the tree
has ``K = ceil(log2 d)`` levels; a node at level ``k`` covers ``2**min(k, K)`` samples of that
axis (clipped to ``d``), so splitting a level-``k`` node halves every axis that still can be
halved: 8 children in general (octants), 4 or 2 near the top of elongated subbands, one
single coefficient at level 0.  Aligning the sets to powers of two lets a *max-msb pyramid*
answer every significance test in O(1) (``pyr[pyr_off[s, k] + node]`` is the highest bit
plane present in the node; nodes of a level in C order of their coordinates).  The coder's LIS
is one byte per node in the same layout (:func:`._speck_coder.workspace`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import _bits as B
from ._speck_coder import TOP_PLANE  # noqa: F401  (re-exported: the scale of the quantiser)
from ._speck_contexts import N_MODELS  # noqa: F401  (re-exported for the codec)


# ------------------------------------------------------------------------------------------
# Tables: subband geometry and octree levels
# ------------------------------------------------------------------------------------------


def _ceil_log2(d: int) -> int:
    return max(int(d) - 1, 0).bit_length()


def _as_tuples(boxes) -> list[tuple[int, ...]]:
    """The boxes as tuples of Python ints: the table builders below index them thousands of
    times, which costs ~20x more on numpy rows and scalars."""
    if isinstance(boxes, list) and all(type(b) is tuple and all(type(v) is int for v in b) for b in boxes):
        return boxes
    return [tuple(int(v) for v in b) for b in boxes]


def parent_subbands(boxes, kind: str) -> np.ndarray:
    """Index of each subband's *parent* (-1 for none): the next coarser subband that describes
    the same place.  Packet: the same spatial subband one spectral level coarser, and in the
    lowest spectral band the same orientation one spatial level coarser; dyadic: the same
    orientation one level coarser.  (The subband holding the box start halved.)"""
    boxes = _as_tuples(boxes)
    par = [-1] * len(boxes)
    for i, b in enumerate(boxes):
        if kind == "packet":
            p = (b[0] // 2, b[2], b[4]) if b[0] > 0 else (0, b[2] // 2, b[4] // 2)
        else:
            p = (b[0] // 2, b[2] // 2, b[4] // 2)
        for j, c in enumerate(boxes):
            if j != i and c[0] <= p[0] < c[1] and c[2] <= p[1] < c[3] and c[4] <= p[2] < c[5]:
                par[i] = j
                break
    return np.array(par, dtype=np.int64)


def sign_classes(boxes) -> np.ndarray:
    """Sign-context class of each subband: spectral position (rank of its first band, up to 5)
    x spatially low or high: 12 classes."""
    boxes = _as_tuples(boxes)
    z_starts = sorted({b[0] for b in boxes})
    return np.array([min(z_starts.index(b[0]), 5) * 2 + (1 if (b[2] > 0 or b[4] > 0) else 0) for b in boxes],
                    dtype=np.int64)


def _context_table(boxes, dims, kind, cls) -> np.ndarray:
    """Per subband: class, parent, sign class, and the shifts (0 or 1) that map a coefficient's
    (z, y, x) to its parent's (the parent is as long or about half as long on each axis)."""
    par = parent_subbands(boxes, kind)
    d = dims.tolist()
    shifts = [[1 if d[p][a] < d[i][a] else 0 for a in range(3)] if p >= 0 else [0, 0, 0]
              for i, p in enumerate(par.tolist())]
    return np.column_stack([cls, par, sign_classes(boxes), np.array(shifts, dtype=np.int64).reshape(-1, 3)]
                           ).astype(np.int64)


def build_tables(boxes, kind: str = "packet") -> dict:
    """Geometry tables of the octrees over the subbands ``boxes`` (z0, z1, y0, y1, x0, x1).

    Built with Python ints and lists, then converted (a few hundred table entries: numpy
    element access would make this a noticeable share of a small cube's coding time)."""
    boxes = _as_tuples(boxes)
    nsb = len(boxes)
    dl = [(b[1] - b[0], b[3] - b[2], b[5] - b[4]) for b in boxes]
    dims = np.array(dl, dtype=np.int64).reshape(-1, 3)
    sb_off = np.zeros(nsb + 1, dtype=np.int64)
    sb_off[1:] = np.cumsum([dz * dy * dx for dz, dy, dx in dl])
    kl = [[_ceil_log2(d) for d in dd] for dd in dl]
    sb_k = np.array([k + [max(k)] for k in kl], dtype=np.int64).reshape(-1, 4)
    kmax = max((max(k) for k in kl), default=0)
    lvl_dim = [[[1, 1, 1] for _ in range(kmax + 1)] for _ in range(nsb)]
    pyr_off = [[-1] * (kmax + 1) for _ in range(nsb)]
    lvl_count = [0] * (kmax + 1)
    total = 0
    for s in range(nsb):
        for k in range(max(kl[s]) + 1):
            ld = [-(-dl[s][a] // (1 << min(k, kl[s][a]))) for a in range(3)]
            lvl_dim[s][k] = ld
            cnt = ld[0] * ld[1] * ld[2]
            lvl_count[k] += cnt
            if k >= 1:
                pyr_off[s][k] = total
                total += cnt
    cls = np.array([(2 if b[0] > 0 else 0) + (1 if (b[2] > 0 or b[4] > 0) else 0) for b in boxes], dtype=np.int64)
    rows, cols = max((b[3] for b in boxes), default=0), max((b[5] for b in boxes), default=0)
    sb_at = np.array([((b[0] * rows + b[2]) * cols + b[4], rows * cols, cols) for b in boxes],
                     dtype=np.int64).reshape(-1, 3)  # where each box lies in the (bands, rows, cols) array
    return dict(
        sb_ctx=_context_table(boxes, dims, kind, cls), sb_off=sb_off, sb_dim=dims, sb_k=sb_k, sb_at=sb_at,
        lvl_dim=np.array(lvl_dim, dtype=np.int64).reshape(nsb, kmax + 1, 3),
        pyr_off=np.array(pyr_off, dtype=np.int64).reshape(nsb, kmax + 1),
        lvl_count=np.array(lvl_count, dtype=np.int64), pyr_size=total, kmax=kmax,
    )


# ------------------------------------------------------------------------------------------
# Quantisation (encoder) and scattering back (decoder)
# ------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def max_abs(a):
    """Largest |a| of a C-contiguous array, without a temporary (chunks shared among threads;
    a maximum does not depend on the order)."""
    flat = a.ravel()
    n = flat.shape[0]
    nchunk = 64
    part = np.zeros(nchunk, dtype=np.float64)
    for c in prange(nchunk):
        m = 0.0
        for i in range(c * n // nchunk, (c + 1) * n // nchunk):
            v = abs(flat[i])
            if v > m:
                m = v
        part[c] = m
    return part.max()


@njit(cache=True)
def plane_table(boxes):
    """One row ``(subband, z, flat offset)`` per z-plane of every subband box, in subband-major
    order: the independent work items of :func:`quantise`."""
    total = 0
    for s in range(boxes.shape[0]):
        total += boxes[s, 1] - boxes[s, 0]
    out = np.empty((total, 3), dtype=np.int64)
    i = 0
    p = 0
    for s in range(boxes.shape[0]):
        plane = (boxes[s, 3] - boxes[s, 2]) * (boxes[s, 5] - boxes[s, 4])
        for z in range(boxes[s, 0], boxes[s, 1]):
            out[i, 0] = s
            out[i, 1] = z
            out[i, 2] = p
            p += plane
            i += 1
    return out


@njit(cache=True, parallel=True)
def quantise(a, boxes, scale1, scale2, q, sgn, msb):
    """Fill subband-major ``q = floor(|a| scale1 scale2)`` (int32), sign (1 = negative), msb (-1 for 0).

    The scale comes in two powers of two so that it can exceed the float64 range (tiny data).
    Planes of the subband boxes are shared among numba's threads (each writes its own range).
    """
    planes = plane_table(boxes)
    for i in prange(planes.shape[0]):
        s, z, p = planes[i, 0], planes[i, 1], planes[i, 2]
        x0, x1 = boxes[s, 4], boxes[s, 5]
        for y in range(boxes[s, 2], boxes[s, 3]):
            row = a[z, y, x0:x1]
            for j in range(x1 - x0):  # branch-free: the signs and magnitudes of a subband are noise
                v = (row[j] * scale1) * scale2
                sgn[p + j] = np.uint8(v < 0)
                iv = np.int64(min(abs(v), 2147483647.0))
                q[p + j] = iv
                msb[p + j] = B.top_bit(iv)  # -1 for zero
            p += x1 - x0


@njit(cache=True, inline="always")
def _scatter_range(lsp_v, lsp_m, lo, hi, f, step2, out):
    """Entries ``lo:hi`` of a decoder's LSP into ``out`` (see :func:`scatter_lsp`); multiplying
    by -1.0 negates exactly."""
    for i in range(lo, hi):
        e = lsp_v[i]
        out[e >> 1] = ((lsp_m[i] * f) * step2) * (1.0 - 2.0 * (e & 1))


@njit(cache=True, parallel=True)
def scatter_lsp(lsp_v, lsp_m, m, step1, step2, out):
    """Write a decoder's LSP (:func:`._speck_coder.run`) into the flat, zeroed coefficient array
    ``out``: magnitude ``lsp_m[i]`` half steps of ``step1 * step2`` at ``lsp_v[i] >> 1``, negative
    if ``lsp_v[i]`` is odd.  Every coefficient is in the LSP at most once, so numba's threads
    share the list in chunks."""
    chunks = 64
    for c in prange(chunks):
        _scatter_range(lsp_v, lsp_m, c * m // chunks, (c + 1) * m // chunks, 0.5 * step1, step2, out)


@njit(cache=True, nogil=True)
def scatter_lsp_serial(lsp_v, lsp_m, m, step1, step2, out):
    """:func:`scatter_lsp` on the calling thread alone, without the GIL: for one of several
    streams decoded on as many threads at once."""
    _scatter_range(lsp_v, lsp_m, 0, m, 0.5 * step1, step2, out)


@njit(cache=True, nogil=True)
def build_pyramid(msb, sb_off, sb_k, lvl_dim, pyr_off, pyr_size):
    """Max-msb pyramid of every subband octree (levels >= 1; level 0 is ``msb`` itself)."""
    pyr = np.full(max(pyr_size, 1), -1, dtype=np.int8)
    for s in range(sb_off.shape[0] - 1):
        for k in range(1, sb_k[s, 3] + 1):
            cz, cy, cx = lvl_dim[s, k - 1, 0], lvl_dim[s, k - 1, 1], lvl_dim[s, k - 1, 2]
            py, px = lvl_dim[s, k, 1], lvl_dim[s, k, 2]
            hz = 1 if k <= sb_k[s, 0] else 0
            hy = 1 if k <= sb_k[s, 1] else 0
            hx = 1 if k <= sb_k[s, 2] else 0
            dst = pyr_off[s, k]
            src_is_msb = k == 1
            src = sb_off[s] if src_is_msb else pyr_off[s, k - 1]
            i = 0
            for z in range(cz):
                for y in range(cy):
                    base = dst + ((z >> hz) * py + (y >> hy)) * px
                    for x in range(cx):
                        v = msb[src + i] if src_is_msb else pyr[src + i]
                        j = base + (x >> hx)
                        if v > pyr[j]:
                            pyr[j] = v
                        i += 1
    return pyr
