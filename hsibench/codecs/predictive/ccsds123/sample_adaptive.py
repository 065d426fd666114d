"""The CCSDS 123.0-B-2 sample-adaptive entropy coder (section 5.4.3.2), numba kernels.

Every mapped quantizer index δ_z(t) gets a length-limited Golomb power-of-two codeword whose
parameter k_z(t) comes from an adaptive per-band accumulator Σ_z(t) and a counter Γ(t):

* t = 0 (the first pixel): δ_z(0) as a plain D-bit integer;
* Γ(1) = 2^γ₀, Σ_z(1) = ⌊(3·2^(k'_z+6) − 49)·Γ(1) / 2^7⌋ with k'_z from the accumulator
  initialisation constant K (k' = K if K <= 30 − D, else 2K + D − 30);
* for t > 1: Γ and Σ_z grow by 1 and by δ_z(t−1), both halved (Σ rounding up) when Γ(t−1)
  reaches 2^γ* − 1;
* k_z(t) = 0 if 2Γ > Σ + ⌊49Γ/2^7⌋, else the largest k <= D − 2 with Γ·2^k <= Σ + ⌊49Γ/2^7⌋;
* codeword: u = ⌊δ/2^k⌋ zeros, a one, the k low bits of δ; or, when u >= U_max, U_max zeros
  and δ in D bits.

The statistics of band z depend only on that band's earlier δ, so the bit order is just a
walk over the image: band-interleaved by pixel rows in sub-frames of M bands, or band
sequential (5.4.2).  One walker serves counting (for the rate search), writing and reading.
The body is padded with zeros to a whole number of output words (B bytes).  Reading is bounded:
a stream that ends early sets a flag instead of reading past its end.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ... import _bits
from .header import Config

_COUNT, _WRITE, _READ = 0, 1, 2


@njit(cache=True, inline="always")
def _code_parameter(acc, cnt, D):
    total = acc + ((49 * cnt) >> 7)
    if 2 * cnt > total:
        return 0
    k = 1
    while k < D - 2 and (cnt << (k + 1)) <= total:
        k += 1
    return min(k, D - 2)


@njit(cache=True, inline="always")
def _sample(mode, delta, y, x, z, cols, D, u_max, gamma_0, gamma_star, kprime, acc, cnt, state, buf, data):
    """Count, write or read the codeword of δ_z(t) at (y, x, z); return its length in bits."""
    t = y * cols + x
    if t == 0:
        if mode == _WRITE:
            _bits.bw_put_bits(state, buf, delta[y, x, z], D)
        elif mode == _READ:
            delta[y, x, z] = _bits.br_get_bits(state, data, D)
        return D
    if t == 1:
        cnt[z] = np.int64(1) << gamma_0
        acc[z] = ((3 * (np.int64(1) << (kprime + 6)) - 49) * cnt[z]) >> 7
    else:
        py, px = (y, x - 1) if x > 0 else (y - 1, cols - 1)
        prev = np.int64(delta[py, px, z])
        if cnt[z] == (np.int64(1) << gamma_star) - 1:
            cnt[z] = (cnt[z] + 1) >> 1
            acc[z] = (acc[z] + prev + 1) >> 1
        else:
            cnt[z] += 1
            acc[z] += prev
    k = _code_parameter(acc[z], cnt[z], D)
    if mode == _READ:
        zeros = 0
        while zeros < u_max and _bits.br_get(state, data) == 0:
            zeros += 1
            if _bits.br_exhausted(state, data):
                return 0
        if zeros == u_max:
            delta[y, x, z] = _bits.br_get_bits(state, data, D)
            return u_max + D
        delta[y, x, z] = (zeros << k) | _bits.br_get_bits(state, data, k)
        return zeros + 1 + k
    value = np.int64(delta[y, x, z])
    zeros = value >> k
    if zeros >= u_max:
        if mode == _WRITE:
            _bits.bw_put_bits(state, buf, 0, u_max)
            _bits.bw_put_bits(state, buf, value, D)
        return u_max + D
    if mode == _WRITE:
        _bits.bw_put_bits(state, buf, 0, zeros)
        _bits.bw_put_bits(state, buf, 1, 1)
        _bits.bw_put_bits(state, buf, value, k)
    return zeros + 1 + k


@njit(cache=True)
def walk(mode, delta, bsq, M, D, u_max, gamma_0, gamma_star, kprime, buf, data):
    """Visit every sample in the encoding order; return the body's length in bits.

    ``mode`` 0 counts, 1 writes into ``buf`` (uint8; returns -1 if it is too small), 2 reads
    from ``data`` into ``delta`` (returns -1 if the data end too early).
    """
    bands = delta.shape[2]
    state = _bits.bw_new() if mode == _WRITE else _bits.br_new()
    return _walk(mode, delta, bsq, M, D, u_max, gamma_0, gamma_star, kprime, buf, data, np.zeros(bands, dtype=np.int64),
                 np.zeros(bands, dtype=np.int64), state)


@njit(cache=True, _nrt=False)
def _walk(mode, delta, bsq, M, D, u_max, gamma_0, gamma_star, kprime, buf, data, acc, cnt, state):
    """:func:`walk` in its state arrays.  Compiled without reference counting (``_nrt=False``):
    every array passed to the inlined :func:`_sample` would otherwise cost an atomic increment
    and decrement per sample."""
    rows, cols, bands = delta.shape
    total = np.int64(0)
    if bsq:
        for z in range(bands):
            for y in range(rows):
                for x in range(cols):
                    total += _sample(mode, delta, y, x, z, cols, D, u_max, gamma_0, gamma_star, kprime[z], acc, cnt, state, buf, data)
            if mode == _READ and _bits.br_exhausted(state, data):
                return -1
    else:
        for y in range(rows):
            for z0 in range(0, bands, M):
                z1 = min(z0 + M, bands)
                for x in range(cols):
                    for z in range(z0, z1):
                        total += _sample(mode, delta, y, x, z, cols, D, u_max, gamma_0, gamma_star, kprime[z], acc, cnt, state, buf, data)
            if mode == _READ and _bits.br_exhausted(state, data):
                return -1
    if mode == _WRITE and _bits.bw_finish(state, buf) < 0:
        return -1
    return total


def _kprime(cfg: Config) -> np.ndarray:
    k = cfg.K
    value = k if k <= 30 - cfg.D else 2 * k + cfg.D - 30
    return np.full(cfg.bands, value, dtype=np.int64)


def padded_bytes(cfg: Config, bits: int) -> int:
    """Bytes a body of ``bits`` bits takes once filled to whole output words (B bytes each)."""
    word = 8 * cfg.B
    return (bits + word - 1) // word * cfg.B


def body_size(cfg: Config, delta: np.ndarray) -> int:
    """Bytes the coded body of ``delta`` takes, fill to whole output words included."""
    empty = np.zeros(0, dtype=np.uint8)
    bits = walk(_COUNT, delta, cfg.bsq, cfg.M, cfg.D, cfg.u_max, cfg.gamma_0, cfg.gamma_star, _kprime(cfg), empty, empty)
    return padded_bytes(cfg, int(bits))


def encode(cfg: Config, delta: np.ndarray) -> bytes:
    """The coded body of the mapped quantizer indices ``delta`` (int32, image shape)."""
    # the raw image's size first (bodies are smaller unless the data are noise), then the
    # size of every codeword at its longest, U_max + D bits
    for bits_per_sample in (cfg.D, cfg.u_max + cfg.D):
        buf = np.zeros(cfg.voxels * bits_per_sample // 8 + 8, dtype=np.uint8)
        bits = walk(_WRITE, delta, cfg.bsq, cfg.M, cfg.D, cfg.u_max, cfg.gamma_0, cfg.gamma_star, _kprime(cfg), buf, buf)
        if bits >= 0:
            body = buf[: (bits + 7) // 8].tobytes()
            return body + bytes(padded_bytes(cfg, bits) - len(body))
    raise AssertionError("a body longer than U_max + D bits per sample cannot happen")


def decode(cfg: Config, body: np.ndarray) -> tuple[np.ndarray, int]:
    """δ decoded from ``body`` (uint8) and the bits read, or -1 bits if the body ends too early."""
    delta = np.zeros((cfg.rows, cfg.cols, cfg.bands), dtype=np.int32)
    unused = np.zeros(0, dtype=np.uint8)
    bits = walk(_READ, delta, cfg.bsq, cfg.M, cfg.D, cfg.u_max, cfg.gamma_0, cfg.gamma_star, _kprime(cfg), unused, body)
    return delta, int(bits)
