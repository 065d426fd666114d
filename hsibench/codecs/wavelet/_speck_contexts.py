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
parent contexts a few hundredths each.  ``sg`` holds 0 (insignificant), +1 (positive) or -1
(negative) per coefficient in subband-major order, padded with zeros on both sides
(:func:`._speck_coder.subband_table`), so the functions below load neighbours without bounds
checks and mask those outside the subband arithmetically (no data-dependent branch).
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
def parent_sig(sg, pp, psz, psy, psx, pmz, pmy, pmx, pdy, pdx, z, y, x):
    """1 if the coefficient at the place of (z, y, x) in the parent subband is significant.

    ``pp`` is the parent's first coefficient in the padded array ``sg``, ``psz, psy, psx`` the
    shifts to its coordinates, ``pmz, pmy, pmx`` its last coordinates and ``pdy, pdx`` its row
    and column counts (:func:`subband_table`); a subband without a parent points at the
    padding (``pp = 0``, all zero), so no case needs a branch."""
    pz = min(z >> psz, pmz)
    py = min(y >> psy, pmy)
    px = min(x >> psx, pmx)
    return 1 if sg[pp + (pz * pdy + py) * pdx + px] != 0 else 0


@njit(cache=True, inline="always")
def vox_ctx(sg, i, z, y, x, dz, dy, dx, plane, cls, pa, fresh):
    """Model of the significance of coefficient (z, y, x) of a subband (dims dz, dy, dx,
    ``plane = dy * dx``, class ``cls``) at ``sg[i]``; ``pa``: its parent's significance.

    Branch-free: every neighbour is loaded (the padding of ``sg`` keeps the loads inside the
    array) and masked by whether it lies inside the subband, so a significance pattern costs
    no mispredicted branch."""
    xl = x > 0
    xr = x + 1 < dx
    yl = y > 0
    yr = y + 1 < dy
    sp = ((xl & (sg[i - 1] != 0)) + (xr & (sg[i + 1] != 0))) + ((yl & (sg[i - dx] != 0)) + (yr & (sg[i + dx] != 0)))
    sz = ((z > 0) & (sg[i - plane] != 0)) + ((z + 1 < dz) & (sg[i + plane] != 0))
    dg = (yl & ((xl & (sg[i - dx - 1] != 0)) | (xr & (sg[i - dx + 1] != 0)))) | \
        (yr & ((xl & (sg[i + dx - 1] != 0)) | (xr & (sg[i + dx + 1] != 0))))
    return ((((cls * 4 + fresh) * 3 + min(sp, 2)) * 3 + sz) * 2 + dg) * 2 + pa


@njit(cache=True, inline="always")
def set_ctx(sg, b, z, y, x, cz, cy, cx, hz, hy, hx, dz, dy, dx, cbase, pa, origin):
    """Model of the significance of the set at node (z, y, x) whose sides are ``hz, hy, hx``
    (clipped to the subband, dims dz, dy, dx, first coefficient at ``sg[b]``; centre cz, cy,
    cx from :func:`set_centre`): ``cbase`` (class and level, :func:`set_base`), origin, ``pa``
    (the significance of the parent-subband coefficient at the centre), and whether a
    coefficient just outside one of its six faces (on the centre lines) is significant.
    Branch-free like :func:`vox_ctx` (loads past an upper face are clamped into the subband,
    and masked)."""
    z1 = (z + 1) * hz
    y1 = (y + 1) * hy
    x1 = (x + 1) * hx
    rc = b + (cz * dy + cy) * dx  # the centre row
    nb = (((z > 0) & (sg[b + ((z * hz - 1) * dy + cy) * dx + cx] != 0))
          | ((y > 0) & (sg[b + (cz * dy + y * hy - 1) * dx + cx] != 0))
          | ((x > 0) & (sg[rc + x * hx - 1] != 0))
          | ((z1 < dz) & (sg[b + (min(z1, dz - 1) * dy + cy) * dx + cx] != 0))
          | ((y1 < dy) & (sg[b + (cz * dy + min(y1, dy - 1)) * dx + cx] != 0))
          | ((x1 < dx) & (sg[rc + min(x1, dx - 1)] != 0)))
    return cbase + (origin * 2 + pa) * 2 + nb


@njit(cache=True, inline="always")
def set_base(cls, k):
    """The first of the 16 set models of class ``cls`` at level ``k`` (origin x parent x face)."""
    return CTX_SET + (cls * (MAX_LEVEL_CTX + 1) + min(k, MAX_LEVEL_CTX)) * 16


@njit(cache=True, inline="always")
def set_centre(z, h, d):
    """Coordinate of the centre of node ``z`` (side ``h``) clipped to an axis of ``d`` samples."""
    return min(z * h + h // 2, d - 1)


@njit(cache=True, inline="always")
def _vote(t):
    """Sign evidence of neighbours whose signs (+1 / -1 / 0) sum to ``t``: 0 none, 1 positive, 2 negative."""
    return (t > 0) + 2 * (t < 0)


@njit(cache=True, inline="always")
def sign_ctx(sg, i, z, y, x, dz, dy, dx, plane, scls):
    """Model of the sign of coefficient (z, y, x) at ``sg[i]`` (sign class ``scls``) from its
    neighbours' signs (``sg``: 0, +1, -1), branch-free."""
    a = _vote((x > 0) * sg[i - 1] + (x + 1 < dx) * sg[i + 1])
    b = _vote((y > 0) * sg[i - dx] + (y + 1 < dy) * sg[i + dx])
    c = _vote((z > 0) * sg[i - plane] + (z + 1 < dz) * sg[i + plane])
    return CTX_SIGN + ((scls * 3 + a) * 3 + b) * 3 + c
