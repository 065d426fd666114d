"""Numba kernels of the PCA codec: context-modelled integer coding of component images.

Each component image is coded in raster order, either directly or as the residual of the
median edge detector (MED, LOCO-I) predictor, whichever the encoder estimates cheaper.  Each
value goes through :func:`_bits.enc_signed` with contexts chosen by the component and by the
magnitude of the already-coded left and upper residuals.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import _bits

N_CLASSES = 5
SET = _bits.N_EXPGOLOMB_MODELS


@njit(cache=True)
def n_models(k):
    """Context models needed for ``k`` components plus the basis."""
    return SET * (1 + k * N_CLASSES)


@njit(cache=True, inline="always")
def _med(a, b, c):
    hi = max(a, b)
    lo = min(a, b)
    if c >= hi:
        return lo
    if c <= lo:
        return hi
    return a + b - c


@njit(cache=True, inline="always")
def _predict(img, i, j):
    if i == 0 and j == 0:
        return np.int64(0)
    if i == 0:
        return img[i, j - 1]
    if j == 0:
        return img[i - 1, j]
    return _med(img[i, j - 1], img[i - 1, j], img[i - 1, j - 1])


@njit(cache=True, inline="always")
def _klass(res, i, j):
    s = np.int64(0)
    if j > 0:
        s += abs(res[i, j - 1])
    if i > 0:
        s += abs(res[i - 1, j])
    if s == 0:
        return 0
    if s <= 2:
        return 1
    if s <= 6:
        return 2
    if s <= 16:
        return 3
    return 4


@njit(cache=True)
def _h0_bits(vals):
    """Zeroth-order entropy of an integer array, in bits (``len * H0``)."""
    lo = vals.min()
    span = vals.max() - lo + 1
    if span > (1 << 22):
        return vals.size * 24.0
    hist = np.zeros(span, dtype=np.int64)
    for v in vals:
        hist[v - lo] += 1
    n = float(vals.size)
    bits = 0.0
    for h in hist:
        if h > 0:
            bits -= h * np.log2(h / n)
    return bits


@njit(cache=True)
def estimate(comps):
    """Per component: (estimated bits, use MED prediction), from zeroth-order entropies.

    A cheap stand-in for the real coder while searching the component count; the real coder
    (with contexts) does somewhat better, about equally for every count.
    """
    k, rows, cols = comps.shape
    bits = np.zeros(k)
    flags = np.zeros(k, dtype=np.bool_)
    res = np.zeros(rows * cols, dtype=np.int64)
    for c in range(k):
        img = comps[c]
        for i in range(rows):
            for j in range(cols):
                res[i * cols + j] = img[i, j] - _predict(img, i, j)
        plain = _h0_bits(img.ravel())
        pred = _h0_bits(res)
        flags[c] = pred < plain
        bits[c] = min(pred, plain)
    return bits, flags


@njit(cache=True)
def encode_all(basis_q, comps, predict, capacity):
    """Code the quantised basis ``(bands, k)`` and components ``(k, rows, cols)``.

    Returns the coded bytes, or an empty array as soon as the stream would exceed ``capacity``
    bytes (so a rate search can abandon a too-fine quantiser early).
    """
    k, rows, cols = comps.shape
    models = np.zeros((n_models(k), 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.enc_new()
    buf = np.zeros(capacity + 16, dtype=np.uint8)
    for b in range(basis_q.shape[0]):
        for c in range(k):
            _bits.enc_signed(s, buf, models, 0, basis_q[b, c])
    res = np.zeros((rows, cols), dtype=np.int64)
    for c in range(k):
        img = comps[c]
        for i in range(rows):
            for j in range(cols):
                r = img[i, j] - _predict(img, i, j) if predict[c] else img[i, j]
                res[i, j] = r
                base = SET * (1 + c * N_CLASSES + _klass(res, i, j))
                _bits.enc_signed(s, buf, models, base, r)
            if _bits.enc_size(s) > capacity:
                return np.zeros(0, dtype=np.uint8)
    n = _bits.enc_finish(s, buf)
    if n < 0 or n > capacity:
        return np.zeros(0, dtype=np.uint8)
    return buf[:n].copy()


@njit(cache=True)
def decode_all(data, bands, k, rows, cols, predict):
    """Inverse of :func:`encode_all`; returns (basis_q, comps, exhausted)."""
    models = np.zeros((n_models(k), 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.dec_new(data)
    basis_q = np.zeros((bands, k), dtype=np.int64)
    for b in range(bands):
        for c in range(k):
            basis_q[b, c] = _bits.dec_signed(s, data, models, 0)
    comps = np.zeros((k, rows, cols), dtype=np.int64)
    res = np.zeros((rows, cols), dtype=np.int64)
    for c in range(k):
        img = comps[c]
        for i in range(rows):
            for j in range(cols):
                base = SET * (1 + c * N_CLASSES + _klass(res, i, j))
                r = _bits.dec_signed(s, data, models, base)
                res[i, j] = r
                img[i, j] = r + _predict(img, i, j) if predict[c] else r
            if _bits.dec_exhausted(s, data):
                return basis_q, comps, True
    return basis_q, comps, _bits.dec_exhausted(s, data)
