"""Range-coding kernels (numba) of the weight storage in :mod:`.storage`: integers and masks.

Kept apart from :mod:`.storage` so that importing the codecs does not import numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import _bits as rc

_NEG = rc.N_EXPGOLOMB_MODELS
_CLASSES = 3  # previous integer: zero, small (|q| <= 8), large


@njit(cache=True)
def _class(prev):
    a = abs(prev)
    if a == 0:
        return 0
    if a <= 8:
        return 1
    return 2


@njit(cache=True)
def enc_ints(values, seg_ends, buf):
    """Range-code int64 ``values``; segment ``k`` (ending at ``seg_ends[k]``) has own contexts."""
    n_models = seg_ends.shape[0] * _CLASSES * _NEG
    models = np.zeros((n_models, 3), dtype=np.uint16)
    for i in range(n_models):
        models[i, 0] = 32768
        models[i, 1] = 32768
    s = rc.enc_new()
    start = 0
    for k in range(seg_ends.shape[0]):
        prev = 0
        for i in range(start, seg_ends[k]):
            base = (k * _CLASSES + _class(prev)) * _NEG
            rc.enc_signed(s, buf, models, base, values[i])
            prev = values[i]
        start = seg_ends[k]
    return rc.enc_finish(s, buf)


@njit(cache=True)
def dec_ints(data, seg_ends, qmax, out):
    """Inverse of :func:`enc_ints`; returns 0 on success, 1 if out of range, 2 if truncated."""
    n_models = seg_ends.shape[0] * _CLASSES * _NEG
    models = np.zeros((n_models, 3), dtype=np.uint16)
    for i in range(n_models):
        models[i, 0] = 32768
        models[i, 1] = 32768
    s = rc.dec_new(data)
    start = 0
    for k in range(seg_ends.shape[0]):
        prev = 0
        for i in range(start, seg_ends[k]):
            base = (k * _CLASSES + _class(prev)) * _NEG
            v = rc.dec_signed(s, data, models, base)
            if v > qmax or v < -qmax:
                return 1
            if rc.dec_exhausted(s, data):
                return 2
            out[i] = v
            prev = v
        start = seg_ends[k]
    return 0


@njit(cache=True)
def enc_mask(bits, buf):
    models = np.zeros((2, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = rc.enc_new()
    prev = 1
    for i in range(bits.shape[0]):
        rc.enc_bit(s, buf, models, prev, bits[i])
        prev = bits[i]
    return rc.enc_finish(s, buf)


@njit(cache=True)
def dec_mask(data, out):
    models = np.zeros((2, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = rc.dec_new(data)
    prev = 1
    for i in range(out.shape[0]):
        b = rc.dec_bit(s, data, models, prev)
        out[i] = b
        prev = b
    return 1 if rc.dec_exhausted(s, data) else 0
