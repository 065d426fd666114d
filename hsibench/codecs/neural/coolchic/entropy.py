"""Fixed-point entropy model of coolchic's integer latents and their range coding.

Every latent is coded with a discretised Laplace distribution whose mean and scale an
auto-regressive model (ARM) predicts from already-coded latents: 12 causal neighbours in the
same grid (the two rows above within +-2 columns, the two to the left), the co-located latent
of the next coarser grid (its "parent") and the co-located latent of the previous channel of the
same grid.  The decode order is coarsest grid first, channel by channel, raster order, so every
context value is known to the decoder when it needs it.

Encoder and decoder must compute *identical* probabilities, on any machine.  So the coding
model is evaluated in integers only: the ARM (``N_CTX -> A -> A -> 2`` with ReLU and a residual
connection) runs in fixed point (weights with ``FW`` fractional bits, activations with ``FA``),
the Laplace CDF comes from integer tables of ``exp(-i/256)`` built with exact integer
arithmetic (:func:`tables`, from :mod:`decimal`), and each binary decision of the binarised
symbol is coded by the project's range coder with a 16-bit probability computed from those
CDF values (:func:`hsibench.codecs._bits.enc_bit_p`).  Training uses the float mirror of the
same model (:mod:`.model`); the fixed-point version differs from it by rounding only, which
costs a fraction of a percent of rate.

Per channel of each grid, a power-of-two exponent ``e`` normalises the ARM's inputs
(``x / 2^e``) and scales its outputs (``mu * 2^e``, ``log b + e ln 2``), so one small ARM serves
channels whose latents differ by orders of magnitude (the exponents are stored, 4 bits each;
the value ``SKIP`` marks a channel whose latents are all zero, which costs nothing more).

A symbol ``v`` with predicted mean ``mu`` (mode ``m = round(mu)``) is binarised as: ``v == m``?,
then the side (``v > m``?), then the distance ``a = |v - m| >= 1`` as an Elias-gamma style
bucket index (unary: ``a >= 2^(j+1)``?) and a binary search inside the bucket.  Every decision's
probability is the exact conditional probability of the Laplace model (ratios of CDF values), so
the binarisation loses nothing but fixed-point rounding.

The decoder bounds everything that comes from the stream: latents beyond ``MAX_LATENT`` and a
stream that ends before the last latent raise ``CorruptDataError`` in :func:`decode_latents`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Context, Decimal

import numpy as np
from numba import njit

from ....errors import CorruptDataError
from ... import _bits as rc
from .constants import (  # noqa: F401  (also this module's API)
    FA, FW, FMU, LS_MIN_Q, LS_MAX_Q, LS_MIN, LS_MAX, LN2_Q, ONE, N_EXP, MAX_LATENT, MAX_EXPONENT,
    SKIP, ACT_CLAMP, W_CLAMP, PMIN, JMAX, OFFSETS, N_CTX,
)

_DY = np.array([o[0] for o in OFFSETS], dtype=np.int64)
_DX = np.array([o[1] for o in OFFSETS], dtype=np.int64)


@functools.lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(EXP, INVB): ``EXP[i] = 2^31 exp(-i/256)`` and ``INVB[i] = 2^24 exp(-(LS_MIN_Q + i)/256)``.

    Built by exact integer recurrences from constants computed with :mod:`decimal` (a software
    implementation, identical everywhere), so the tables are the same bits on every machine.
    """
    ctx = Context(prec=60)
    frac = 64
    step = int(ctx.exp(Decimal(-1) / 256) * (1 << frac))  # exp(-1/256) in Q64

    def run(start: int, n: int, shift: int) -> np.ndarray:
        v, out = start, []
        for _ in range(n):
            out.append((v + (1 << (frac - 1))) >> frac if shift == 0 else v >> frac)
            v = (v * step) >> frac
        return np.array(out, dtype=np.int64)

    exp_t = run(ONE << frac, N_EXP, 0)
    invb0 = int(ctx.exp(Decimal(-LS_MIN_Q) / 256) * (1 << (24 + frac)))
    invb_t = run(invb0, LS_MAX_Q - LS_MIN_Q + 1, 0)
    return exp_t, invb_t


# ----------------------------------------------------------------------------------------------
# Fixed-point Laplace binarisation
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _cdf(x2, mu_q, invb, exp_t):
    """CDF (Q31) of the Laplace(mu, b) at x = x2 / 2 (x2 an odd integer: a half-integer point)."""
    d = (x2 << (FMU - 1)) - mu_q
    a = d if d >= 0 else -d
    t = (a * invb) >> 24
    e = exp_t[t] if t < exp_t.shape[0] else 0
    if d >= 0:
        return ONE - (e >> 1)
    return e >> 1


@njit(cache=True, inline="always")
def _tail(side, m, k, mu_q, invb, exp_t):
    """Mass of the values at distance >= k from the mode m on one side (0: above, 1: below)."""
    if side == 0:
        return ONE - _cdf(2 * (m + k) - 1, mu_q, invb, exp_t)
    return _cdf(2 * (m - k) + 1, mu_q, invb, exp_t)


