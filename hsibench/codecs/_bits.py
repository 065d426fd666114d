"""Bit-level coding kernels (numba), shared by the entropy-coded codecs.

Two interchangeable back ends with the same shape of API, so a set-partitioning coder can be
written once and run with or without arithmetic coding:

* a binary **range coder** (carry-less byte-oriented, LZMA style, 32-bit range) with adaptive
  context models, or with probabilities a codec computes itself (:func:`enc_bit_p`, e.g. from a
  learned distribution evaluated in fixed point).  A model is one row of a ``uint16[n, 3]``
  array: two probabilities of a zero (16-bit, adapting fast and slow; their mean is used) and an
  observation count that makes the first few updates large, like a count-based estimator;
* a **raw bit packer** (MSB first), for ``ac=false``.

All state lives in small int64 arrays so the functions can be called from other ``@njit``
kernels.  Writers never write past their buffer (they set an overflow flag); readers return
zeros past the end of their data and set an *exhausted* flag, so a bitstream can never make a
kernel read out of bounds.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

from ._coder_constants import FAST_SHIFT, PROB_BITS, PROB_ONE, SLOW_SHIFT  # noqa: F401  (part of this API)
_TOP = 1 << 24
_MASK32 = (1 << 32) - 1

# encoder state slots
_LOW, _RANGE, _CACHE, _CACHE_SIZE, _POS, _OVERFLOW, _FIRST = 0, 1, 2, 3, 4, 5, 6
# decoder state slots
_CODE, _DRANGE, _DPOS, _EXHAUSTED = 0, 1, 2, 3
# raw bit writer / reader slots
_ACC, _NBITS, _BPOS, _BOVER = 0, 1, 2, 3


def new_models(n: int) -> np.ndarray:
    """``n`` fresh adaptive binary models, each at probability 1/2 with no observations."""
    m = np.zeros((n, 3), dtype=np.uint16)
    m[:, 0] = PROB_ONE // 2
    m[:, 1] = PROB_ONE // 2
    return m


@njit(cache=True, inline="always")
def _p_zero(models, c):
    return (np.int64(models[c, 0]) + np.int64(models[c, 1])) >> 1


@njit(cache=True, inline="always")
def _update(models, c, bit):
    n = np.int64(models[c, 2])
    fast = min(n + 1, FAST_SHIFT)
    slow = min(n + 1, SLOW_SHIFT)
    pa = np.int64(models[c, 0])
    pb = np.int64(models[c, 1])
    if bit == 0:
        pa += (PROB_ONE - 32 - pa) >> fast
        pb += (PROB_ONE - 32 - pb) >> slow
    else:
        pa -= (pa - 32) >> fast
        pb -= (pb - 32) >> slow
    models[c, 0] = pa
    models[c, 1] = pb
    if n < 255:
        models[c, 2] = n + 1


@njit(cache=True, inline="always")
def top_bit(v):
    """Index of the highest set bit of a non-negative integer below 2^63 (-1 for 0), branch-free:
    the CPU's count-leading-zeros, for loops over mixed magnitudes where a search mispredicts."""
    return 63 - leading_zeros(np.uint64(v))


@njit(cache=True, inline="always")
def bit_length(v):
    """Bit length of a non-negative integer below 2^32 (0 for 0), by binary search."""
    n = 0
    if v >= 65536:
        v >>= 16
        n += 16
    if v >= 256:
        v >>= 8
        n += 8
    if v >= 16:
        v >>= 4
        n += 4
    if v >= 4:
        v >>= 2
        n += 2
    if v >= 2:
        v >>= 1
        n += 1
    return n + v


# ------------------------------------------------------------------------------------------
# Range encoder
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def enc_new():
    """Fresh range-encoder state."""
    s = np.zeros(8, dtype=np.int64)
    s[_RANGE] = _MASK32
    s[_CACHE_SIZE] = 1
    s[_FIRST] = 1
    return s


@njit(cache=True, inline="always")
def _put(s, buf, byte):
    if s[_FIRST] == 1:  # the very first byte is always 0: never stored
        s[_FIRST] = 0
        return
    p = s[_POS]
    if p < buf.shape[0]:
        buf[p] = byte
    else:
        s[_OVERFLOW] = 1
    s[_POS] = p + 1


@njit(cache=True)
def _shift_low(s, buf):
    low = s[_LOW]
    if low < 0xFF000000 or low > _MASK32:
        carry = low >> 32
        temp = s[_CACHE]
        while True:
            _put(s, buf, (temp + carry) & 0xFF)
            temp = 0xFF
            s[_CACHE_SIZE] -= 1
            if s[_CACHE_SIZE] == 0:
                break
        s[_CACHE] = (low >> 24) & 0xFF
    s[_CACHE_SIZE] += 1
    s[_LOW] = (low & 0x00FFFFFF) << 8


