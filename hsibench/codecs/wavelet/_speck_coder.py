"""The 3D-SPECK set-partitioning passes (numba): one code path encodes and decodes.

The coder (Pearlman, Islam, Nagaraj & Said, "Efficient, low-complexity image coding with a
set-partitioning embedded block coder", IEEE TCSVT 2004; 3-D: Tang & Pearlman 2006): a list of
insignificant sets (LIS) per octree level, one list of significant pixels (LSP).  For each bit
plane ``n`` from the top: a *sorting pass* tests the LIS sets from the smallest level to the
largest (:func:`sort_level`, one call per level), each level in *spatial order* (subband by
subband in the layout's order, and inside a subband in C order of the node coordinates); a
significant set is split (depth first) and its children are tested at once: the insignificant
ones join the LIS, a significant coefficient sends its sign and joins the LSP.  If all but the
last child of a split set are insignificant, the last one is significant without a bit.  Then a
*refinement pass* (:func:`refine`) sends bit ``n`` of every coefficient that was already
significant before this plane.  Sets, levels and the max-msb pyramid that answers set tests in
O(1) are described in :mod:`._speck_kernels`; the models in :mod:`._speck_contexts`.

How it is made fast (the bytes are those of the straightforward implementation):

* the coder's state lives in local variables for a whole pass (:mod:`.._bits_local`), every
  helper is inlined, and no decision calls a function, allocates or touches a Python object;
* the LIS is one byte per node, ``live`` (1: in the LIS), laid out like the coefficients
  (level 0) and the pyramid (levels 1 and up, after them): a pass reads it eight nodes at a
  time and visits the set bits only, so it walks memory in order, as the contexts and the
  pyramid do (testing in insertion order instead jumped across the cube and cost about 1.3x
  the time; spatial order also codes up to 0.15 dB better at 0.5-2 bpppb on the shared cubes);
* the LSP keeps each coefficient's magnitude (encoder) or reconstruction (decoder) *in list
  order*, so the refinement pass streams through memory instead of jumping across the cube; a
  decoder's entry also holds the coefficient's place in the slab's 3-D array and its sign, so
  the reconstruction is written there in one pass (:func:`._speck_kernels.scatter_lsp`);
* the large arrays come from numpy (huge pages), not from numba's allocator (:func:`workspace`);
* the passes are compiled without reference counting (``_nrt=False``), which would otherwise
  cost an atomic increment and decrement of every array an inlined helper takes, per decision.
* significance for the contexts is one padded int8 sign array ``sg`` (0, +1, -1; see
  :func:`subband_table`): every neighbour and parent a context looks at is loaded without a
  bounds check and masked arithmetically, so contexts cost no data-dependent branch; the
  constants of a subband come from one table row, loaded once per subband and pass.

State between calls (so a caller may interleave passes of several independent streams): the
coder state ``st`` (:mod:`.._bits`), the models, ``cnt = [decisions, LSP length, stopped]``, the
LIS (``live``), the LSP (``lsp_v``, ``lsp_m``) and the padded significance ``sg`` with its subband
table (:func:`subband_table`), all from :func:`workspace`.  A pass returns 1 and sets ``cnt[2]``
when the byte budget (encoder) or the input (decoder) ends; decisions read from real bytes are
exactly the encoder's, so any prefix of a stream decodes to a coarser version of the same cube.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .. import _bits_local as L
from . import _speck_contexts as C

TOP_PLANE = 30  # magnitudes are scaled so that the largest lies in [2**30, 2**31)


def workspace(geo, n, decode):
    """The coder's working arrays for ``n`` coefficients: ``live`` (every subband's root in the
    LIS at its top level), the LSP (``lsp_v`` only for a decoder) and the padded significance
    ``sg``, with its padding and subband table (:func:`subband_table`).

    ``live[v]`` is coefficient ``v`` (level 0), ``live[n + pyr_off[s, k] + node]`` a set of level
    ``k >= 1``; its length is a whole number of 8-byte words (:func:`sort_level` reads words).
    Allocated by numpy, which asks the kernel for huge pages for large arrays; numba's own
    allocator maps 4 KiB pages, whose faults cost a large cube's decode about 15 % of its CPU."""
    sb_off, sb_k, pyr_off, lvl_count = geo[0], geo[2], geo[4], geo[5]
    live = np.zeros((n + int(lvl_count[1:].sum()) + 15) // 8 * 8, dtype=np.int8)
    top = sb_k[:, 3]
    live[np.where(top == 0, sb_off[:-1], n + pyr_off[np.arange(top.shape[0]), top])] = 1
    pad, sbt = subband_table(geo)
    sg = np.zeros(n + 2 * pad, dtype=np.int8)
    lsp_v = np.empty(max(n, 1) if decode else 1, dtype=np.int64)
    lsp_m = np.empty(max(n, 1), dtype=np.uint32)
    return live, lsp_v, lsp_m, sg, pad, sbt


@njit(cache=True, inline="always")
def _word_mask(base, start, end):
    """The bytes of the 8-byte word at ``base`` that lie in ``[start, end)``, as a mask."""
    m = np.uint64(0xFFFFFFFFFFFFFFFF)
    if base < start:
        m = m << np.uint64(8 * (start - base))
    if base + 8 > end:
        m = m & ((np.uint64(1) << np.uint64(8 * (end - base))) - np.uint64(1))
    return m


@njit(cache=True, inline="always")
def _children(kp, ka, p, cn):
    """The child coordinates ``[start, end)`` along one axis of node ``p`` of level ``kp``: two
    (one at an odd edge of ``cn`` children) while the axis still halves (``kp <= ka``), else one."""
    if kp <= ka:
        return 2 * p, min(2 * p + 2, cn)
    return p, p + 1


@njit(cache=True, inline="always")
def _significant(mode, r0, r1, r2, r3, r4, buf, nbuf, models, limit, sg, ip, z, y, x, dz, dy, dx, plane, scls, sgn, q,
                 v, at, lsp_v, lsp_m, nlsp, mag0):
    """Coefficient ``v`` (at ``sg[ip]``, at ``at`` in the slab's 3-D array) just found
    significant: its sign (context from its neighbours' signs), then its entry at the end of the
    LSP (a decoder's ``lsp_v``: ``2 * at + 1`` if negative, else ``2 * at``).  Returns the coder
    state, the sign bit (-1: the stream ended before it, nothing changed) and the new LSP length."""
    enc = mode == L.ENC_AC or mode == L.ENC_RAW
    ctx = C.sign_ctx(sg, ip, z, y, x, dz, dy, dx, plane, scls)
    r0, r1, r2, r3, r4, b = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, ctx, np.int64(sgn[v]) if enc else 0,
                                     limit)
    if b >= 0:
        sg[ip] = 1 - 2 * b
        if enc:
            lsp_m[nlsp] = q[v]
        else:
            lsp_v[nlsp] = 2 * at + b
            lsp_m[nlsp] = mag0
        nlsp += 1
    return r0, r1, r2, r3, r4, b, nlsp