@njit(cache=True, inline="always")
def _prob(num, den):
    """16-bit probability of a zero for a decision whose zero has mass ``num`` out of ``den``."""
    if den <= 0:
        return 32768
    p = (num << 16) // den
    if p < PMIN:
        return PMIN
    if p > 65536 - PMIN:
        return 65536 - PMIN
    return p


@njit(cache=True, inline="always")
def _decision(st, buf, data, decode, p, bit):
    if decode:
        return rc.dec_bit_p(st, data, p)
    rc.enc_bit_p(st, buf, p, bit)
    return bit


@njit(cache=True)
def _symbol(st, buf, data, decode, v, mu_q, ls_q, exp_t, invb_t):
    """Code (or decode, returning it) one integer with the Laplace(mu_q / 2^8, exp(ls_q / 2^8))."""
    invb = invb_t[ls_q - LS_MIN_Q]
    m = (mu_q + (1 << (FMU - 1))) >> FMU
    lo = _cdf(2 * m - 1, mu_q, invb, exp_t)
    hi = _cdf(2 * m + 1, mu_q, invb, exp_t)
    if _decision(st, buf, data, decode, _prob(hi - lo, ONE), 0 if v == m else 1) == 0:
        return m
    right = ONE - hi
    side = _decision(st, buf, data, decode, _prob(right, right + lo), 0 if v > m else 1)
    a = v - m if side == 0 else m - v
    j = 0
    while j < JMAX:
        t_lo = _tail(side, m, 1 << j, mu_q, invb, exp_t)
        t_hi = _tail(side, m, 1 << (j + 1), mu_q, invb, exp_t)
        if _decision(st, buf, data, decode, _prob(t_lo - t_hi, t_lo), 1 if a >= (1 << (j + 1)) else 0) == 0:
            break
        j += 1
    lo_a = 1 << j
    hi_a = (1 << (j + 1)) - 1
    while lo_a < hi_a:
        mid = (lo_a + hi_a) >> 1
        t0 = _tail(side, m, lo_a, mu_q, invb, exp_t)
        tm = _tail(side, m, mid + 1, mu_q, invb, exp_t)
        th = _tail(side, m, hi_a + 1, mu_q, invb, exp_t)
        if _decision(st, buf, data, decode, _prob(t0 - tm, t0 - th), 0 if a <= mid else 1) == 0:
            hi_a = mid
        else:
            lo_a = mid + 1
    return m + lo_a if side == 0 else m - lo_a


# ----------------------------------------------------------------------------------------------
# Fixed-point ARM and the coding loop
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _clamp(v, lim):
    if v > lim:
        return lim
    if v < -lim:
        return -lim
    return v


@njit(cache=True)
def _arm(x0, e, w1, b1, w2, b2, w3, b3, h1, h2):
    """(mu_q, ls_q) of the fixed-point ARM for inputs ``x0`` (Q``FA``) of a channel with exponent ``e``."""
    na = b1.shape[0]
    for a in range(na):
        acc = np.int64(0)
        for k in range(x0.shape[0]):
            acc += w1[a, k] * x0[k]
        v = (acc >> FW) + b1[a]
        h1[a] = _clamp(v, ACT_CLAMP) if v > 0 else 0
    for a in range(na):
        acc = np.int64(0)
        for k in range(na):
            acc += w2[a, k] * h1[k]
        v = (acc >> FW) + b2[a]
        h2[a] = _clamp((v if v > 0 else 0) + h1[a], ACT_CLAMP)
    acc0 = np.int64(0)
    acc1 = np.int64(0)
    for k in range(na):
        acc0 += w3[0, k] * h2[k]
        acc1 += w3[1, k] * h2[k]
    o0 = (acc0 >> FW) + b3[0]
    o1 = (acc1 >> FW) + b3[1]
    s = e + FMU - FA
    mu_q = o0 << s if s >= 0 else o0 >> (-s)
    mu_q = _clamp(mu_q, MAX_LATENT << FMU)
    ls_q = (o1 >> (FA - FMU)) + e * LN2_Q
    if ls_q < LS_MIN_Q:
        ls_q = LS_MIN_Q
    if ls_q > LS_MAX_Q:
        ls_q = LS_MAX_Q
    return mu_q, ls_q


