"""Numba kernel of :mod:`.tiles`: the top-bit histogram a slab's byte share is modelled from."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def top_bit_histogram(v, offset):
    """How many coefficients have each top bit: ``h[v[i] + offset]`` counts, so that ``h[p + 1]``
    is plane ``p`` and ``h[0]`` zero (speck's ``msb`` with offset 1, spiht's bit lengths with 0)."""
    h = np.zeros(33, dtype=np.int64)
    for i in range(v.shape[0]):
        h[v[i] + offset] += 1
    return h