@njit(cache=True)
def subband_table(geo):
    """The padding of the significance array and one row of constants per subband.

    Significance lives in ``sg`` (int8: 0, +1 positive, -1 negative), coefficient ``v`` at
    ``sg[pad + v]``, with ``pad`` zeros on both sides: more than a subband plane and row, so
    every neighbour a context looks at is inside the array (the contexts mask those outside
    the subband instead of branching).  Row ``s``: first coefficient, dims z, y, x, plane
    size, class, then the parent (:func:`._speck_contexts.parent_sig`: first coefficient in
    ``sg``, shifts, last coordinates, rows and columns), sign class, levels along z, y, x, and
    where the subband lies in the slab's 3-D array (first coefficient, plane and row strides)."""
    sb_off, sb_dim, sb_k, sb_ctx, sb_at = geo[0], geo[1], geo[2], geo[6], geo[7]
    nsb = sb_off.shape[0] - 1
    pad = 1
    for s in range(nsb):
        pad = max(pad, sb_dim[s, 1] * sb_dim[s, 2] + sb_dim[s, 2] + 2)
    t = np.zeros((max(nsb, 1), 22), dtype=np.int64)
    for s in range(nsb):
        t[s, 0] = sb_off[s]
        t[s, 1] = sb_dim[s, 0]
        t[s, 2] = sb_dim[s, 1]
        t[s, 3] = sb_dim[s, 2]
        t[s, 4] = sb_dim[s, 1] * sb_dim[s, 2]
        t[s, 5] = sb_ctx[s, 0]
        p = sb_ctx[s, 1]
        if p >= 0:
            t[s, 6] = pad + sb_off[p]
            t[s, 7] = sb_ctx[s, 3]
            t[s, 8] = sb_ctx[s, 4]
            t[s, 9] = sb_ctx[s, 5]
            t[s, 10] = sb_dim[p, 0] - 1
            t[s, 11] = sb_dim[p, 1] - 1
            t[s, 12] = sb_dim[p, 2] - 1
            t[s, 13] = sb_dim[p, 1]
            t[s, 14] = sb_dim[p, 2]
        else:  # no parent: every coordinate maps to sg[0], padding, never significant
            t[s, 13] = 1
            t[s, 14] = 1
        t[s, 15] = sb_ctx[s, 2]
        t[s, 16] = sb_k[s, 0]
        t[s, 17] = sb_k[s, 1]
        t[s, 18] = sb_k[s, 2]
        t[s, 19] = sb_at[s, 0]
        t[s, 20] = sb_at[s, 1]
        t[s, 21] = sb_at[s, 2]
    return pad, t


