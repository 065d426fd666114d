"""Numba kernels of 3D-SPECK: quantisation, significance pyramids, the set-partitioning coder.

One kernel, :func:`speck_run`, is both the encoder and the decoder (``enc`` flag), so the two
can never disagree about the order of decisions.

Coefficients are handled in **subband-major order**: subband ``s`` (a box of the wavelet
layout) occupies ``sb_off[s] : sb_off[s+1]`` of the flat arrays, in C order inside its box.

Sets.  Each subband is the root of an octree of boxes.  Along an axis of length ``d`` the tree
has ``K = ceil(log2 d)`` levels; a node at level ``k`` covers ``2**min(k, K)`` samples of that
axis (clipped to ``d``), so splitting a level-``k`` node halves every axis that still can be
halved: 8 children in general (octants), 4 or 2 near the top of elongated subbands, one
single coefficient at level 0.  Aligning the sets to powers of two lets a *max-msb pyramid*
answer every significance test in O(1) (``pyr[pyr_off[s, k] + node]`` is the highest bit
plane present in the node).  A set is one int64 in the lists: its subband and its node
coordinates at its level, bit-packed with the widths in ``pk`` (see :func:`build_tables`).

The coder (Pearlman, Islam, Nagaraj & Said, "Efficient, low-complexity image coding with a
set-partitioning embedded block coder", IEEE TCSVT 2004; 3-D: Tang & Pearlman 2006): one list
of insignificant sets (LIS) per octree level, one list of significant pixels (LSP).  For each
bit plane ``n`` from the top: a *sorting pass* tests the LIS sets from the smallest level to the
largest; a significant set is split (depth first) and its children are tested at once: the
insignificant ones join the LIS, a significant coefficient sends its sign and joins the LSP.
If all but the last child of a split set are insignificant, the last one is significant
without a bit.  Then a *refinement pass* sends bit ``n`` of every coefficient that was already
significant before this plane.

Contexts (adaptive binary models of :mod:`._bits`).  Every subband has a class: spectrally
low or high (its box starts at band 0 or not) x spatially low or high.  A decision about a set
or coefficient also knows its *origin*: from the LIS (tested insignificant at an earlier plane),
or fresh from the split of a set just found significant -- with no significant sibling yet in
the first or in the second half of the siblings, or after a significant sibling.  Coefficient
significance: (class, origin, significant spatial 4-neighbours 0/1/2+, spectral neighbours
0/1/2, any significant diagonal neighbour in the band plane, significant parent: the
coefficient at the same place in the parent subband, see :func:`parent_subbands`).  Set
significance: (class, level, origin, significant parent at the set's centre, a significant
coefficient just outside one of its faces).  Sign: (sign
class: spectral position of the subband x spatially low/high, and per axis x, y, z the sign
vote of the two neighbours: none / positive / negative) -- signs of spatial detail are shared
by neighbouring bands and those of spectral detail by neighbouring pixels, in ways that differ
between subbands, which makes this worth about 0.15 dB.  Refinement: how many planes the
coefficient has been significant (1, 2, more).  On the four shared cubes the origin contexts
are worth about 0.16 dB and the neighbour and parent contexts a few hundredths each.

Every decision goes through :func:`_code`, which stops the encoder before the byte budget would
be passed and stops the decoder as soon as its input is exhausted: decisions decoded from real
bytes are exactly the encoder's, so any prefix decodes to a coarser version of the same cube.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.typed import List

from ...errors import InvalidCubeError
from .. import _bits as B

TOP_PLANE = 30  # magnitudes are scaled so that the largest lies in [2**30, 2**31)
MAX_LEVEL_CTX = 15

# context model layout (origin: from the LIS / fresh, no significant sibling yet, first or
# second half / fresh after a significant sibling)
N_CLS = 4  # subband classes: (spectrally high?) * 2 + (spatially high?)
N_VOX = N_CLS * 4 * 9 * 2 * 2  # class, origin, spatial x spectral neighbours, diagonal, parent
CTX_SET = N_VOX
N_SET = N_CLS * (MAX_LEVEL_CTX + 1) * 4 * 2 * 2  # class, level, origin, parent, face neighbour
CTX_SIGN = CTX_SET + N_SET
N_SIGN = 27 * 12  # neighbour sign votes along x, y, z; 12 sign classes (sign_classes)
CTX_REF = CTX_SIGN + N_SIGN
N_REF = 3
N_MODELS = CTX_REF + N_REF


# ------------------------------------------------------------------------------------------
# Tables: subband geometry and octree levels
# ------------------------------------------------------------------------------------------


def _ceil_log2(d: int) -> int:
    k = 0
    while (1 << k) < d:
        k += 1
    return k


def parent_subbands(boxes, kind: str) -> np.ndarray:
    """Index of each subband's *parent* (-1 for none): the next coarser subband that describes
    the same place.  Packet: the same spatial subband one spectral level coarser, and in the
    lowest spectral band the same orientation one spatial level coarser; dyadic: the same
    orientation one level coarser.  (The subband holding the box start halved.)"""
    par = np.full(len(boxes), -1, dtype=np.int64)
    for i, b in enumerate(boxes):
        if kind == "packet":
            p = (b[0] // 2, b[2], b[4]) if b[0] > 0 else (0, b[2] // 2, b[4] // 2)
        else:
            p = (b[0] // 2, b[2] // 2, b[4] // 2)
        for j, c in enumerate(boxes):
            if j != i and c[0] <= p[0] < c[1] and c[2] <= p[1] < c[3] and c[4] <= p[2] < c[5]:
                par[i] = j
                break
    return par


def sign_classes(boxes) -> np.ndarray:
    """Sign-context class of each subband: spectral position (rank of its first band, up to 5)
    x spatially low or high: 12 classes."""
    z_starts = sorted({b[0] for b in boxes})
    return np.array([min(z_starts.index(b[0]), 5) * 2 + (1 if (b[2] > 0 or b[4] > 0) else 0) for b in boxes],
                    dtype=np.int64)


def _context_table(boxes, dims, kind, cls) -> np.ndarray:
    """Per subband: class, parent, sign class, and the shifts (0 or 1) that map a coefficient's
    (z, y, x) to its parent's (the parent is as long or about half as long on each axis)."""
    par = parent_subbands(boxes, kind)
    shifts = np.zeros((len(boxes), 3), dtype=np.int64)
    for i, p in enumerate(par):
        if p >= 0:
            shifts[i] = [1 if dims[p, a] < dims[i, a] else 0 for a in range(3)]
    return np.column_stack([cls, par, sign_classes(boxes), shifts]).astype(np.int64)


