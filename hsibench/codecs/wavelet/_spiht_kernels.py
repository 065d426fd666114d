"""Numba kernels of 3D-SPIHT: tree structure (set maxima, children lists), (de)quantisation.

The coefficient tree is described by *boxes* (the wavelet subbands) and *relations* between
them, built in :mod:`hsibench.codecs.spiht`:

``tree = (zint, yint, xint, boxmap, blo, bhi, rstart, rchild, rf, bcls)``

* ``zint/yint/xint[c]``: index of the 1-D Mallat interval that coordinate ``c`` falls in along
  bands / rows / cols; ``boxmap[tz, ty, tx]`` turns the three interval indices into a box id.
* ``blo/bhi[b]``: the box's half-open extent along (bands, rows, cols).
* relations ``rstart[b] .. rstart[b+1]`` of box ``b``: child box ``rchild[r]`` and the
  per-axis fan-out ``rf[r] in {1, 2}``.  A coefficient at local offset ``i`` of the parent
  box has children at local offsets ``f*i .. f*i+f-1`` of the child box, clipped to it; the
  last coefficient of the parent box also adopts any child-box coefficients beyond
  ``f*size`` (odd sizes), so every non-root coefficient has exactly one parent.
* ``bcls[b]``: the context class of the box (its decomposition level pair); :func:`structure`
  copies it to every coefficient (``ccls``) so the passes need no coordinates for contexts.

The coding passes (both directions) are :func:`._spiht_coder.run`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._bits import bit_length

MODE_ENC_AC, MODE_DEC_AC, MODE_ENC_RAW, MODE_DEC_RAW = 0, 1, 2, 3
MAX_CHILDREN = 512  # 7 relations x 3x3x3 (orphan adoption) is the worst case: 189

# context families, each ``ncls`` classes wide times the states noted
N_NB = 9  # significant neighbours: spatial 0, 1, 2+ times spectral 0, 1, 2
N_SIGN = 27  # sign contexts: the sign vote of the significant neighbours along each axis (-, 0, +)^3
CTX_PER_CLASS = N_NB + N_NB + 2 * N_NB + 3 + 2 + N_SIGN  # LIP sig, child sig, D(i), L(i), refinement, sign


# ------------------------------------------------------------------------------------------
# Tree helpers
# ------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _rng(c, lo, hi, clo, chi, f):
    """Children of coordinate ``c`` of parent interval [lo, hi) in child interval [clo, chi)."""
    i = c - lo
    s = clo + f * i
    e = s + f
    if i == hi - lo - 1:
        e = chi  # adopt the orphans of an odd-sized child band
    if e > chi:
        e = chi
    return s, e


@njit(cache=True, inline="always")
def _box(tree, z, y, x):
    return np.int64(tree[3][tree[0][z], tree[1][y], tree[2][x]])


@njit(cache=True)
def _children(tree, ny, nx, z, y, x, b, out):
    """Write the flat indices of the children of (z, y, x) in box ``b`` to ``out``; return count."""
    blo = tree[4]
    bhi = tree[5]
    rstart = tree[6]
    rchild = tree[7]
    rf = tree[8]
    cnt = 0
    for r in range(rstart[b], rstart[b + 1]):
        cb = rchild[r]
        z0, z1 = _rng(z, blo[b, 0], bhi[b, 0], blo[cb, 0], bhi[cb, 0], rf[r, 0])
        if z0 >= z1:
            continue
        y0, y1 = _rng(y, blo[b, 1], bhi[b, 1], blo[cb, 1], bhi[cb, 1], rf[r, 1])
        if y0 >= y1:
            continue
        x0, x1 = _rng(x, blo[b, 2], bhi[b, 2], blo[cb, 2], bhi[cb, 2], rf[r, 2])
        for cz in range(z0, z1):
            for cy in range(y0, y1):
                base = (cz * ny + cy) * nx
                for cx in range(x0, x1):
                    out[cnt] = base + cx
                    cnt += 1
    return cnt


@njit(cache=True, nogil=True)
def structure(tree, order, nz, ny, nx, mb, dbits, lbits, kind, ccls, want_bits):
    """Bottom-up pass over the tree, one subband (box) at a time, deepest boxes first.

    ``kind[i]``: 0 = no children, 1 = children but no grandchildren, 2 = grandchildren.
    With ``want_bits`` also ``dbits[i]`` = bit length of the largest magnitude among the
    descendants of ``i`` and ``lbits[i]`` = the same over the grandchildren and below, from
    ``mb`` (bit length of each magnitude): a set is significant at plane n iff bits > n.
    ``ccls[i]`` receives the context class of the coefficient's subband.

    Every coefficient of a child box *pushes* into its one parent, whose local offset along
    each axis is ``min(j // f, size - 1)`` (``j``: the child's local offset, ``f``: the
    fan-out, 1 or 2, so a shift; the ``min`` is the last parent adopting the orphans of an
    odd size, as in :func:`_rng`): streaming over each box instead of gathering the children
    of every coefficient.  Maxima do not depend on the order of the pushes; a box's values
    are final once the deeper boxes (its children) have pushed, which ``order`` guarantees.
    """
    blo = tree[4]
    bhi = tree[5]
    rstart = tree[6]
    rchild = tree[7]
    rf = tree[8]
    bcls = tree[9]
    nb = blo.shape[0]
    nn = nz * ny * nx
    pbox = np.full(nb, -1, dtype=np.int64)  # parent box and relation of every box
    prel = np.zeros(nb, dtype=np.int64)
    for b in range(nb):
        for r in range(rstart[b], rstart[b + 1]):
            pbox[rchild[r]] = b
            prel[rchild[r]] = r
    for i in range(nn):
        kind[i] = 0
    if want_bits:
        for i in range(nn):
            dbits[i] = 0
            lbits[i] = 0
    for oi in range(order.shape[0]):
        cb = order[oi]
        c0, c1, c2 = blo[cb, 0], blo[cb, 1], blo[cb, 2]
        e0, e1, e2 = bhi[cb, 0], bhi[cb, 1], bhi[cb, 2]
        k8 = np.uint8(bcls[cb])
        for z in range(c0, e0):
            for y in range(c1, e1):
                row = (z * ny + y) * nx
                for x in range(c2, e2):
                    ccls[row + x] = k8
        p = pbox[cb]
        if p < 0:
            continue
        r = prel[cb]
        fz, fy, fx = rf[r, 0] - 1, rf[r, 1] - 1, rf[r, 2] - 1  # fan-out 1 or 2: a shift of 0 or 1
        p0, p1, p2 = blo[p, 0], blo[p, 1], blo[p, 2]
        m0, m1, m2 = bhi[p, 0] - p0 - 1, bhi[p, 1] - p1 - 1, bhi[p, 2] - p2 - 1
        for z in range(c0, e0):
            pz = p0 + min((z - c0) >> fz, m0)
            for y in range(c1, e1):
                py = p1 + min((y - c1) >> fy, m1)
                row = (z * ny + y) * nx
                prow = (pz * ny + py) * nx + p2
                for x in range(c2, e2):
                    k = row + x
                    ip = prow + min((x - c2) >> fx, m2)
                    kind[ip] = max(kind[ip], 2 if kind[k] > 0 else 1)
                    if want_bits:
                        d = dbits[k]
                        dbits[ip] = max(dbits[ip], max(mb[k], d))
                        lbits[ip] = max(lbits[ip], d)


# ------------------------------------------------------------------------------------------
# Element-wise stages (the coding passes are in :mod:`._spiht_coder`)
# ------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def quantise(coef, scale, mag, neg, mb):
    """``mag = floor(|coef| * scale)`` (int32), the signs and the magnitudes' bit lengths, in one
    pass shared among numba's threads (element-wise: the result does not depend on them)."""
    for i in prange(coef.shape[0]):
        c = coef[i]
        neg[i] = 1 if c < 0 else 0
        m = np.int64(abs(c) * scale)
        mag[i] = m
        mb[i] = bit_length(m)


@njit(cache=True, parallel=True)
def reconstruct(mag, neg, lp, scale, out):
    """Magnitudes at the middle of each coefficient's uncertainty interval, signed and scaled
    (element-wise, in chunks shared among numba's threads)."""
    n = mag.shape[0]
    chunks = 64
    for c in prange(chunks):
        reconstruct_span(mag, neg, lp, scale, out, c * n // chunks, (c + 1) * n // chunks)


@njit(cache=True, nogil=True)
def reconstruct_span(mag, neg, lp, scale, out, lo, hi):
    """:func:`reconstruct` of elements ``lo:hi`` on the calling thread alone, without the GIL."""
    for i in range(lo, hi):
        p = lp[i]
        if p < 0:
            out[i] = 0.0
        else:
            v = (np.float64(mag[i]) + 0.5 * np.float64(np.int64(1) << p)) * scale
            out[i] = -v if neg[i] else v