@njit(cache=True, _nrt=False)
def sort_level(mode, n, k, limit, buf, models, st, cnt, msb, pyr, q, sgn, sg, pad, sbt, live, words, lsp_v, lsp_m, geo,
               stack, tmp):
    """The sorting pass of plane ``n`` over the level-``k`` LIS; 1 if the stream ended, else 0.

    ``words`` is ``live`` read eight nodes at a time; ``stack`` and ``tmp`` are the split's
    scratch (:func:`run`).  Compiled without reference counting (``_nrt=False``): every array
    passed to an inlined helper would otherwise cost an atomic increment and decrement per
    decision, about a fifth of a decoder's time."""
    sb_k, lvl_dim, pyr_off = geo[2], geo[3], geo[4]
    enc = mode == L.ENC_AC or mode == L.ENC_RAW
    nbuf = buf.shape[0]
    r0, r1, r2, r3, r4 = L.load(mode, st)
    ndec = cnt[0]
    nlsp = cnt[1]
    ncoef = sg.shape[0] - 2 * pad  # coefficients; the sets' bytes of ``live`` follow theirs
    mag0 = np.uint32(3) << n  # a decoder's new LSP entry: midpoint 1.5 * 2**n, in half steps
    stop = False
    for s in range(sbt.shape[0]):
        if sb_k[s, 3] < k:
            continue
        off = sbt[s, 0]
        dz = sbt[s, 1]
        dy = sbt[s, 2]
        dx = sbt[s, 3]
        plane = sbt[s, 4]
        cls = sbt[s, 5]
        pp = sbt[s, 6]
        psz = sbt[s, 7]
        psy = sbt[s, 8]
        psx = sbt[s, 9]
        pmz = sbt[s, 10]
        pmy = sbt[s, 11]
        pmx = sbt[s, 12]
        pdy = sbt[s, 13]
        pdx = sbt[s, 14]
        scls = sbt[s, 15]
        kz = sbt[s, 16]
        ky = sbt[s, 17]
        kx = sbt[s, 18]
        at0 = sbt[s, 19]
        atz = sbt[s, 20]
        aty = sbt[s, 21]
        ldy = lvl_dim[s, k, 1]
        ldx = lvl_dim[s, k, 2]
        region = off if k == 0 else ncoef + pyr_off[s, k]
        end = region + lvl_dim[s, k, 0] * ldy * ldx
        sb = pad + off  # the subband's first coefficient in sg
        hz = np.int64(1) << min(k, kz)
        hy = np.int64(1) << min(k, ky)
        hx = np.int64(1) << min(k, kx)
        z = 0
        y = 0
        row = region  # first node of row (z, y)
        wi = region >> 3
        wend = (end + 7) >> 3
        word = np.uint64(0)
        while True:
            if word == 0:  # next word with a live node in [region, end)
                while wi < wend and words[wi] == 0:
                    wi += 1
                if wi >= wend:
                    break
                word = words[wi] & _word_mask(wi << 3, region, end)
                wbase = wi << 3
                wi += 1
                continue
            p = wbase + (trailing_zeros(word) >> 3)
            word &= word - np.uint64(1)  # live bytes are 0 or 1: one bit per live node
            while p >= row + ldx:
                row += ldx
                y += 1
                if y == ldy:
                    y = 0
                    z += 1
            x = p - row
            if k == 0:
                v = p
                ip = pad + v
                pa = C.parent_sig(sg, pp, psz, psy, psx, pmz, pmy, pmx, pdy, pdx, z, y, x)
                ctx = C.vox_ctx(sg, ip, z, y, x, dz, dy, dx, plane, cls, pa, 0)
                r0, r1, r2, r3, r4, bit = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, ctx,
                                                   (1 if msb[v] >= n else 0) if enc else 0, limit)
                if bit < 0:
                    stop = True
                    break
                ndec += 1
                if bit == 1:
                    r0, r1, r2, r3, r4, b, nlsp = _significant(mode, r0, r1, r2, r3, r4, buf, nbuf, models, limit, sg,
                                                               ip, z, y, x, dz, dy, dx, plane, scls, sgn, q, v,
                                                               at0 + z * atz + y * aty + x, lsp_v, lsp_m, nlsp, mag0)
                    if b < 0:
                        stop = True
                        break
                    ndec += 1
                    live[p] = 0
                continue
            cz = C.set_centre(z, hz, dz)
            cy = C.set_centre(y, hy, dy)
            cx = C.set_centre(x, hx, dx)
            pa = C.parent_sig(sg, pp, psz, psy, psx, pmz, pmy, pmx, pdy, pdx, cz, cy, cx)
            ctx = C.set_ctx(sg, sb, z, y, x, cz, cy, cx, hz, hy, hx, dz, dy, dx, C.set_base(cls, k), pa, 0)
            r0, r1, r2, r3, r4, bit = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, ctx,
                                               (1 if pyr[p - ncoef] >= n else 0) if enc else 0, limit)
            if bit < 0:
                stop = True
                break
            ndec += 1
            if bit == 0:
                continue
            live[p] = 0
            # ---- split the significant set depth first: children tested at once, significant
            # child sets pushed (in reverse, so the first is split first)
            stack[0, 0] = k
            stack[0, 1] = z
            stack[0, 2] = y
            stack[0, 3] = x
            sp = 1
            while sp > 0 and not stop:
                sp -= 1
                kp = stack[sp, 0]
                zp = stack[sp, 1]
                yp = stack[sp, 2]
                xp = stack[sp, 3]
                kc = kp - 1
                cnz, cny, cnx = lvl_dim[s, kc, 0], lvl_dim[s, kc, 1], lvl_dim[s, kc, 2]
                zs, ze = _children(kp, kz, zp, cnz)
                ys, ye = _children(kp, ky, yp, cny)
                xs, xe = _children(kp, kx, xp, cnx)
                mm = (ze - zs) * (ye - ys) * (xe - xs)
                c = 0
                nsig = 0
                nsplit = 0
                if kc == 0:
                    for cz in range(zs, ze):
                        for cy in range(ys, ye):
                            for cx in range(xs, xe):
                                c += 1
                                v = off + (cz * cny + cy) * cnx + cx
                                ip = pad + v
                                if c == mm and nsig == 0:
                                    bit = 1  # the last child of a significant set, all others insignificant
                                else:
                                    origin = (1 if 2 * c <= mm else 2) if nsig == 0 else 3
                                    pa = C.parent_sig(sg, pp, psz, psy, psx, pmz, pmy, pmx, pdy, pdx, cz, cy, cx)
                                    ctx = C.vox_ctx(sg, ip, cz, cy, cx, dz, dy, dx, plane, cls, pa, origin)
                                    r0, r1, r2, r3, r4, bit = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models,
                                                                       ctx, (1 if msb[v] >= n else 0) if enc else 0,
                                                                       limit)
                                    if bit < 0:
                                        stop = True
                                        break
                                    ndec += 1
                                if bit == 1:
                                    nsig += 1
                                    r0, r1, r2, r3, r4, b, nlsp = _significant(
                                        mode, r0, r1, r2, r3, r4, buf, nbuf, models, limit, sg, ip, cz, cy, cx, dz, dy,
                                        dx, plane, scls, sgn, q, v, at0 + cz * atz + cy * aty + cx, lsp_v, lsp_m, nlsp,
                                        mag0)
                                    if b < 0:
                                        stop = True
                                        break
                                    ndec += 1
                                else:
                                    live[v] = 1
                            if stop:
                                break
                        if stop:
                            break
                else:
                    chz = np.int64(1) << min(kc, kz)
                    chy = np.int64(1) << min(kc, ky)
                    chx = np.int64(1) << min(kc, kx)
                    sbase = C.set_base(cls, kc)
                    poff = pyr_off[s, kc]
                    for cz in range(zs, ze):
                        for cy in range(ys, ye):
                            for cx in range(xs, xe):
                                c += 1
                                node = poff + (cz * cny + cy) * cnx + cx
                                if c == mm and nsig == 0:
                                    bit = 1
                                else:
                                    origin = (1 if 2 * c <= mm else 2) if nsig == 0 else 3
                                    ccz = C.set_centre(cz, chz, dz)
                                    ccy = C.set_centre(cy, chy, dy)
                                    ccx = C.set_centre(cx, chx, dx)
                                    pa = C.parent_sig(sg, pp, psz, psy, psx, pmz, pmy, pmx, pdy, pdx, ccz, ccy, ccx)
                                    ctx = C.set_ctx(sg, sb, cz, cy, cx, ccz, ccy, ccx, chz, chy, chx, dz, dy, dx, sbase,
                                                    pa, origin)
                                    r0, r1, r2, r3, r4, bit = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, ctx,
                                                                       (1 if pyr[node] >= n else 0) if enc else 0,
                                                                       limit)
                                    if bit < 0:
                                        stop = True
                                        break
                                    ndec += 1
                                if bit == 1:
                                    nsig += 1
                                    tmp[nsplit, 0] = cz
                                    tmp[nsplit, 1] = cy
                                    tmp[nsplit, 2] = cx
                                    nsplit += 1
                                else:
                                    live[ncoef + node] = 1
                            if stop:
                                break
                        if stop:
                            break
                for j in range(nsplit - 1, -1, -1):
                    stack[sp, 0] = kc
                    stack[sp, 1] = tmp[j, 0]
                    stack[sp, 2] = tmp[j, 1]
                    stack[sp, 3] = tmp[j, 2]
                    sp += 1
            if stop:
                break
        if stop:
            break
    L.store(mode, st, nbuf, r0, r1, r2, r3, r4)
    cnt[0] = ndec
    cnt[1] = nlsp
    if stop:
        cnt[2] = 1
        return 1
    return 0