@njit(cache=True, inline="always")
def enc_bit_p(s, buf, p_zero, bit):
    """Code one binary decision ``bit`` whose probability of a zero is ``p_zero / 2^16``.

    ``p_zero`` must lie in ``1 .. 2^16 - 1``; codecs with a model of their own (e.g. a learned
    distribution, evaluated in fixed point so that encoder and decoder agree bit for bit) call
    this directly.
    """
    rng = s[_RANGE]
    bound = (rng >> PROB_BITS) * p_zero
    if bit == 0:
        s[_RANGE] = bound
    else:
        s[_LOW] += bound
        s[_RANGE] = rng - bound
    while s[_RANGE] < _TOP:
        s[_RANGE] = (s[_RANGE] << 8) & _MASK32
        _shift_low(s, buf)


@njit(cache=True)
def enc_bit(s, buf, models, c, bit):
    """Code one binary decision ``bit`` with adaptive model ``models[c]``."""
    p = _p_zero(models, c)
    _update(models, c, bit)
    enc_bit_p(s, buf, p, bit)


@njit(cache=True)
def enc_bypass(s, buf, bit):
    """Code one equiprobable binary decision (no model)."""
    half = s[_RANGE] >> 1
    if bit == 0:
        s[_RANGE] = half
    else:
        s[_LOW] += half
        s[_RANGE] -= half
    while s[_RANGE] < _TOP:
        s[_RANGE] = (s[_RANGE] << 8) & _MASK32
        _shift_low(s, buf)


@njit(cache=True)
def enc_size(s):
    """Bytes the stream would take if finished now (exact: what :func:`enc_finish` returns)."""
    return s[_POS] - s[_FIRST] + s[_CACHE_SIZE] + 4


@njit(cache=True)
def enc_finish(s, buf):
    """Flush the coder; return the number of bytes in ``buf`` (``-1`` if it overflowed)."""
    for _ in range(5):
        _shift_low(s, buf)
    if s[_OVERFLOW]:
        return -1
    return s[_POS]


# ------------------------------------------------------------------------------------------
# Range decoder
# ------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _get(s, data):
    p = s[_DPOS]
    s[_DPOS] = p + 1
    if p < data.shape[0]:
        return np.int64(data[p])
    s[_EXHAUSTED] = 1
    return np.int64(0)


@njit(cache=True)
def dec_new(data):
    """Range-decoder state positioned at the start of ``data`` (uint8 array)."""
    s = np.zeros(4, dtype=np.int64)
    s[_DRANGE] = _MASK32
    for _ in range(4):
        s[_CODE] = ((s[_CODE] << 8) | _get(s, data)) & _MASK32
    return s


@njit(cache=True, inline="always")
def dec_bit_p(s, data, p_zero):
    """Decode one binary decision coded by :func:`enc_bit_p` with the same ``p_zero``."""
    rng = s[_DRANGE]
    bound = (rng >> PROB_BITS) * p_zero
    if s[_CODE] < bound:
        s[_DRANGE] = bound
        bit = 0
    else:
        s[_CODE] -= bound
        s[_DRANGE] = rng - bound
        bit = 1
    while s[_DRANGE] < _TOP:
        s[_DRANGE] = (s[_DRANGE] << 8) & _MASK32
        s[_CODE] = ((s[_CODE] << 8) | _get(s, data)) & _MASK32
    return bit


@njit(cache=True)
def dec_bit(s, data, models, c):
    """Decode one binary decision with adaptive model ``models[c]``."""
    bit = dec_bit_p(s, data, _p_zero(models, c))
    _update(models, c, bit)
    return bit


@njit(cache=True)
def dec_bypass(s, data):
    """Decode one equiprobable binary decision."""
    half = s[_DRANGE] >> 1
    if s[_CODE] < half:
        s[_DRANGE] = half
        bit = 0
    else:
        s[_CODE] -= half
        s[_DRANGE] -= half
        bit = 1
    while s[_DRANGE] < _TOP:
        s[_DRANGE] = (s[_DRANGE] << 8) & _MASK32
        s[_CODE] = ((s[_CODE] << 8) | _get(s, data)) & _MASK32
    return bit


@njit(cache=True)
def dec_exhausted(s, data):
    """True once the decoder has needed bytes beyond the end of ``data`` (a truncated stream)."""
    return s[_DPOS] > data.shape[0]


# ------------------------------------------------------------------------------------------
# Raw bits (no entropy coding)
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def bw_new():
    """Fresh raw bit-writer state."""
    return np.zeros(4, dtype=np.int64)


@njit(cache=True)
def bw_put(s, buf, bit):
    """Append one bit (MSB first)."""
    s[_ACC] = (s[_ACC] << 1) | (bit & 1)
    s[_NBITS] += 1
    if s[_NBITS] == 8:
        p = s[_BPOS]
        if p < buf.shape[0]:
            buf[p] = s[_ACC]
        else:
            s[_BOVER] = 1
        s[_BPOS] = p + 1
        s[_ACC] = 0
        s[_NBITS] = 0


