"""Context selection of 3D-SPECK's adaptive binary models (numba, inlined into the passes).

Every subband has a class: spectrally low or high (its box starts at band 0 or not) x
spatially low or high.  A decision about a set or coefficient also knows its *origin*: from
the LIS (tested insignificant at an earlier plane), or fresh from the split of a set just
found significant -- with no significant sibling yet in the first or in the second half of the
siblings, or after a significant sibling.

* Coefficient significance (:func:`vox_ctx`): class, origin, significant spatial
  4-neighbours 0/1/2+, spectral neighbours 0/1/2, any significant diagonal neighbour in the
  band plane, significant parent (the coefficient at the same place in the parent subband,
  see :func:`._speck_kernels.parent_subbands`).
* Set significance (:func:`set_ctx`): class, level, origin, significant parent at the set's
  centre, a significant coefficient just outside one of its faces.
* Sign (:func:`sign_ctx`): sign class (spectral position of the subband x spatially
  low/high) and per axis x, y, z the sign vote of the two neighbours (none / + / -): signs of
  spatial detail are shared by neighbouring bands and those of spectral detail by
  neighbouring pixels, in ways that differ between subbands (worth about 0.15 dB).
* Refinement: how many planes the coefficient has been significant (1, 2, more).

On the four shared cubes the origin contexts are worth about 0.16 dB and the neighbour and
parent contexts a few hundredths each.  ``sig`` holds 0 (insignificant), 1 (positive) or 2
(negative) per coefficient in subband-major order; the geometry arrays are those of
:func:`._speck_kernels.build_tables`.
"""

from __future__ import annotations

from numba import njit

MAX_LEVEL_CTX = 15
N_CLS = 4  # subband classes: (spectrally high?) * 2 + (spatially high?)
N_VOX = N_CLS * 4 * 9 * 2 * 2  # class, origin, spatial x spectral neighbours, diagonal, parent
CTX_SET = N_VOX
N_SET = N_CLS * (MAX_LEVEL_CTX + 1) * 4 * 2 * 2  # class, level, origin, parent, face neighbour
CTX_SIGN = CTX_SET + N_SET
N_SIGN = 27 * 12  # neighbour sign votes along x, y, z; 12 sign classes
CTX_REF = CTX_SIGN + N_SIGN
N_REF = 3
N_MODELS = CTX_REF + N_REF


@njit(cache=True, inline="always")
def parent_sig(sig, sb_ctx, sb_off, sb_dim, s, z, y, x):
    """1 if the coefficient at the place of (z, y, x) of subband ``s`` in its parent is significant."""
    p = sb_ctx[s, 1]
    if p < 0:
        return 0
    pz = min(z >> sb_ctx[s, 3], sb_dim[p, 0] - 1)
    py = min(y >> sb_ctx[s, 4], sb_dim[p, 1] - 1)
    px = min(x >> sb_ctx[s, 5], sb_dim[p, 2] - 1)
    return 1 if sig[sb_off[p] + (pz * sb_dim[p, 1] + py) * sb_dim[p, 2] + px] != 0 else 0


@njit(cache=True, inline="always")
def vox_ctx(sig, sb_ctx, sb_off, sb_dim, v, s, z, y, x, dz, dy, dx, fresh):
    """Model of the significance of coefficient ``v`` at (z, y, x) of subband ``s`` (dims dz, dy, dx)."""
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
    pa = parent_sig(sig, sb_ctx, sb_off, sb_dim, s, z, y, x)
    return ((((sb_ctx[s, 0] * 4 + fresh) * 3 + sp) * 3 + sz) * 2 + dg) * 2 + pa


@njit(cache=True, inline="always")
def set_ctx(sig, sb_ctx, sb_off, sb_dim, sb_k, s, k, z, y, x, origin):
    """Model of the significance of the level-``k`` set at node (z, y, x) of subband ``s``:
    class, level, origin, whether the parent-subband coefficient at the set's centre is
    significant, and whether a coefficient just outside one of its six faces (on the centre
    lines) is significant."""
    kk = k if k < MAX_LEVEL_CTX else MAX_LEVEL_CTX
    hz = 1 << min(k, sb_k[s, 0])
    hy = 1 << min(k, sb_k[s, 1])
    hx = 1 << min(k, sb_k[s, 2])
    cz = min(z * hz + hz // 2, sb_dim[s, 0] - 1)
    cy = min(y * hy + hy // 2, sb_dim[s, 1] - 1)
    cx = min(x * hx + hx // 2, sb_dim[s, 2] - 1)
    pa = parent_sig(sig, sb_ctx, sb_off, sb_dim, s, cz, cy, cx)
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
    return CTX_SET + ((((sb_ctx[s, 0] * (MAX_LEVEL_CTX + 1) + kk) * 4 + origin) * 2 + pa) * 2 + nb)


@njit(cache=True, inline="always")
def _vote(p, q):
    """Sign evidence of two neighbours (states 0 / 1 = + / 2 = -): 0 none, 1 positive, 2 negative."""
    t = (1 if p == 1 else (-1 if p == 2 else 0)) + (1 if q == 1 else (-1 if q == 2 else 0))
    return 0 if t == 0 else (1 if t > 0 else 2)


@njit(cache=True, inline="always")
def sign_ctx(sig, v, z, y, x, dz, dy, dx, cls):
    """Model of the sign of coefficient ``v`` (sign class ``cls``) from its neighbours' signs."""
    a = _vote(sig[v - 1] if x > 0 else 0, sig[v + 1] if x + 1 < dx else 0)
    b = _vote(sig[v - dx] if y > 0 else 0, sig[v + dx] if y + 1 < dy else 0)
    c = _vote(sig[v - dx * dy] if z > 0 else 0, sig[v + dx * dy] if z + 1 < dz else 0)
    return CTX_SIGN + ((cls * 3 + a) * 3 + b) * 3 + c