@njit(cache=True, _nrt=False)
def refine(mode, n, limit, buf, models, st, cnt, lsp_m, pass_start):
    """The refinement pass of plane ``n``: bit ``n`` of every coefficient significant before it,
    with a model by how many planes it has been significant (1, 2, more); 1 if the stream ended.
    Without reference counting, like :func:`sort_level`."""
    enc = mode == L.ENC_AC or mode == L.ENC_RAW
    nbuf = buf.shape[0]
    r0, r1, r2, r3, r4 = L.load(mode, st)
    ndec = cnt[0]
    end = pass_start[n] if n < TOP_PLANE else 0
    first = pass_start[n + 1] if n < TOP_PLANE else 0
    second = pass_start[n + 2] if n + 1 < TOP_PLANE else 0
    half = np.uint32(1) << n  # a refinement moves the midpoint by 2**(n-1) = 2**n half steps
    stop = False
    for part in range(3):  # the oldest first: LSP order is significance order
        lo = 0 if part == 0 else (second if part == 1 else first)
        hi = second if part == 0 else (first if part == 1 else end)
        ctx = C.CTX_REF + 2 - part
        for i in range(lo, hi):
            r0, r1, r2, r3, r4, bit = L.decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, ctx,
                                               np.int64((lsp_m[i] >> n) & 1) if enc else 0, limit)
            if bit < 0:
                stop = True
                break
            ndec += 1
            if not enc:
                if bit == 1:
                    lsp_m[i] += half
                else:
                    lsp_m[i] -= half
        if stop:
            break
    L.store(mode, st, nbuf, r0, r1, r2, r3, r4)
    cnt[0] = ndec
    if stop:
        cnt[2] = 1
        return 1
    return 0


