"""Numba kernels of the non-expansive CDF 9/7 lifting in :mod:`.dwt` (the fast path).

The same arithmetic as the numpy reference ``dwt._lift_fwd0`` / ``_lift_inv0`` (tests
check they agree to rounding), arranged for memory locality on a C-contiguous
``(bands, rows, cols)`` array: along bands and rows the lifting runs on 2-D slabs whose inner,
contiguous axis is vectorised; along columns it runs line by line.  Temporaries are one slab.
Slabs and lines are independent and shared among numba's threads (``NUMBA_NUM_THREADS`` or
``numba.set_num_threads`` caps them); the output does not depend on how many there are.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

ALPHA = -1.586134342059924
BETA = -0.052980118572961
GAMMA = 0.882911075530934
DELTA = 0.443506852043971
ZETA = 1.149604398860241
K_LOW = ZETA
K_HIGH = -1.0 / ZETA


@njit(cache=True)
def _fwd_slab(v, tmp):
    """Lifting along axis 0 of a 2-D view ``v`` (n, m), Mallat order, in place."""
    n, m = v.shape
    if n < 2:
        return
    ns = (n + 1) // 2
    nd = n // 2
    for i in range(ns):
        for j in range(m):
            tmp[i, j] = v[2 * i, j]
    for i in range(nd):
        for j in range(m):
            tmp[ns + i, j] = v[2 * i + 1, j]
    for step in range(2):
        a = ALPHA if step == 0 else GAMMA
        b = BETA if step == 0 else DELTA
        for i in range(nd):
            i1 = i + 1 if i + 1 < ns else ns - 1
            for j in range(m):
                tmp[ns + i, j] += a * (tmp[i, j] + tmp[i1, j])
        for i in range(ns):
            i0 = i - 1 if i > 0 else 0
            i1 = i if i < nd else nd - 1
            for j in range(m):
                tmp[i, j] += b * (tmp[ns + i0, j] + tmp[ns + i1, j])
    for i in range(ns):
        for j in range(m):
            v[i, j] = tmp[i, j] * K_LOW
    for i in range(nd):
        for j in range(m):
            v[ns + i, j] = tmp[ns + i, j] * K_HIGH


@njit(cache=True)
def _inv_slab(v, tmp):
    """Inverse of :func:`_fwd_slab`."""
    n, m = v.shape
    if n < 2:
        return
    ns = (n + 1) // 2
    nd = n // 2
    for i in range(ns):
        for j in range(m):
            tmp[i, j] = v[i, j] * (1.0 / K_LOW)
    for i in range(nd):
        for j in range(m):
            tmp[ns + i, j] = v[ns + i, j] * (1.0 / K_HIGH)
    for step in range(2):
        a = GAMMA if step == 0 else ALPHA
        b = DELTA if step == 0 else BETA
        for i in range(ns):
            i0 = i - 1 if i > 0 else 0
            i1 = i if i < nd else nd - 1
            for j in range(m):
                tmp[i, j] -= b * (tmp[ns + i0, j] + tmp[ns + i1, j])
        for i in range(nd):
            i1 = i + 1 if i + 1 < ns else ns - 1
            for j in range(m):
                tmp[ns + i, j] -= a * (tmp[i, j] + tmp[i1, j])
    for i in range(ns):
        for j in range(m):
            v[2 * i, j] = tmp[i, j]
    for i in range(nd):
        for j in range(m):
            v[2 * i + 1, j] = tmp[ns + i, j]


@njit(cache=True)
def _line(x, buf, inverse):
    """Lifting of one contiguous 1-D line (the column axis), in place."""
    n = x.shape[0]
    if n < 2:
        return
    ns = (n + 1) // 2
    nd = n // 2
    if not inverse:
        for i in range(ns):
            buf[i] = x[2 * i]
        for i in range(nd):
            buf[ns + i] = x[2 * i + 1]
        for step in range(2):
            a = ALPHA if step == 0 else GAMMA
            b = BETA if step == 0 else DELTA
            for i in range(nd):
                i1 = i + 1 if i + 1 < ns else ns - 1
                buf[ns + i] += a * (buf[i] + buf[i1])
            for i in range(ns):
                i0 = i - 1 if i > 0 else 0
                i1 = i if i < nd else nd - 1
                buf[i] += b * (buf[ns + i0] + buf[ns + i1])
        for i in range(ns):
            x[i] = buf[i] * K_LOW
        for i in range(nd):
            x[ns + i] = buf[ns + i] * K_HIGH
    else:
        for i in range(ns):
            buf[i] = x[i] * (1.0 / K_LOW)
        for i in range(nd):
            buf[ns + i] = x[ns + i] * (1.0 / K_HIGH)
        for step in range(2):
            a = GAMMA if step == 0 else ALPHA
            b = DELTA if step == 0 else BETA
            for i in range(ns):
                i0 = i - 1 if i > 0 else 0
                i1 = i if i < nd else nd - 1
                buf[i] -= b * (buf[ns + i0] + buf[ns + i1])
            for i in range(nd):
                i1 = i + 1 if i + 1 < ns else ns - 1
                buf[ns + i] -= a * (buf[i] + buf[i1])
        for i in range(ns):
            x[2 * i] = buf[i]
        for i in range(nd):
            x[2 * i + 1] = buf[ns + i]


def threads() -> int:
    """numba's thread count in this thread (what :func:`lift_axis` should cut its work into)."""
    return get_num_threads()


