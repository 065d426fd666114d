"""Numba kernels of 3D-SPIHT: tree walking, the sorting / refinement passes, both directions.

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

One kernel, :func:`run`, does both encoding and decoding (``mode``), so the encoder and the
decoder cannot drift apart: each binary decision is either computed from the coefficients
and written, or read, and then both apply the same list updates.  Before every decision the
kernel checks that the output (or input) has room for it, with the same rule on both sides,
so a stream cut at any byte decodes every decision made before the cut and nothing else.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._bits import (
    _BPOS,
    _DPOS,
    bit_length,
    br_get,
    bw_bits,
    bw_put,
    dec_bit,
    dec_bypass,
    enc_bit,
    enc_bypass,
    enc_size,
)

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


@njit(cache=True)
def structure(tree, order, nz, ny, nx, mb, dbits, lbits, kind, ccls, cstart, clist, want_bits):
    """Bottom-up pass over the tree, one subband (box) at a time, deepest boxes first.

    ``kind[i]``: 0 = no children, 1 = children but no grandchildren, 2 = grandchildren.
    With ``want_bits`` also ``dbits[i]`` = bit length of the largest magnitude among the
    descendants of ``i`` and ``lbits[i]`` = the same over the grandchildren and below, from
    ``mb`` (bit length of each magnitude): a set is significant at plane n iff bits > n.
    ``ccls[i]`` receives the context class of the coefficient's subband.  The children of
    ``i`` are ``clist[cstart[i]:cstart[i + 1]]`` (``cstart`` has ``nn + 1`` entries), in the
    order of :func:`_children`, so the coding passes look them up instead of recomputing them.

    Every coefficient of a child box *pushes* into its one parent, whose local offset along
    each axis is ``min(j // f, size - 1)`` (``j``: the child's local offset, ``f``: the
    fan-out, 1 or 2, so a shift; the ``min`` is the last parent adopting the orphans of an odd size, as in
    :func:`_rng`): streaming over each box instead of gathering the children of every
    coefficient.  Maxima do not depend on the order of the pushes; a box's values are final
    once the deeper boxes (its children) have pushed, which ``order`` guarantees.
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
    for i in range(nn + 1):
        cstart[i] = 0
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
                    kk = 2 if kind[k] > 0 else 1
                    if kk > kind[ip]:
                        kind[ip] = kk
                    cstart[ip + 1] += 1
                    if want_bits:
                        d = dbits[k]
                        m = mb[k]
                        if d > m:
                            m = d
                        if m > dbits[ip]:
                            dbits[ip] = m
                        if d > lbits[ip]:
                            lbits[ip] = d
    for i in range(nn):
        cstart[i + 1] += cstart[i]
    # children lists: each parent box's relations in order, each child box in raster order,
    # so a parent's children come as :func:`_children` lists them; cstart[i] is the cursor
    for b in range(nb):
        p0, p1, p2 = blo[b, 0], blo[b, 1], blo[b, 2]
        m0, m1, m2 = bhi[b, 0] - p0 - 1, bhi[b, 1] - p1 - 1, bhi[b, 2] - p2 - 1
        for r in range(rstart[b], rstart[b + 1]):
            cb = rchild[r]
            fz, fy, fx = rf[r, 0] - 1, rf[r, 1] - 1, rf[r, 2] - 1
            c0, c1, c2 = blo[cb, 0], blo[cb, 1], blo[cb, 2]
            for z in range(c0, bhi[cb, 0]):
                pz = p0 + min((z - c0) >> fz, m0)
                for y in range(c1, bhi[cb, 1]):
                    py = p1 + min((y - c1) >> fy, m1)
                    row = (z * ny + y) * nx
                    prow = (pz * ny + py) * nx + p2
                    for x in range(c2, bhi[cb, 2]):
                        ip = prow + min((x - c2) >> fx, m2)
                        clist[cstart[ip]] = row + x
                        cstart[ip] += 1
    for i in range(nn, 0, -1):  # the cursors ended at the next parent's start: shift back
        cstart[i] = cstart[i - 1]
    cstart[0] = 0


# ------------------------------------------------------------------------------------------
# Bit I/O shared by the four modes
# ------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _room(mode, s, limit, need):
    """True if ``need`` more units (AC: renormalisation bytes; raw: bits) fit in ``limit`` bytes."""
    if mode == MODE_ENC_AC:
        return enc_size(s) + need <= limit
    if mode == MODE_DEC_AC:
        return s[_DPOS] + need <= limit
    if mode == MODE_ENC_RAW:
        return bw_bits(s) + need <= 8 * limit
    return s[_BPOS] + need <= 8 * limit


@njit(cache=True, inline="always")
def _code(mode, s, buf, models, c, bit):
    if mode == MODE_ENC_AC:
        enc_bit(s, buf, models, c, bit)
        return bit
    if mode == MODE_DEC_AC:
        return np.int64(dec_bit(s, buf, models, c))
    if mode == MODE_ENC_RAW:
        bw_put(s, buf, bit)
        return bit
    return np.int64(br_get(s, buf))