@njit(cache=True)
def _code_all(decode, lat, starts, hs, ws, n_ch, exps, w1, b1, w2, b2, w3, b3, exp_t, invb_t, buf, data):
    """Code every latent of ``lat`` (flat: level l, channel c, row, col) coarsest level first.

    Returns the byte count (encode; -1 if ``buf`` overflowed) or a status (decode: 0 ok,
    1 a latent out of range, 2 the data ended early).
    """
    levels = starts.shape[0]
    x0 = np.zeros(N_CTX, dtype=np.int64)
    na = b1.shape[0]
    h1 = np.zeros(na, dtype=np.int64)
    h2 = np.zeros(na, dtype=np.int64)
    st = rc.dec_new(data) if decode else rc.enc_new()
    for l in range(levels - 1, -1, -1):
        h = hs[l]
        w = ws[l]
        base = starts[l]
        for c in range(n_ch):
            e = exps[l, c]
            if e == SKIP:  # all zero: nothing coded (lat holds zeros there)
                continue
            sh = FA - e
            cb = base + c * h * w
            for i in range(h):
                for j in range(w):
                    for k in range(N_CTX - 2):
                        ii = i + _DY[k]
                        jj = j + _DX[k]
                        if ii >= 0 and jj >= 0 and jj < w:
                            x0[k] = lat[cb + ii * w + jj] << sh
                        else:
                            x0[k] = 0
                    if l + 1 < levels:
                        pw = ws[l + 1]
                        x0[N_CTX - 2] = lat[starts[l + 1] + c * hs[l + 1] * pw + (i >> 1) * pw + (j >> 1)] << sh
                    else:
                        x0[N_CTX - 2] = 0
                    x0[N_CTX - 1] = lat[cb - h * w + i * w + j] << sh if c > 0 else 0
                    mu_q, ls_q = _arm(x0, e, w1, b1, w2, b2, w3, b3, h1, h2)
                    idx = cb + i * w + j
                    v = _symbol(st, buf, data, decode, lat[idx], mu_q, ls_q, exp_t, invb_t)
                    if decode:
                        if v > MAX_LATENT or v < -MAX_LATENT:
                            return 1
                        if rc.dec_exhausted(st, data):
                            return 2
                        lat[idx] = v
    if decode:
        return 0
    return rc.enc_finish(st, buf)


# ----------------------------------------------------------------------------------------------
# Python API
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedArm:
    """The ARM in fixed point: int64 weights (Q``FW``) and biases (Q``FA``), from float32 tensors."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    w3: np.ndarray
    b3: np.ndarray

    @classmethod
    def from_float(cls, w1, b1, w2, b2, w3, b3) -> "FixedArm":
        """Round float32 weights to fixed point (round half to even in float64: the same bits everywhere)."""

        def fx(a, bits, lim):
            v = np.rint(np.asarray(a, dtype=np.float32).astype(np.float64) * float(1 << bits))
            return np.clip(v, -lim, lim).astype(np.int64)

        return cls(fx(w1, FW, W_CLAMP), fx(b1, FA, ACT_CLAMP), fx(w2, FW, W_CLAMP), fx(b2, FA, ACT_CLAMP),
                   fx(w3, FW, W_CLAMP), fx(b3, FA, ACT_CLAMP))


def _layout(shapes: list[tuple[int, int]], channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    hs = np.array([s[0] for s in shapes], dtype=np.int64)
    ws = np.array([s[1] for s in shapes], dtype=np.int64)
    sizes = channels * hs * ws
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return starts, hs, ws, int(sizes.sum())


def encode_latents(grids: list[np.ndarray], exps: np.ndarray, arm: FixedArm) -> bytes:
    """Range-code integer grids ``grids[l]`` of shape ``(channels, h_l, w_l)`` (level 0 finest)."""
    channels = grids[0].shape[0]
    starts, hs, ws, n = _layout([g.shape[1:] for g in grids], channels)
    lat = np.concatenate([np.asarray(g, dtype=np.int64).reshape(-1) for g in grids])
    if np.abs(lat).max(initial=0) > MAX_LATENT:
        raise ValueError(f"latents must lie within +-{MAX_LATENT}")
    exp_t, invb_t = tables()
    ex = np.ascontiguousarray(exps, dtype=np.int64)
    cap = 2 * n + 1024
    while True:
        buf = np.zeros(cap, dtype=np.uint8)
        size = _code_all(False, lat, starts, hs, ws, channels, ex, arm.w1, arm.b1, arm.w2, arm.b2, arm.w3, arm.b3,
                         exp_t, invb_t, buf, np.zeros(1, np.uint8))
        if size >= 0:
            return buf[:size].tobytes()
        cap *= 4


def decode_latents(data: bytes, shapes: list[tuple[int, int]], channels: int, exps: np.ndarray,
                   arm: FixedArm) -> list[np.ndarray]:
    """Inverse of :func:`encode_latents`; ``CorruptDataError`` on a malformed or truncated stream."""
    starts, hs, ws, n = _layout(shapes, channels)
    lat = np.zeros(n, dtype=np.int64)
    exp_t, invb_t = tables()
    status = _code_all(True, lat, starts, hs, ws, channels, np.ascontiguousarray(exps, dtype=np.int64), arm.w1, arm.b1,
                       arm.w2, arm.b2, arm.w3, arm.b3, exp_t, invb_t, np.zeros(1, np.uint8),
                       np.frombuffer(data, dtype=np.uint8).copy())  # writable: one compiled signature
    if status == 1:
        raise CorruptDataError("a coolchic latent decodes out of range: the stream is corrupted")
    if status == 2:
        raise CorruptDataError("the coolchic latent stream ends early: the stream is truncated")
    return [lat[s : s + channels * h * w].reshape(channels, h, w) for s, h, w in zip(starts, hs, ws)]