@njit(cache=True, parallel=True)
def lift_axis(a, nb, nr, nc, axis, inverse, chunks=1):
    """One lifting level along ``axis`` of the corner box ``a[:nb, :nr, :nc]`` (C-contiguous ``a``).

    The slabs (axes 0 and 1) and lines (axis 2) are independent: they are cut into ``chunks``
    contiguous chunks (pass :func:`threads`) that numba's threads share (``prange``), each
    with its own temporary.  Every slab runs the same arithmetic in the same order, so the
    result does not depend on the thread count.  (The count comes in as an argument: calling
    ``get_num_threads`` inside would keep numba from caching the kernel.)
    """
    outer = nr if axis == 0 else nb
    chunks = max(1, min(chunks, outer))
    for t in prange(chunks):
        lift_span(a, nb, nr, nc, axis, inverse, t * outer // chunks, (t + 1) * outer // chunks)


@njit(cache=True, nogil=True)
def lift_span(a, nb, nr, nc, axis, inverse, lo, hi):
    """:func:`lift_axis` for the slabs (or the planes of lines) ``lo:hi`` alone, on the calling
    thread without the GIL: ``0:outer`` is the whole level, for one of several arrays
    transformed on as many threads at once (``outer``: ``nr`` along axis 0, else ``nb``)."""
    if axis == 0:
        tmp = np.empty((nb, nc), dtype=np.float64)
        for y in range(lo, hi):
            if inverse:
                _inv_slab(a[:nb, y, :nc], tmp)
            else:
                _fwd_slab(a[:nb, y, :nc], tmp)
    elif axis == 1:
        tmp = np.empty((nr, nc), dtype=np.float64)
        for z in range(lo, hi):
            if inverse:
                _inv_slab(a[z, :nr, :nc], tmp)
            else:
                _fwd_slab(a[z, :nr, :nc], tmp)
    else:
        buf = np.empty(nc, dtype=np.float64)
        for z in range(lo, hi):
            for y in range(nr):
                _line(a[z, y, :nc], buf, inverse)


@njit(cache=True, parallel=True)
def to_band_major(cube, out, offset):
    """``out[b, r, c] = cube[r, c, b] - offset`` in cache-friendly tiles (any real dtype in);
    rows are shared among numba's threads."""
    rows, cols, bands = cube.shape
    tile = 32
    for r in prange(rows):
        for c0 in range(0, cols, tile):
            c1 = min(c0 + tile, cols)
            for b in range(bands):
                for c in range(c0, c1):
                    out[b, r, c] = cube[r, c, b] - offset


@njit(cache=True, parallel=True)
def to_cube(a, out, offset, lo, hi):
    """``out[r, c, b] = clip(a[b, r, c] + offset, lo, hi)`` (the decoder's way back), tiled;
    rows are shared among numba's threads."""
    rows = a.shape[1]
    chunks = min(rows, 64)
    for t in prange(chunks):
        to_cube_rows(a, out, offset, lo, hi, t * rows // chunks, (t + 1) * rows // chunks)


@njit(cache=True, nogil=True)
def to_cube_rows(a, out, offset, lo, hi, r0, r1):
    """:func:`to_cube` for rows ``r0:r1`` alone, on the calling thread without the GIL."""
    bands, cols = a.shape[0], a.shape[2]
    tile = 32
    for r in range(r0, r1):
        for c0 in range(0, cols, tile):
            c1 = min(c0 + tile, cols)
            for b in range(bands):
                for c in range(c0, c1):
                    v = a[b, r, c] + offset
                    if v < lo:
                        v = lo
                    elif v > hi:
                        v = hi
                    out[r, c, b] = v