@njit(cache=True, inline="always")
def _bypass(mode, s, buf, bit):
    if mode == MODE_ENC_AC:
        enc_bypass(s, buf, bit)
        return bit
    if mode == MODE_DEC_AC:
        return np.int64(dec_bypass(s, buf))
    if mode == MODE_ENC_RAW:
        bw_put(s, buf, bit)
        return bit
    return np.int64(br_get(s, buf))


@njit(cache=True, inline="always")
def _nb(lp, nn, sy, sz, i):
    """Context state from the significance of the neighbours in the flat array: the count of
    the four spatial ones (0, 1, 2+) times that of the two spectral ones (0, 1, 2).

    Neighbours are taken by flat offset (+-1, +-cols, +-rows*cols) and only bounded by the
    array, so a row's last voxel sees the next row's first: harmless for a context, and
    encoder and decoder see the same.
    """
    c = 0
    if i >= 1 and lp[i - 1] >= 0:
        c += 1
    if i + 1 < nn and lp[i + 1] >= 0:
        c += 1
    if i >= sy and lp[i - sy] >= 0:
        c += 1
    if i + sy < nn and lp[i + sy] >= 0:
        c += 1
    z = 0
    if i >= sz and lp[i - sz] >= 0:
        z += 1
    if i + sz < nn and lp[i + sz] >= 0:
        z += 1
    return min(c, 2) + 3 * z


@njit(cache=True, inline="always")
def _vote(lp, neg, nn, i, step):
    """Sign vote of the two significant neighbours at +-step: 0 negative, 1 none/tie, 2 positive."""
    v = 0
    if i >= step and lp[i - step] >= 0:
        v += -1 if neg[i - step] else 1
    if i + step < nn and lp[i + step] >= 0:
        v += -1 if neg[i + step] else 1
    return 0 if v < 0 else (2 if v > 0 else 1)


@njit(cache=True, inline="always")
def _sign_ctx(lp, neg, nn, sy, sz, i):
    return _vote(lp, neg, nn, i, 1) + 3 * _vote(lp, neg, nn, i, sy) + 9 * _vote(lp, neg, nn, i, sz)


