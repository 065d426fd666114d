"""Rate control of ccsds123: the absolute error limits that fill a byte budget.

The stream size falls as the absolute error limit a grows, but in whole steps: from a to a + 1
the rate drops by roughly log2((2a + 3) / (2a + 1)) bits per sample, far more than 3 % at small
a.  So the search runs in two stages, both on the real coder's exact byte counts:

1. the smallest uniform limit a whose stream fits (until one fits, each step extrapolates with
   the slope between the last two sizes, stretched by half: at low rates, where the
   block-adaptive coder's zero blocks take over, the rate falls far slower than 1 bit per
   sample per doubling of 2a + 1);
2. if that stream fills less than 99.5 % of the budget, the standard's band-dependent limits
   close the gap: the first j bands get a − 1, the others a, and j is searched for a stream
   that fits and fills 99.5 % (the table of limits costs N_Z·D_A header bits, counted).

Each stage is an interpolation search with a bisection safeguard.  Stage 1 interpolates in
log2(2a + 1), in which the rate of a uniform quantiser of step 2a + 1 is close to linear
(slope -1 bit per sample at high rate); stage 2 interpolates in j, in which the size is close
to linear.  On the shared cubes a search takes 4 to 8 encodes.  The maximum error is a.
"""

from __future__ import annotations

import math
from typing import Callable

TOLERANCE = 0.995  # accept a stream once it fills this share of the budget (equal-bytes comparisons need it)
_AIM = 0.9975  # stage 2 aims between the tolerance and the budget
_INTERPOLATIONS = 6  # then plain bisection, so every search ends
_OVERSHOOT = 1.5  # before a limit that fits is known, step this far past the secant's estimate


def _x(a: int) -> float:
    return math.log2(2 * a + 1)


def _a(x: float) -> float:
    return (2.0**x - 1.0) / 2.0


def _smallest_fitting(size_at, s0: int, a_max: int, budget: int, voxels: int):
    """(a, size at a, size at a - 1) for the smallest a in 1..a_max whose size fits; size_at(0) = s0 > budget."""
    lo, s_lo = 0, s0
    prev, s_prev = None, None  # the previous lo, for the measured slope
    hi, s_hi = None, None
    trials = 0
    while hi is None or hi - lo > 1:
        upper = a_max if hi is None else hi - 1
        if hi is None and (prev is None or s_prev <= s_lo):  # extrapolate from lo with the high-rate slope
            need = 8.0 * (s_lo - _AIM * budget) / voxels
            cand = math.ceil(_a(_x(lo) + need))
        elif hi is None:  # the measured slope, flatter at low rates, with a step past it to find a bracket
            step = _OVERSHOOT * (s_lo - _AIM * budget) / (s_prev - s_lo) * (_x(lo) - _x(prev))
            cand = math.ceil(_a(_x(lo) + step))
        elif trials < _INTERPOLATIONS:
            x = _x(lo) + (s_lo - budget) / (s_lo - s_hi) * (_x(hi) - _x(lo))
            cand = math.ceil(_a(x))
        else:
            cand = (lo + hi) // 2
        cand = min(max(cand, lo + 1), upper)
        size = size_at(cand)
        trials += 1
        if size <= budget:
            hi, s_hi = cand, size
        elif cand == a_max:
            return None
        else:
            prev, s_prev = lo, s_lo
            lo, s_lo = cand, size
    return hi, s_hi, s_lo


def search(size_of: Callable[[tuple[int, ...]], int], bands: int, a_max: int, budget: int, voxels: int) -> tuple[int, ...] | None:
    """Per-band absolute limits whose stream (``size_of(limits)`` bytes) fits ``budget``.

    Returns all zeros (lossless) when the lossless stream fits, ``None`` when not even
    ``a_max`` everywhere fits.
    """
    s0 = size_of((0,) * bands)
    if s0 <= budget:
        return (0,) * bands
    found = _smallest_fitting(lambda a: size_of((a,) * bands), s0, a_max, budget, voxels)
    if found is None:
        return None
    a, best_size, s_below = found
    best = (a,) * bands
    if best_size >= TOLERANCE * budget:
        return best
    j_fit, s_fit = 0, best_size  # the first j bands at a - 1: j = bands is known not to fit
    j_over, s_over = bands, s_below
    trials = 0
    while j_over - j_fit > 1 and best_size < TOLERANCE * budget:
        if trials < _INTERPOLATIONS and s_over > s_fit:
            j = j_fit + int((_AIM * budget - s_fit) / (s_over - s_fit) * (j_over - j_fit))
        else:
            j = (j_fit + j_over) // 2
        j = min(max(j, j_fit + 1), j_over - 1)
        limits = (a - 1,) * j + (a,) * (bands - j)
        size = size_of(limits)
        trials += 1
        if size <= budget:
            j_fit, s_fit, best, best_size = j, size, limits, size
        else:
            j_over, s_over = j, size
    return best