@njit(cache=True, nogil=True)
def run(mode, limit, buf, models, st, msb, pyr, q, sgn, geo, live, lsp_v, lsp_m, sg, pad, sbt):
    """Code bit planes from the top down until done or the stream ends, in the arrays of
    :func:`workspace`.

    Returns ``(stopped, last plane, decisions, LSP length)``; for a decoder, ``lsp_m[i]`` is then
    the magnitude, in half quantiser steps, of the coefficient at ``lsp_v[i] >> 1`` in the slab's
    3-D array, negative if ``lsp_v[i]`` is odd.
    """
    cnt = np.zeros(3, dtype=np.int64)
    pass_start = np.zeros(TOP_PLANE + 3, dtype=np.int64)
    kmax = geo[3].shape[1] - 1
    words = live.view(np.uint64)
    stack = np.empty((8 * (kmax + 2), 4), dtype=np.int64)  # the sets a split has still to split
    tmp = np.empty((8, 3), dtype=np.int64)  # the significant children of one split
    plane = TOP_PLANE
    stopped = 0
    for n in range(TOP_PLANE, -1, -1):
        plane = n
        pass_start[n] = cnt[1]
        for k in range(kmax + 1):
            if sort_level(mode, n, k, limit, buf, models, st, cnt, msb, pyr, q, sgn, sg, pad, sbt, live, words,
                          lsp_v, lsp_m, geo, stack, tmp):
                stopped = 1
                break
        if stopped or refine(mode, n, limit, buf, models, st, cnt, lsp_m, pass_start):
            stopped = 1
            break
    return stopped, plane, cnt[0], cnt[1]
