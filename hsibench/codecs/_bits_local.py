"""The coders of :mod:`._bits` with their state in local variables, for hot loops.

:mod:`._bits` keeps a coder's state in a small int64 array, which is convenient but costs a
load and a store per field per decision (the compiler must assume that writing the output
buffer may change the state array).  A coding pass instead *loads* the state into five local
integers with :func:`load`, codes every decision with :func:`decide` (inlined, so the state
stays in registers), and *stores* it back with :func:`store` when the pass ends.  The
arithmetic is exactly that of :mod:`._bits`, so the bytes are identical and both APIs can
be mixed on one stream (e.g. :func:`._bits.enc_finish` after a pass).

One :func:`decide` serves the four directions of a set-partitioning coder (``mode``): encode
or decode, range-coded with adaptive models or raw bits.  It applies the *room rule* of the
coders built on it: the encoder codes a decision only while the stream finished after it
would still fit ``limit`` bytes (a range-coded decision grows the flushed size by at most two
bytes, a raw one by one bit), and the decoder stops as soon as its input is exhausted, so
every decision it returns was read from real bytes and equals the encoder's.  A stopped
:func:`decide` returns ``-1`` as the bit and leaves the state unchanged.

Local state ``(r0, r1, r2, r3, r4)`` per mode:

* ``ENC_AC``: low, range, cache, cache size, output position (``-1`` until the range coder's
  always-zero first byte has been dropped);
* ``DEC_AC``: code, range, input position;
* ``ENC_RAW``: accumulator, bits in it, output position;
* ``DEC_RAW``: input position in bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _bits as B

ENC_AC, DEC_AC, ENC_RAW, DEC_RAW = 0, 1, 2, 3
_TOP = 1 << 24
_MASK32 = (1 << 32) - 1


def mode_of(encode: bool, ac: bool) -> int:
    """The ``mode`` number of a direction and back end."""
    return (ENC_AC if ac else ENC_RAW) if encode else (DEC_AC if ac else DEC_RAW)


@njit(cache=True)
def load(mode, st):
    """The five local state integers of the :mod:`._bits` state array ``st``."""
    if mode == ENC_AC:
        pos = st[B._POS] - 1 if st[B._FIRST] == 1 else st[B._POS]
        return st[B._LOW], st[B._RANGE], st[B._CACHE], st[B._CACHE_SIZE], pos
    if mode == DEC_AC:
        return st[B._CODE], st[B._DRANGE], st[B._DPOS], np.int64(0), np.int64(0)
    if mode == ENC_RAW:
        return st[B._ACC], st[B._NBITS], st[B._BPOS], np.int64(0), np.int64(0)
    return st[B._BPOS], np.int64(0), np.int64(0), np.int64(0), np.int64(0)


@njit(cache=True)
def store(mode, st, nbuf, r0, r1, r2, r3, r4):
    """Write the local state back to ``st`` (``nbuf``: the output buffer's length)."""
    if mode == ENC_AC:
        st[B._LOW] = r0
        st[B._RANGE] = r1
        st[B._CACHE] = r2
        st[B._CACHE_SIZE] = r3
        st[B._FIRST] = 1 if r4 < 0 else 0
        st[B._POS] = r4 if r4 > 0 else 0
        if r4 > nbuf:
            st[B._OVERFLOW] = 1
    elif mode == DEC_AC:
        st[B._CODE] = r0
        st[B._DRANGE] = r1
        st[B._DPOS] = r2
        if r2 > nbuf:
            st[B._EXHAUSTED] = 1
    elif mode == ENC_RAW:
        st[B._ACC] = r0
        st[B._NBITS] = r1
        st[B._BPOS] = r2
        if r2 > nbuf:
            st[B._BOVER] = 1
    else:
        st[B._BPOS] = r0


@njit(cache=True, inline="always")
def _shift_low(low, cache, csize, pos, buf, nbuf):
    """:func:`._bits._shift_low` on local state."""
    if low < 0xFF000000 or low > _MASK32:
        carry = low >> 32
        temp = cache
        while True:
            if pos >= 0 and pos < nbuf:
                buf[pos] = (temp + carry) & 0xFF
            pos += 1
            temp = 0xFF
            csize -= 1
            if csize == 0:
                break
        cache = (low >> 24) & 0xFF
    csize += 1
    low = (low & 0x00FFFFFF) << 8
    return low, cache, csize, pos


@njit(cache=True, inline="always")
def _update(models, c, bit):
    """:func:`._bits._update`: the two-speed probability update of model ``c``."""
    n = np.int64(models[c, 2])
    fast = min(n + 1, B.FAST_SHIFT)
    slow = min(n + 1, B.SLOW_SHIFT)
    pa = np.int64(models[c, 0])
    pb = np.int64(models[c, 1])
    if bit == 0:
        pa += (B.PROB_ONE - 32 - pa) >> fast
        pb += (B.PROB_ONE - 32 - pb) >> slow
    else:
        pa -= (pa - 32) >> fast
        pb -= (pb - 32) >> slow
    models[c, 0] = pa
    models[c, 1] = pb
    if n < 255:
        models[c, 2] = n + 1


@njit(cache=True, inline="always")
def decide(mode, r0, r1, r2, r3, r4, buf, nbuf, models, c, bit, limit):
    """Code (encoder) or read (decoder) one binary decision with model ``c``.

    Returns the new state and the bit (the encoder's ``bit`` echoed), or the old state and
    ``-1`` when the decision does not fit ``limit`` bytes (encoder) or the input is exhausted
    (decoder; ``nbuf`` is then the input's length).
    """
    if mode == ENC_AC:
        if r4 + r3 + 4 + 2 > limit:  # flushed size after this decision could pass the budget
            return r0, r1, r2, r3, r4, np.int64(-1)
        low, rng, cache, csize, pos = r0, r1, r2, r3, r4
        bound = (rng >> B.PROB_BITS) * ((np.int64(models[c, 0]) + np.int64(models[c, 1])) >> 1)
        if bit == 0:
            rng = bound
        else:
            low += bound
            rng -= bound
        _update(models, c, bit)
        while rng < _TOP:
            rng <<= 8
            low, cache, csize, pos = _shift_low(low, cache, csize, pos, buf, nbuf)
        return low, rng, cache, csize, pos, np.int64(bit)
    if mode == DEC_AC:
        if r2 > nbuf:  # the decoder needed bytes beyond the input: stop
            return r0, r1, r2, r3, r4, np.int64(-1)
        code, rng, dpos = r0, r1, r2
        bound = (rng >> B.PROB_BITS) * ((np.int64(models[c, 0]) + np.int64(models[c, 1])) >> 1)
        if code < bound:
            rng = bound
            b = np.int64(0)
        else:
            code -= bound
            rng -= bound
            b = np.int64(1)
        _update(models, c, b)
        while rng < _TOP:
            rng <<= 8
            nxt = np.int64(buf[dpos]) if dpos < nbuf else np.int64(0)
            code = ((code << 8) | nxt) & _MASK32
            dpos += 1
        return code, rng, dpos, r3, r4, b
    if mode == ENC_RAW:
        acc, nbits, bpos = r0, r1, r2
        if bpos * 8 + nbits + 1 > 8 * limit:
            return r0, r1, r2, r3, r4, np.int64(-1)
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
    if byte >= nbuf:
        return r0, r1, r2, r3, r4, np.int64(-1)
    b = (np.int64(buf[byte]) >> (7 - (bpos & 7))) & 1
    return bpos + 1, r1, r2, r3, r4, b