# ------------------------------------------------------------------------------------------
# The SPIHT passes
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def run(mode, tree, nz, ny, nx, root_box, mag, neg, lp, dbits, lbits, kind, ccls, top, limit, s, buf, models, ncls, stats):
    """Code bit planes ``top .. 0`` with SPIHT until done or out of room; return True if cut.

    Encoding (``mode`` 0/2): ``mag`` holds the integer magnitudes, ``neg`` the signs,
    ``dbits/lbits`` the set significance bit lengths; ``lp`` (int8, all -1) is filled with
    the plane at which each coefficient became significant (used for contexts).
    Decoding (1/3): ``mag`` (zeros) receives the decoded magnitude bits, ``neg`` the signs,
    ``lp`` the lowest plane known for each significant coefficient (-1: never significant).
    Both: ``kind`` and ``ccls`` come from :func:`structure`; ``limit`` is the payload budget
    (encoding) or length (decoding) in bytes; ``s``/``buf``/``models`` are the coder state,
    buffer and context models of :mod:`._bits`; ``stats[0:6]`` count the LIP, child, D(i),
    L(i), refinement and sign decisions and ``stats[8:13]`` the ones among the first five.

    Room rule: an AC decision grows the flushed size by at most two bytes (a model's
    probability never drops below 2^-11), a raw one by one bit; each decision (a significance
    with its sign counted together) is coded only if its worst case fits.  The decoder's input position after each decision
    equals the encoder's flushed size at the same point, so it applies the identical rule
    to the payload length and stops exactly where the encoder did, or earlier on a prefix,
    having only read genuine bytes.
    """
    decoding = mode == MODE_DEC_AC or mode == MODE_DEC_RAW
    ac = mode == MODE_ENC_AC or mode == MODE_DEC_AC
    need_ss = 4 if ac else 2  # significance + sign
    need_1 = 2 if ac else 1
    need_sign = 2 if ac else 1
    blo = tree[4]
    bhi = tree[5]
    nn = nz * ny * nx
    sy = nx
    sz = nx * ny
    base_lip = 0
    base_child = ncls * N_NB
    base_d = 2 * ncls * N_NB
    base_l = 4 * ncls * N_NB
    base_r = base_l + 3 * ncls
    base_s = base_r + 2 * ncls

    # lists: LIP, LSP (each at most every coefficient), LIS (each node at most once as A, once as B)
    npar = 0
    for i in range(nn):
        if kind[i] > 0:
            npar += 1
    lip = np.empty(nn, dtype=np.int32)
    lsp = np.empty(nn, dtype=np.int32)
    lis = np.empty(2 * npar + 8, dtype=np.int32)
    lis_t = np.empty(2 * npar + 8, dtype=np.uint8)
    out = np.empty(MAX_CHILDREN, dtype=np.int64)
    nlip = 0
    nlis = 0
    nlsp = 0
    b = root_box
    for z in range(blo[b, 0], bhi[b, 0]):
        for y in range(blo[b, 1], bhi[b, 1]):
            for x in range(blo[b, 2], bhi[b, 2]):
                i = (z * ny + y) * nx + x
                lip[nlip] = i
                nlip += 1
                if kind[i] > 0:
                    lis[nlis] = i
                    lis_t[nlis] = 0
                    nlis += 1

    for n in range(top, -1, -1):
        nlsp_old = nlsp
        # ---- sorting pass, part 1: the insignificant pixels ----
        w = 0
        for r in range(nlip):
            i = lip[r]
            if not _room(mode, s, limit, need_ss):
                return True
            c = base_lip + ccls[i] * N_NB + _nb(lp, nn, sy, sz, i)
            bit = _code(mode, s, buf, models, c, (mag[i] >> n) & 1)
            stats[0] += 1
            stats[8] += bit
            if bit:
                stats[5] += 1
                sg = _code(mode, s, buf, models, base_s + ccls[i] * N_SIGN + _sign_ctx(lp, neg, nn, sy, sz, i), neg[i])
                lp[i] = n
                if decoding:
                    mag[i] = 1 << n
                    neg[i] = sg
                lsp[nlsp] = i
                nlsp += 1
            else:
                lip[w] = i
                w += 1
        nlip = w
        # ---- sorting pass, part 2: the sets ----
        w = 0
        end = nlis
        r = 0
        while r < end:
            i = lis[r]
            typ = lis_t[r]
            r += 1
            cl = ccls[i]
            if not _room(mode, s, limit, need_1):
                return True
            if typ == 0:  # type A: all descendants D(i)
                sig_self = 1 if lp[i] >= 0 else 0
                c = base_d + (cl * 2 + sig_self) * N_NB + _nb(lp, nn, sy, sz, i)
                bit = _code(mode, s, buf, models, c, 0 if decoding else (1 if dbits[i] > n else 0))
                stats[2] += 1
                stats[10] += bit
                if bit == 0:
                    lis[w] = i
                    lis_t[w] = 0
                    w += 1
                    continue
                x = i % nx
                t = i // nx
                y = t % ny
                z = t // ny
                cnt = _children(tree, ny, nx, z, y, x, _box(tree, z, y, x), out)
                found = 0
                for j in range(cnt):
                    k = out[j]
                    if kind[i] == 1 and j == cnt - 1 and found == 0:
                        # D(i) = O(i) is significant and no other child was: this one is
                        if not _room(mode, s, limit, need_sign):
                            return True
                        kb = 1
                    else:
                        if not _room(mode, s, limit, need_ss):
                            return True
                        c = base_child + ccls[k] * N_NB + _nb(lp, nn, sy, sz, k)
                        kb = _code(mode, s, buf, models, c, (mag[k] >> n) & 1)
                        stats[1] += 1
                        stats[9] += kb
                    if kb:
                        sg = _code(mode, s, buf, models, base_s + ccls[k] * N_SIGN + _sign_ctx(lp, neg, nn, sy, sz, k), neg[k])
                        stats[5] += 1
                        lp[k] = n
                        if decoding:
                            mag[k] = 1 << n
                            neg[k] = sg
                        lsp[nlsp] = k
                        nlsp += 1
                        found += 1
                    else:
                        lip[nlip] = k
                        nlip += 1
                if kind[i] == 2:
                    lis[end] = i
                    lis_t[end] = 1
                    end += 1
            else:  # type B: grandchildren and below L(i)
                x = i % nx
                t = i // nx
                y = t % ny
                z = t // ny
                cnt = _children(tree, ny, nx, z, y, x, _box(tree, z, y, x), out)
                nsig = 0
                for j in range(cnt):
                    if lp[out[j]] >= 0:
                        nsig += 1
                c = base_l + cl * 3 + min(nsig, 2)
                bit = _code(mode, s, buf, models, c, 0 if decoding else (1 if lbits[i] > n else 0))
                stats[3] += 1
                stats[11] += bit
                if bit == 0:
                    lis[w] = i
                    lis_t[w] = 1
                    w += 1
                    continue
                for j in range(cnt):
                    k = out[j]
                    if kind[k] > 0:
                        lis[end] = k
                        lis_t[end] = 0
                        end += 1
        nlis = w
        # ---- refinement pass ----
        for r in range(nlsp_old):
            i = lsp[r]
            if not _room(mode, s, limit, need_1):
                return True
            first = 1 if (mag[i] >> (n + 1)) == 1 else 0  # significant at the previous plane
            c = base_r + ccls[i] * 2 + first
            bit = _code(mode, s, buf, models, c, (mag[i] >> n) & 1)
            stats[4] += 1
            stats[12] += bit
            if decoding:
                mag[i] |= bit << n
                lp[i] = n
    return False


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
    (element-wise, shared among numba's threads)."""
    for i in prange(mag.shape[0]):
        p = lp[i]
        if p < 0:
            out[i] = 0.0
        else:
            v = (np.float64(mag[i]) + 0.5 * np.float64(np.int64(1) << p)) * scale
            out[i] = -v if neg[i] else v