def build_tables(boxes, kind: str = "packet") -> dict:
    """Geometry tables of the octrees over the subbands ``boxes`` (z0, z1, y0, y1, x0, x1)."""
    nsb = len(boxes)
    dims = np.array([[b[1] - b[0], b[3] - b[2], b[5] - b[4]] for b in boxes], dtype=np.int64)
    sb_off = np.zeros(nsb + 1, dtype=np.int64)
    sb_off[1:] = np.cumsum(dims.prod(axis=1))
    sb_k = np.zeros((nsb, 4), dtype=np.int64)
    for s in range(nsb):
        for a in range(3):
            sb_k[s, a] = _ceil_log2(int(dims[s, a]))
        sb_k[s, 3] = sb_k[s, :3].max()
    kmax = int(sb_k[:, 3].max()) if nsb else 0
    lvl_dim = np.ones((nsb, kmax + 1, 3), dtype=np.int64)
    pyr_off = np.full((nsb, kmax + 1), -1, dtype=np.int64)
    lvl_count = np.zeros(kmax + 1, dtype=np.int64)
    total = 0
    for s in range(nsb):
        for k in range(int(sb_k[s, 3]) + 1):
            for a in range(3):
                sh = min(k, int(sb_k[s, a]))
                lvl_dim[s, k, a] = -(-int(dims[s, a]) // (1 << sh))
            cnt = int(lvl_dim[s, k].prod())
            lvl_count[k] += cnt
            if k >= 1:
                pyr_off[s, k] = total
                total += cnt
    cls = np.array([(2 if b[0] > 0 else 0) + (1 if (b[2] > 0 or b[4] > 0) else 0) for b in boxes], dtype=np.int64)
    # bit widths of x, y, z in a list entry, then masks; the subband index takes the rest
    widths = [max(1, int(dims[:, a].max() - 1).bit_length()) for a in (2, 1, 0)]
    if sum(widths) + max(1, (nsb - 1).bit_length()) > 62:
        raise InvalidCubeError(f"a cube this large ({dims[:, 0].max()} x {dims[:, 1].max()} x "
                               f"{dims[:, 2].max()} subbands) exceeds the 62-bit set addresses of speck")
    pk = np.array(widths + [(1 << w) - 1 for w in widths], dtype=np.int64)
    return dict(
        pk=pk, sb_ctx=_context_table(boxes, dims, kind, cls), sb_off=sb_off, sb_dim=dims, sb_k=sb_k, lvl_dim=lvl_dim, pyr_off=pyr_off,
        lvl_count=lvl_count, pyr_size=total, kmax=kmax,
    )


# ------------------------------------------------------------------------------------------
# Quantisation (encoder) and scattering back (decoder)
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def max_abs(a):
    """Largest |a| of a C-contiguous array, without a temporary."""
    m = 0.0
    flat = a.ravel()
    for i in range(flat.shape[0]):
        v = abs(flat[i])
        if v > m:
            m = v
    return m


@njit(cache=True)
def quantise(a, boxes, scale1, scale2, q, sgn, msb):
    """Fill subband-major ``q = floor(|a| scale1 scale2)`` (int32), sign (1 = negative), msb (-1 for 0).

    The scale comes in two powers of two so that it can exceed the float64 range (tiny data).
    """
    p = 0
    for s in range(boxes.shape[0]):
        for z in range(boxes[s, 0], boxes[s, 1]):
            for y in range(boxes[s, 2], boxes[s, 3]):
                for x in range(boxes[s, 4], boxes[s, 5]):
                    v = (a[z, y, x] * scale1) * scale2
                    neg = v < 0
                    if neg:
                        v = -v
                    iv = np.int64(v)
                    if iv > 2147483647:
                        iv = 2147483647
                    q[p] = iv
                    sgn[p] = 1 if neg else 0
                    msb[p] = B.bit_length(iv) - 1  # -1 for zero
                    p += 1


@njit(cache=True)
def scatter(rec, sig, boxes, step1, step2, out):
    """Write decoded magnitudes ``rec`` (half steps; signs in ``sig``) back into the 3-D coefficient array."""
    p = 0
    f = 0.5 * step1
    for s in range(boxes.shape[0]):
        for z in range(boxes[s, 0], boxes[s, 1]):
            for y in range(boxes[s, 2], boxes[s, 3]):
                for x in range(boxes[s, 4], boxes[s, 5]):
                    st = sig[p]
                    if st == 0:
                        out[z, y, x] = 0.0
                    elif st == 1:
                        out[z, y, x] = (rec[p] * f) * step2
                    else:
                        out[z, y, x] = -((rec[p] * f) * step2)  # (negating the uint32 first would wrap)
                    p += 1


@njit(cache=True)
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


# ------------------------------------------------------------------------------------------
# The coder
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def _code(ctl, st, buf, models, ctx, bit):
    """Code (``ctl[0] == 1``) or decode one decision; -1 when the budget or the input ends."""
    if ctl[0] == 1:
        if ctl[1] == 1:
            if B.enc_size(st) + 2 > ctl[2]:
                ctl[3] = 1
                return -1
            B.enc_bit(st, buf, models, ctx, bit)
        else:
            if B.bw_bits(st) + 1 > 8 * ctl[2]:
                ctl[3] = 1
                return -1
            B.bw_put(st, buf, bit)
        ctl[4] += 1
        return bit
    if ctl[1] == 1:
        if B.dec_exhausted(st, buf):
            ctl[3] = 1
            return -1
        b = B.dec_bit(st, buf, models, ctx)
    else:
        b = B.br_get(st, buf)
        if B.br_exhausted(st, buf):
            ctl[3] = 1
            return -1
    ctl[4] += 1
    return b


@njit(cache=True)
def _append(box, j, cnt, value):
    arr = box[j]
    n = cnt[j]
    if n >= arr.shape[0]:
        grown = np.empty(max(2 * arr.shape[0], 64), dtype=np.int64)
        grown[:n] = arr[:n]
        box[j] = grown
        arr = grown
    arr[n] = value
    cnt[j] = n + 1


@njit(cache=True, inline="always")
def _pack(s, z, y, x, pk):
    """One list entry: subband and node coordinates, widths ``pk[0:3]`` for x, y, z."""
    return (((s << pk[2]) | z) << pk[1] | y) << pk[0] | x


@njit(cache=True)
def _vox_ctx(sig, sb_ctx, sb_off, sb_dim, v, s, z, y, x, dz, dy, dx, fresh):
    sp = 0
    if x > 0 and sig[v - 1] != 0:
        sp += 1
    if x + 1 < dx and sig[v + 1] != 0:
        sp += 1
    if y > 0 and sig[v - dx] != 0:
        sp += 1
    if y + 1 < dy and sig[v + dx] != 0:
        sp += 1
    sz = 0
    plane = dx * dy
    if z > 0 and sig[v - plane] != 0:
        sz += 1
    if z + 1 < dz and sig[v + plane] != 0:
        sz += 1
    if sp > 2:
        sp = 2
    dg = 0
    if y > 0:
        if x > 0 and sig[v - dx - 1] != 0:
            dg = 1
        elif x + 1 < dx and sig[v - dx + 1] != 0:
            dg = 1
    if dg == 0 and y + 1 < dy:
        if x > 0 and sig[v + dx - 1] != 0:
            dg = 1
        elif x + 1 < dx and sig[v + dx + 1] != 0:
            dg = 1
    pa = _parent_sig(sig, sb_ctx, sb_off, sb_dim, s, z, y, x)
    return ((((sb_ctx[s, 0] * 4 + fresh) * 3 + sp) * 3 + sz) * 2 + dg) * 2 + pa


@njit(cache=True)
def _parent_sig(sig, sb_ctx, sb_off, sb_dim, s, z, y, x):
    """1 if the coefficient at the place of (z, y, x) of subband ``s`` in its parent is significant."""
    p = sb_ctx[s, 1]
    if p < 0:
        return 0
    pz = min(z >> sb_ctx[s, 3], sb_dim[p, 0] - 1)
    py = min(y >> sb_ctx[s, 4], sb_dim[p, 1] - 1)
    px = min(x >> sb_ctx[s, 5], sb_dim[p, 2] - 1)
    return 1 if sig[sb_off[p] + (pz * sb_dim[p, 1] + py) * sb_dim[p, 2] + px] != 0 else 0


@njit(cache=True)
def _set_ctx(sig, sb_ctx, sb_off, sb_dim, sb_k, s, k, z, y, x, kind):
    """Context of a set: class, level, origin (LIS / fresh / fresh after a significant sibling),
    whether the parent-subband coefficient at the set's centre is significant, and whether a
    coefficient just outside one of its six faces (on the centre lines) is significant."""
    kk = k if k < MAX_LEVEL_CTX else MAX_LEVEL_CTX
    hz = 1 << min(k, sb_k[s, 0])
    hy = 1 << min(k, sb_k[s, 1])
    hx = 1 << min(k, sb_k[s, 2])
    cz = min(z * hz + hz // 2, sb_dim[s, 0] - 1)
    cy = min(y * hy + hy // 2, sb_dim[s, 1] - 1)
    cx = min(x * hx + hx // 2, sb_dim[s, 2] - 1)
    pa = _parent_sig(sig, sb_ctx, sb_off, sb_dim, s, cz, cy, cx)
    # a significant coefficient just outside one of the set's faces, on its centre lines
    dy, dx = sb_dim[s, 1], sb_dim[s, 2]
    base = sb_off[s]
    nb = 0
    if z > 0 and sig[base + ((z * hz - 1) * dy + cy) * dx + cx] != 0:
        nb = 1
    elif y > 0 and sig[base + (cz * dy + y * hy - 1) * dx + cx] != 0:
        nb = 1
    elif x > 0 and sig[base + (cz * dy + cy) * dx + x * hx - 1] != 0:
        nb = 1
    elif (z + 1) * hz < sb_dim[s, 0] and sig[base + (((z + 1) * hz) * dy + cy) * dx + cx] != 0:
        nb = 1
    elif (y + 1) * hy < dy and sig[base + (cz * dy + (y + 1) * hy) * dx + cx] != 0:
        nb = 1
    elif (x + 1) * hx < dx and sig[base + (cz * dy + cy) * dx + (x + 1) * hx] != 0:
        nb = 1
    return CTX_SET + ((((sb_ctx[s, 0] * (MAX_LEVEL_CTX + 1) + kk) * 4 + kind) * 2 + pa) * 2 + nb)


@njit(cache=True, inline="always")
def _vote(p, q):
    """Sign evidence of two neighbours (states 0 / 1 = + / 2 = -): 0 none, 1 positive, 2 negative."""
    t = (1 if p == 1 else (-1 if p == 2 else 0)) + (1 if q == 1 else (-1 if q == 2 else 0))
    return 0 if t == 0 else (1 if t > 0 else 2)


@njit(cache=True)
def _new_sig(ctl, st, buf, models, sgn, sig, rec, lspbox, lspcnt, v, z, y, x, dz, dy, dx, n, cls):
    """A coefficient became significant at plane ``n``: code its sign, move it to the LSP."""
    a = _vote(sig[v - 1] if x > 0 else 0, sig[v + 1] if x + 1 < dx else 0)
    b = _vote(sig[v - dx] if y > 0 else 0, sig[v + dx] if y + 1 < dy else 0)
    c = _vote(sig[v - dx * dy] if z > 0 else 0, sig[v + dx * dy] if z + 1 < dz else 0)
    ctx = CTX_SIGN + ((cls * 3 + a) * 3 + b) * 3 + c
    bit = _code(ctl, st, buf, models, ctx, sgn[v] if ctl[0] == 1 else 0)
    if bit < 0:
        return -1
    sig[v] = 1 + bit
    if ctl[0] == 0:
        rec[v] = np.uint32(3) << n  # midpoint 1.5 * 2**n, in half steps
    _append(lspbox, 0, lspcnt, v)
    return 0


@njit(cache=True)
def _split(ctl, st, buf, models, msb, pyr, sgn, sig, rec, lis, lis_n, lspbox, lspcnt, stack, tmp,
           s, k0, z0, y0, x0, n, sb_off, sb_dim, sb_k, lvl_dim, pyr_off, sb_ctx, pk):
    """Code the descendants of the significant set (s, k0, z0, y0, x0), depth first."""
    enc = ctl[0] == 1
    sp = 0
    stack[0, 0] = k0
    stack[0, 1] = z0
    stack[0, 2] = y0
    stack[0, 3] = x0
    sp = 1
    dz, dy, dx = sb_dim[s, 0], sb_dim[s, 1], sb_dim[s, 2]
    base = sb_off[s]
    while sp > 0:
        sp -= 1
        k = stack[sp, 0]
        z = stack[sp, 1]
        y = stack[sp, 2]
        x = stack[sp, 3]
        kc = k - 1
        nz, ny, nx = lvl_dim[s, kc, 0], lvl_dim[s, kc, 1], lvl_dim[s, kc, 2]
        if k <= sb_k[s, 0]:
            zs = 2 * z
            ze = min(zs + 2, nz)
        else:
            zs = z
            ze = z + 1
        if k <= sb_k[s, 1]:
            ys = 2 * y
            ye = min(ys + 2, ny)
        else:
            ys = y
            ye = y + 1
        if k <= sb_k[s, 2]:
            xs = 2 * x
            xe = min(xs + 2, nx)
        else:
            xs = x
            xe = x + 1
        m = (ze - zs) * (ye - ys) * (xe - xs)
        c = 0
        nsig = 0
        nsplit = 0
        for cz in range(zs, ze):
            for cy in range(ys, ye):
                for cx in range(xs, xe):
                    c += 1
                    loc = (cz * ny + cy) * nx + cx
                    if kc == 0:
                        v = base + loc
                        if c == m and nsig == 0:
                            bit = 1
                        else:
                            ctx = _vox_ctx(sig, sb_ctx, sb_off, sb_dim, v, s, cz, cy, cx, dz, dy, dx, (1 if 2 * c <= m else 2) if nsig == 0 else 3)
                            bit = _code(ctl, st, buf, models, ctx, (1 if msb[v] >= n else 0) if enc else 0)
                            if bit < 0:
                                return -1
                        if bit == 1:
                            nsig += 1
                            r = _new_sig(ctl, st, buf, models, sgn, sig, rec, lspbox, lspcnt, v, cz, cy, cx, dz, dy, dx, n, sb_ctx[s, 2])
                            if r < 0:
                                return -1
                        else:
                            _append(lis, 0, lis_n, _pack(s, cz, cy, cx, pk))
                    else:
                        if c == m and nsig == 0:
                            bit = 1
                        else:
                            ctx = _set_ctx(sig, sb_ctx, sb_off, sb_dim, sb_k, s, kc, cz, cy, cx, (1 if 2 * c <= m else 2) if nsig == 0 else 3)
                            bit = _code(ctl, st, buf, models, ctx,
                                        (1 if pyr[pyr_off[s, kc] + loc] >= n else 0) if enc else 0)
                            if bit < 0:
                                return -1
                        if bit == 1:
                            nsig += 1
                            tmp[nsplit, 0] = cz
                            tmp[nsplit, 1] = cy
                            tmp[nsplit, 2] = cx
                            nsplit += 1
                        else:
                            _append(lis, kc, lis_n, _pack(s, cz, cy, cx, pk))
        for j in range(nsplit - 1, -1, -1):
            stack[sp, 0] = kc
            stack[sp, 1] = tmp[j, 0]
            stack[sp, 2] = tmp[j, 1]
            stack[sp, 3] = tmp[j, 2]
            sp += 1
    return 0


@njit(cache=True)
def speck_run(enc, ac, limit, buf, st, models, msb, pyr, q, sgn, sig, rec,
              sb_off, sb_dim, sb_k, lvl_dim, pyr_off, lvl_count, sb_ctx, pk, lsp_cap):
    """Run 3D-SPECK from the top bit plane down; returns ``(stopped, plane, decisions)``.

    Encoder (``enc=1``): reads ``msb``/``pyr``/``q``/``sgn``, writes decisions to ``buf`` while
    the flushed size stays within ``limit`` bytes.  Decoder (``enc=0``): reads ``buf`` and
    fills ``sig`` (0, 1 = positive, 2 = negative) and ``rec`` (uint32 magnitudes in *half*
    quantiser steps, the midpoints of the uncertainty intervals; below 2**32 since q < 2**31).
    """
    ctl = np.zeros(5, dtype=np.int64)
    ctl[0] = enc
    ctl[1] = ac
    ctl[2] = limit
    nsb = sb_off.shape[0] - 1
    kmax = lvl_dim.shape[1] - 1
    lis = List()
    lis_n = np.zeros(kmax + 1, dtype=np.int64)
    for k in range(kmax + 1):
        lis.append(np.empty(max(1, min(lvl_count[k], 4096)), dtype=np.int64))
    for s in range(nsb):
        _append(lis, sb_k[s, 3], lis_n, _pack(s, 0, 0, 0, pk))
    lspbox = List()
    lspbox.append(np.empty(max(1, lsp_cap), dtype=np.int64))
    lspcnt = np.zeros(1, dtype=np.int64)
    pass_start = np.zeros(TOP_PLANE + 3, dtype=np.int64)
    stack = np.empty((8 * (kmax + 2), 4), dtype=np.int64)
    tmp = np.empty((8, 3), dtype=np.int64)
    plane = TOP_PLANE
    for n in range(TOP_PLANE, -1, -1):
        plane = n
        pass_start[n] = lspcnt[0]
        # ---- sorting pass: LIS by increasing level
        for k in range(kmax + 1):
            arr = lis[k]
            m = lis_n[k]
            w = 0
            for i in range(m):
                e = arr[i]
                x = e & pk[3]
                y = (e >> pk[0]) & pk[4]
                z = (e >> (pk[0] + pk[1])) & pk[5]
                s = e >> (pk[0] + pk[1] + pk[2])
                nz, ny, nx = lvl_dim[s, k, 0], lvl_dim[s, k, 1], lvl_dim[s, k, 2]
                loc = (z * ny + y) * nx + x
                if k == 0:
                    v = sb_off[s] + loc
                    ctx = _vox_ctx(sig, sb_ctx, sb_off, sb_dim, v, s, z, y, x, nz, ny, nx, 0)
                    bit = _code(ctl, st, buf, models, ctx, (1 if msb[v] >= n else 0) if enc == 1 else 0)
                    if bit < 0:
                        return 1, n, ctl[4]
                    if bit == 1:
                        if _new_sig(ctl, st, buf, models, sgn, sig, rec, lspbox, lspcnt, v, z, y, x, nz, ny, nx, n,
                                    sb_ctx[s, 2]) < 0:
                            return 1, n, ctl[4]
                    else:
                        arr[w] = e
                        w += 1
                else:
                    ctx = _set_ctx(sig, sb_ctx, sb_off, sb_dim, sb_k, s, k, z, y, x, 0)
                    bit = _code(ctl, st, buf, models, ctx,
                                (1 if pyr[pyr_off[s, k] + loc] >= n else 0) if enc == 1 else 0)
                    if bit < 0:
                        return 1, n, ctl[4]
                    if bit == 1:
                        r = _split(ctl, st, buf, models, msb, pyr, sgn, sig, rec, lis, lis_n, lspbox, lspcnt,
                                   stack, tmp, s, k, z, y, x, n, sb_off, sb_dim, sb_k, lvl_dim, pyr_off, sb_ctx, pk)
                        if r < 0:
                            return 1, n, ctl[4]
                    else:
                        arr[w] = e
                        w += 1
            lis_n[k] = w
        # ---- refinement pass: coefficients significant before this plane
        lsp = lspbox[0]
        first = pass_start[n + 1] if n < TOP_PLANE else 0
        second = pass_start[n + 2] if n + 1 < TOP_PLANE else 0
        half = np.uint32(1) << n  # a refinement moves the midpoint by 2**(n-1) = 2**n half steps
        for i in range(pass_start[n] if n < TOP_PLANE else 0):
            v = lsp[i]
            if i >= first:
                ctx = CTX_REF
            elif i >= second:
                ctx = CTX_REF + 1
            else:
                ctx = CTX_REF + 2
            bit = _code(ctl, st, buf, models, ctx, ((q[v] >> n) & 1) if enc == 1 else 0)
            if bit < 0:
                return 1, n, ctl[4]
            if enc == 0:
                if bit == 1:
                    rec[v] += half
                else:
                    rec[v] -= half
    return 0, plane, ctl[4]