@njit(cache=True)
def bw_put_bits(s, buf, value, n):
    """Append the ``n`` low bits of ``value`` (MSB first), whole bytes at a time; 0 <= n <= 56."""
    nbits = s[_NBITS] + n
    acc = (s[_ACC] << n) | (value & ((np.int64(1) << n) - 1))
    while nbits >= 8:
        nbits -= 8
        p = s[_BPOS]
        if p < buf.shape[0]:
            buf[p] = (acc >> nbits) & 0xFF
        else:
            s[_BOVER] = 1
        s[_BPOS] = p + 1
    s[_ACC] = acc & ((np.int64(1) << nbits) - 1)
    s[_NBITS] = nbits


@njit(cache=True)
def bw_bits(s):
    """Bits written so far."""
    return s[_BPOS] * 8 + s[_NBITS]


@njit(cache=True)
def bw_size(s):
    """Bytes the stream would take if finished now."""
    return s[_BPOS] + (1 if s[_NBITS] > 0 else 0)


@njit(cache=True)
def bw_finish(s, buf):
    """Pad the last byte with zeros; return the byte count (``-1`` if it overflowed)."""
    while s[_NBITS] != 0:
        bw_put(s, buf, 0)
    if s[_BOVER]:
        return -1
    return s[_BPOS]


@njit(cache=True)
def br_new():
    """Raw bit-reader state at bit 0."""
    return np.zeros(4, dtype=np.int64)


@njit(cache=True)
def br_get(s, data):
    """Next bit, or 0 with the exhausted flag set past the end of ``data``."""
    pos = s[_BPOS]
    byte = pos >> 3
    if byte >= data.shape[0]:
        s[_BOVER] = 1
        s[_BPOS] = pos + 1
        return 0
    s[_BPOS] = pos + 1
    return (np.int64(data[byte]) >> (7 - (pos & 7))) & 1


@njit(cache=True)
def br_get_bits(s, data, n):
    """The next ``n`` bits as an unsigned integer (MSB first), a byte at a time; zeros past the end."""
    value = np.int64(0)
    pos = s[_BPOS]
    while n > 0:
        byte = pos >> 3
        used = pos & 7
        take = min(8 - used, n)
        if byte < data.shape[0]:
            chunk = (np.int64(data[byte]) >> (8 - used - take)) & ((1 << take) - 1)
        else:
            chunk = np.int64(0)
            s[_BOVER] = 1
        value = (value << take) | chunk
        pos += take
        n -= take
    s[_BPOS] = pos
    return value


@njit(cache=True)
def br_exhausted(s, data):
    """True once a read went past the end of ``data``."""
    return s[_BOVER] == 1


# ------------------------------------------------------------------------------------------
# Integer binarisation on top of the range coder (for codecs that code integers, e.g. PCA)
# ------------------------------------------------------------------------------------------

N_EXPGOLOMB_MODELS = 2 + 2 * 20  # zero flag, sign, prefix (unary) and suffix contexts


@njit(cache=True)
def enc_signed(s, buf, models, base, value):
    """Code a signed integer: zero flag, sign, adaptive Exp-Golomb magnitude.

    ``models[base : base + N_EXPGOLOMB_MODELS]`` hold the contexts, so a caller can give each
    kind of data (e.g. each principal component) its own statistics.
    """
    if value == 0:
        enc_bit(s, buf, models, base, 0)
        return
    enc_bit(s, buf, models, base, 1)
    enc_bit(s, buf, models, base + 1, 1 if value < 0 else 0)
    m = abs(value) - 1  # >= 0
    # Exp-Golomb order 0 of m: k = bit length of (m + 1) - 1; k ones then a zero; then k bits
    v = m + 1
    k = 0
    while (v >> (k + 1)) != 0:
        k += 1
    for i in range(k):
        enc_bit(s, buf, models, base + 2 + min(i, 19), 1)
    enc_bit(s, buf, models, base + 2 + min(k, 19), 0)
    for i in range(k - 1, -1, -1):
        b = (v >> i) & 1
        if i == k - 1:
            enc_bit(s, buf, models, base + 22 + min(k, 19), b)
        else:
            enc_bypass(s, buf, b)


@njit(cache=True)
def dec_signed(s, data, models, base):
    """Decode an integer written by :func:`enc_signed` (bounded: at most 62-bit magnitudes)."""
    if dec_bit(s, data, models, base) == 0:
        return np.int64(0)
    neg = dec_bit(s, data, models, base + 1)
    k = 0
    while dec_bit(s, data, models, base + 2 + min(k, 19)) == 1:
        k += 1
        if k > 62 or dec_exhausted(s, data):
            return np.int64(0)
    v = np.int64(1)
    for i in range(k - 1, -1, -1):
        if i == k - 1:
            b = dec_bit(s, data, models, base + 22 + min(k, 19))
        else:
            b = dec_bypass(s, data)
        v = (v << 1) | b
    mag = v  # = m + 1 = |value|
    return -mag if neg else mag
