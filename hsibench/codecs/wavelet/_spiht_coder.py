"""The 3D-SPIHT sorting and refinement passes (numba): one code path encodes and decodes.

The lists of Said & Pearlman's SPIHT: LIP (insignificant pixels), LIS (sets: type A = all
descendants D(i), type B = grandchildren and below L(i)) and LSP (significant pixels); per
bit plane a sorting pass (LIP, then LIS) and a refinement pass.  Trees, contexts and the
codec are described in :mod:`.spiht`, the tree tables in :mod:`._spiht_kernels`.

One kernel, :func:`run`, does both encoding and decoding (``mode``), so encoder and decoder
cannot drift apart: each binary decision is either computed from the coefficients and
written, or read, and then both apply the same list updates.  Before every decision the
kernel checks that the output (or input) has room for it, with the same rule on both sides
(the *room rule*, :func:`_room`), so a stream cut at any byte decodes every decision made
before the cut and nothing else.

How it is made fast:

* the coder's state lives in five local integers for the whole run (the layout of
  :mod:`.._bits_local`), every helper is inlined, and no decision calls a function,
  allocates or touches a Python object; decision counters are locals too;
* the room rule is applied to the local state: before a decision (a significance together
  with its sign counted as one) the encoder checks that the stream finished after it would
  still fit the budget, the decoder applies the same check to its input position and the
  payload length;
* the encoder answers set tests from the precomputed bit lengths of the descendant maxima
  (``dbits``, ``lbits``), never by visiting descendants; children are computed from the
  coordinates only when a set is split or an L(i) context needs them (children lists
  built once per run measured no faster, and cost 8 bytes per coefficient);
* LIP, LIS and LSP are flat preallocated int32 arrays, compacted in place while scanned;
* significance for the contexts is one padded int8 sign array (0, +1, -1): neighbour counts
  and sign votes are sums without bounds checks (the padding is "outside the array");
* the LSP keeps each coefficient's magnitude and model class *in list order* (``lsp_m``,
  ``lsp_c``), so the refinement pass streams through memory instead of jumping across the
  cube; magnitudes, signs and the lowest coded plane reach the cube once, at the end.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import _bits as B
from .. import _bits_local as L
from ._spiht_kernels import MAX_CHILDREN, N_NB, N_SIGN, _box, _children

ENC_AC, DEC_AC, ENC_RAW, DEC_RAW = L.ENC_AC, L.DEC_AC, L.ENC_RAW, L.DEC_RAW
_TOP = 1 << 24
_MASK32 = (1 << 32) - 1


@njit(cache=True, inline="always")
def _room(mode, r0, r1, r2, r3, r4, limit, need):
    """True if ``need`` more units (AC: bytes; raw: bits) fit ``limit`` bytes.

    An AC decision grows the finished size by at most two bytes (a model's probability never
    drops below 2^-11), a raw one by one bit; a significance with its sign is checked as one
    decision of twice the size.  Encoder AC: the finished size is ``pos - first + cache size
    + 4`` (``r4 + r3 + 4``); raw: the bits written.  The decoder's input position after each
    decision equals the encoder's finished size at the same point, so it applies the same
    rule to the payload length and stops exactly where the encoder did (or earlier, on a
    prefix), having read only genuine bytes.
    """
    if mode == ENC_AC:
        return r4 + r3 + 4 + need <= limit
    if mode == DEC_AC:
        return r2 + need <= limit
    if mode == ENC_RAW:
        return r2 * 8 + r1 + need <= 8 * limit
    return r0 + need <= 8 * limit


@njit(cache=True, inline="always")
def _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c, bit):
    """Code (encoder) or read (decoder) one decision with model ``c``; no room check (the
    caller made it).  Returns the new state and the bit."""
    if mode == ENC_AC:
        low, rng, cache, csize, pos = r0, r1, r2, r3, r4
        bound = (rng >> B.PROB_BITS) * ((np.int64(models[c, 0]) + np.int64(models[c, 1])) >> 1)
        if bit == 0:
            rng = bound
        else:
            low += bound
            rng -= bound
        L._update(models, c, bit)
        while rng < _TOP:
            rng <<= 8
            low, cache, csize, pos = L._shift_low(low, cache, csize, pos, buf, nbuf)
        return low, rng, cache, csize, pos, np.int64(bit)
    if mode == DEC_AC:
        code, rng, dpos = r0, r1, r2
        bound = (rng >> B.PROB_BITS) * ((np.int64(models[c, 0]) + np.int64(models[c, 1])) >> 1)
        if code < bound:
            rng = bound
            b = np.int64(0)
        else:
            code -= bound
            rng -= bound
            b = np.int64(1)
        L._update(models, c, b)
        while rng < _TOP:
            rng <<= 8
            nxt = np.int64(buf[dpos]) if dpos < nbuf else np.int64(0)
            code = ((code << 8) | nxt) & _MASK32
            dpos += 1
        return code, rng, dpos, r3, r4, b
    if mode == ENC_RAW:
        acc, nbits, bpos = r0, r1, r2
        acc = (acc << 1) | (bit & 1)
        nbits += 1
        if nbits == 8:
            if bpos < nbuf:
                buf[bpos] = acc
            bpos += 1
            acc = 0
            nbits = 0
        return acc, nbits, bpos, r3, r4, np.int64(bit)
    bpos = r0
    byte = bpos >> 3
    b = (np.int64(buf[byte]) >> (7 - (bpos & 7))) & 1 if byte < nbuf else np.int64(0)
    return bpos + 1, r1, r2, r3, r4, b


@njit(cache=True, inline="always")
def _nb(sg, i, sy, sz):
    """Context state from the significance of the neighbours: the count of the four spatial
    ones (0, 1, 2+) times that of the two spectral ones (0, 1, 2).

    Neighbours are taken by flat offset (+-1, +-cols, +-rows*cols), so a row's last voxel
    sees the next row's first: harmless for a context, and encoder and decoder see the same.
    ``sg`` is the padded sign array (0 insignificant, +1 / -1 significant positive / negative)
    and ``i`` an index into it: the zero padding stands for "outside the array", so no
    neighbour needs a bounds check.
    """
    c = ((sg[i - 1] != 0) + (sg[i + 1] != 0)) + ((sg[i - sy] != 0) + (sg[i + sy] != 0))
    z = (sg[i - sz] != 0) + (sg[i + sz] != 0)
    return min(c, 2) + 3 * z


@njit(cache=True, inline="always")
def _vote(sg, i, step):
    """Sign vote of the neighbours at +-step: 0 negative, 1 none / tie, 2 positive."""
    v = np.int64(sg[i - step]) + np.int64(sg[i + step])
    return (v > 0) - (v < 0) + 1


@njit(cache=True, inline="always")
def _sign_ctx(sg, i, sy, sz):
    """Sign context: the sign votes of the significant neighbours along cols, rows, bands."""
    return _vote(sg, i, 1) + 3 * _vote(sg, i, sy) + 9 * _vote(sg, i, sz)


def run(mode, tree, nz, ny, nx, root_box, mag, mb, neg, lp, dbits, lbits, kind, ccls, top, limit, st, buf, models, ncls,
        stats):
    """Code bit planes ``top .. 0`` until done or out of room; return True if cut.

    Encoding (``mode`` ENC_AC / ENC_RAW): ``mag`` holds the integer magnitudes, ``mb`` their
    bit lengths (a coefficient tested at plane ``n`` is below ``2^(n+1)``, so its bit ``n`` is
    ``mb > n``, read from a quarter of the memory of ``mag``), ``neg`` the signs and
    ``dbits``/``lbits`` the bit lengths of the maxima of D(i) / L(i) (a set is significant at
    plane ``n`` iff they exceed ``n``).  Decoding (DEC_AC / DEC_RAW): ``mag`` and ``neg``
    (zeros) receive the decoded magnitudes and signs; ``mb``, ``dbits``, ``lbits`` are unused.
    Both: ``lp`` (int8, all -1) receives for every significant coefficient the lowest plane
    coded for it (the decoder's reconstruction needs it); ``kind`` (0 / 1 / 2: no children /
    children only / grandchildren) and ``ccls`` (model class) come from
    :func:`._spiht_kernels.structure`; ``limit`` is the payload budget (encoding)
    or length (decoding) in bytes; ``st``/``buf``/``models`` are the :mod:`.._bits` coder
    state array (read at the start, written back at the end, so :func:`.._bits.enc_finish`
    / ``bw_finish`` follow), buffer and models; ``stats[0:6]`` count the LIP, child, D(i),
    L(i), refinement and sign decisions and ``stats[8:13]`` the ones among the first five.

    The lists and the significance array are allocated here, by numpy (huge pages for large
    arrays; numba's allocator maps 4 KiB pages, whose faults cost a large cube's coding
    noticeably), and the passes run in :func:`_passes` without the GIL.
    """
    nn = nz * ny * nx
    npar = int(np.count_nonzero(kind > 0))
    pad = nx * ny + 1
    sg = np.zeros(nn + 2 * pad, dtype=np.int8)  # sign of coefficient i at sg[pad + i], 0 = insignificant
    lip = np.empty(nn, dtype=np.int32)
    lsp = np.empty(nn, dtype=np.int32)
    lsp_m = np.empty(nn, dtype=np.int32)  # magnitude in LSP order (decoder: as decoded so far)
    lsp_c = np.empty(nn, dtype=np.uint8)  # refinement model base in LSP order
    lis = np.empty(2 * npar + 8, dtype=np.int32)
    lis_t = np.empty(2 * npar + 8, dtype=np.uint8)
    children = np.empty(MAX_CHILDREN, dtype=np.int64)
    return _passes(mode, tree, nz, ny, nx, root_box, mag, mb, neg, lp, dbits, lbits, kind, ccls, top, limit, st, buf,
                   models, ncls, stats, sg, pad, lip, lsp, lsp_m, lsp_c, lis, lis_t, children)


@njit(cache=True, nogil=True, _nrt=False)
def _passes(mode, tree, nz, ny, nx, root_box, mag, mb, neg, lp, dbits, lbits, kind, ccls, top, limit, st, buf, models,
            ncls, stats, sg, pad, lip, lsp, lsp_m, lsp_c, lis, lis_t, out):
    """The passes of :func:`run` in its arrays.  Compiled without reference counting
    (``_nrt=False``): every array passed to an inlined helper would otherwise cost an atomic
    increment and decrement per decision."""
    enc = mode == ENC_AC or mode == ENC_RAW
    ac = mode == ENC_AC or mode == DEC_AC
    need_ss = 4 if ac else 2  # significance + sign
    need_1 = 2 if ac else 1
    nbuf = buf.shape[0]
    sy = nx
    sz = nx * ny
    base_child = ncls * N_NB
    base_d = 2 * ncls * N_NB
    base_l = 4 * ncls * N_NB
    base_r = base_l + 3 * ncls
    base_s = base_r + 2 * ncls
    r0, r1, r2, r3, r4 = L.load(mode, st)
    n_lip = n_child = n_d = n_l = n_ref = n_sign = 0
    o_lip = o_child = o_d = o_l = o_ref = 0

    nlip = 0
    nlis = 0
    nlsp = 0
    blo = tree[4]
    bhi = tree[5]
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

    cut = False
    nc = top  # the plane being coded when the run ended, and how many LSP entries it refined
    rc = 0
    for n in range(top, -1, -1):
        nc = n
        rc = 0
        nlsp_old = nlsp
        one = np.int32(1) << n
        # ---- sorting pass, part 1: the insignificant pixels ----
        w = 0
        for r in range(nlip):
            i = lip[r]
            if not _room(mode, r0, r1, r2, r3, r4, limit, need_ss):
                cut = True
                break
            cl = ccls[i]
            c = cl * N_NB + _nb(sg, pad + i, sy, sz)
            r0, r1, r2, r3, r4, bit = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                            (1 if mb[i] > n else 0) if enc else 0)
            n_lip += 1
            o_lip += bit
            if bit:
                n_sign += 1
                c = base_s + cl * N_SIGN + _sign_ctx(sg, pad + i, sy, sz)
                r0, r1, r2, r3, r4, ng = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                               np.int64(neg[i]) if enc else 0)
                sg[pad + i] = 1 - 2 * ng
                lsp_m[nlsp] = mag[i] if enc else one
                lsp_c[nlsp] = cl
                lsp[nlsp] = i
                nlsp += 1
            else:
                lip[w] = i
                w += 1
        if cut:
            break
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
            if not _room(mode, r0, r1, r2, r3, r4, limit, need_1):
                cut = True
                break
            x = i % nx  # the children, from the coordinates and the tree tables
            t = i // nx
            y = t % ny
            z = t // ny
            k1 = _children(tree, ny, nx, z, y, x, _box(tree, z, y, x), out)
            if typ == 0:  # type A: all descendants D(i)
                sig_self = 1 if sg[pad + i] != 0 else 0
                c = base_d + (cl * 2 + sig_self) * N_NB + _nb(sg, pad + i, sy, sz)
                r0, r1, r2, r3, r4, bit = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                                (1 if dbits[i] > n else 0) if enc else 0)
                n_d += 1
                o_d += bit
                if bit == 0:
                    lis[w] = i
                    lis_t[w] = 0
                    w += 1
                    continue
                found = 0
                only_children = kind[i] == 1
                for j in range(k1):
                    k = out[j]
                    ck = ccls[k]
                    if only_children and j == k1 - 1 and found == 0:
                        # D(i) = O(i) is significant and no other child was: this one is
                        if not _room(mode, r0, r1, r2, r3, r4, limit, need_1):
                            cut = True
                            break
                        kb = np.int64(1)
                    else:
                        if not _room(mode, r0, r1, r2, r3, r4, limit, need_ss):
                            cut = True
                            break
                        c = base_child + ck * N_NB + _nb(sg, pad + k, sy, sz)
                        r0, r1, r2, r3, r4, kb = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                                       (1 if mb[k] > n else 0) if enc else 0)
                        n_child += 1
                        o_child += kb
                    if kb:
                        c = base_s + ck * N_SIGN + _sign_ctx(sg, pad + k, sy, sz)
                        r0, r1, r2, r3, r4, ng = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                                       np.int64(neg[k]) if enc else 0)
                        n_sign += 1
                        sg[pad + k] = 1 - 2 * ng
                        lsp_m[nlsp] = mag[k] if enc else one
                        lsp_c[nlsp] = ck
                        lsp[nlsp] = k
                        nlsp += 1
                        found += 1
                    else:
                        lip[nlip] = k
                        nlip += 1
                if cut:
                    break
                if kind[i] == 2:
                    lis[end] = i
                    lis_t[end] = 1
                    end += 1
            else:  # type B: grandchildren and below L(i)
                nsig = 0
                for j in range(k1):
                    nsig += sg[pad + out[j]] != 0
                c = base_l + cl * 3 + min(nsig, 2)
                r0, r1, r2, r3, r4, bit = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c,
                                                (1 if lbits[i] > n else 0) if enc else 0)
                n_l += 1
                o_l += bit
                if bit == 0:
                    lis[w] = i
                    lis_t[w] = 1
                    w += 1
                    continue
                for j in range(k1):
                    k = out[j]
                    if kind[k] > 0:
                        lis[end] = k
                        lis_t[end] = 0
                        end += 1
        if cut:
            break
        nlis = w
        # ---- refinement pass: streams through the LSP arrays ----
        for r in range(nlsp_old):
            if not _room(mode, r0, r1, r2, r3, r4, limit, need_1):
                cut = True
                break
            m = lsp_m[r]
            first = 1 if (m >> (n + 1)) == 1 else 0  # significant at the previous plane
            c = base_r + lsp_c[r] * 2 + first
            r0, r1, r2, r3, r4, bit = _code(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c, (m >> n) & 1 if enc else 0)
            n_ref += 1
            o_ref += bit
            if not enc:
                lsp_m[r] = m | (np.int32(bit) << n)
            rc = r + 1
        if cut:
            break
    L.store(mode, st, nbuf, r0, r1, r2, r3, r4)
    # lowest plane coded per LSP entry: plane nc for the first rc entries (refined at nc) and
    # for those found significant at nc (magnitude below 2^(nc+1)); nc + 1 for the others
    hi = np.int64(1) << (nc + 1)
    for r in range(nlsp):
        i = lsp[r]
        m = lsp_m[r]
        lp[i] = nc if (r < rc or m < hi) else nc + 1
        if not enc:
            mag[i] = m
            neg[i] = 1 if sg[pad + i] < 0 else 0
    stats[0] += n_lip
    stats[1] += n_child
    stats[2] += n_d
    stats[3] += n_l
    stats[4] += n_ref
    stats[5] += n_sign
    stats[8] += o_lip
    stats[9] += o_child
    stats[10] += o_d
    stats[11] += o_l
    stats[12] += o_ref
    return cut
