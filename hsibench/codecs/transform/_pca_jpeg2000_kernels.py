"""Range-coding kernels (numba) of ``pca_jpeg2000``'s side information: band means, basis.

Means are coded as first differences along the bands; each basis column directly or as
first differences (a flag says which), with contexts by column (0, 1, 2, >= 3) and form.
Kept apart from :mod:`.pca_jpeg2000` so that importing the codecs does not import numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import _bits

_SET = _bits.N_EXPGOLOMB_MODELS
_N_SETS = 10  # contexts: 0 means, 1 column bits and flags, 2..9 basis (column 0, 1, 2, >=3) x (raw, diff)
_MAX_BITS = 24


@njit(cache=True)
def side_encode(mean_q, bits, diff, basis_q):
    bands, k = basis_q.shape
    models = np.zeros((_SET * _N_SETS, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.enc_new()
    buf = np.zeros(64 + 10 * (bands * (k + 1) + 2 * k), dtype=np.uint8)
    prev = np.int64(0)
    for b in range(bands):  # means: first differences along the bands (spectra are smooth)
        _bits.enc_signed(s, buf, models, 0, mean_q[b] - prev)
        prev = mean_q[b]
    for c in range(k):
        _bits.enc_signed(s, buf, models, _SET, bits[c])
        _bits.enc_signed(s, buf, models, _SET, 1 if diff[c] else 0)
        base = _SET * (2 + 2 * min(c, 3) + (1 if diff[c] else 0))
        prev = np.int64(0)
        for b in range(bands):
            v = basis_q[b, c]
            _bits.enc_signed(s, buf, models, base, v - prev if diff[c] else v)
            prev = v
    n = _bits.enc_finish(s, buf)
    return buf[: max(n, 0)].copy()


@njit(cache=True)
def side_decode(data, bands, k):
    models = np.zeros((_SET * _N_SETS, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.dec_new(data)
    mean_q = np.zeros(bands, dtype=np.int64)
    bits = np.zeros(k, dtype=np.int64)
    basis_q = np.zeros((bands, k), dtype=np.int64)
    prev = np.int64(0)
    for b in range(bands):
        prev += _bits.dec_signed(s, data, models, 0)
        mean_q[b] = prev
    for c in range(k):
        bits[c] = _bits.dec_signed(s, data, models, _SET)
        diff = _bits.dec_signed(s, data, models, _SET)
        if bits[c] < 0 or bits[c] > _MAX_BITS or diff < 0 or diff > 1 or _bits.dec_exhausted(s, data):
            return mean_q, bits, basis_q, False
        base = _SET * (2 + 2 * min(c, 3) + diff)
        prev = np.int64(0)
        for b in range(bands):
            v = _bits.dec_signed(s, data, models, base)
            if diff:
                v += prev
            basis_q[b, c] = v
            prev = v
    return mean_q, bits, basis_q, not _bits.dec_exhausted(s, data)
