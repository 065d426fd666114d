"""Parameters of the adaptive binary models of :mod:`._bits`, importable without numba.

:mod:`.limits` derives the range coder's worst-case output from them while checking a header,
which must not load numba (see :mod:`hsibench._lazy`).
"""

PROB_BITS = 16
PROB_ONE = 1 << PROB_BITS
FAST_SHIFT = 4
SLOW_SHIFT = 7
