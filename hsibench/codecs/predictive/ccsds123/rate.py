"""Rate control of ccsds123: the absolute error limits that fill a byte budget.

The stream size falls as the absolute error limit a grows, but in whole steps: from a to a + 1
the rate drops by roughly log2((2a + 3) / (2a + 1)) bits per sample, far more than 3 % at small
a.  So the search runs in two stages, both with the real coder's exact byte counts:

1. the smallest uniform limit a whose stream fits (a doubling search, then bisection);
2. if that stream fills less than 97 % of the budget, the standard's band-dependent limits
   close the gap: the first j bands get a − 1, the others a, and j is bisected for the largest
   stream that still fits (the table of limits costs N_Z·D_A header bits, counted).

The maximum error is then a (at most one step above what a uniform search could promise).
"""

from __future__ import annotations

from typing import Callable

TOLERANCE = 0.97  # accept a stream once it fills this share of the budget


def search(size_of: Callable[[tuple[int, ...]], int], bands: int, a_max: int, budget: int) -> tuple[int, ...] | None:
    """Per-band absolute limits whose stream (``size_of(limits)`` bytes) fits ``budget``.

    Returns all zeros (lossless) when the lossless stream fits, ``None`` when not even
    ``a_max`` everywhere fits.
    """

    def uniform(a: int) -> tuple[int, ...]:
        return (a,) * bands

    if size_of(uniform(0)) <= budget:
        return uniform(0)
    lo, a = 0, 1  # lo: the largest limit known not to fit
    while True:
        a = min(a, a_max)
        best_size = size_of(uniform(a))
        if best_size <= budget:
            hi = a
            break
        if a == a_max:
            return None
        lo, a = a, 2 * a
    while hi - lo > 1:
        mid = (lo + hi) // 2
        trial = size_of(uniform(mid))
        if trial <= budget:
            hi, best_size = mid, trial
        else:
            lo = mid
    best = uniform(hi)
    j_fit, j_over = 0, bands  # the first j bands at hi - 1 = lo: j = bands is known not to fit
    while j_over - j_fit > 1 and best_size < TOLERANCE * budget:
        j = (j_fit + j_over) // 2
        limits = (lo,) * j + (hi,) * (bands - j)
        trial = size_of(limits)
        if trial <= budget:
            j_fit, best, best_size = j, limits, trial
        else:
            j_over = j
    return best
