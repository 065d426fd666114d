"""Constants of coolchic's fixed-point entropy model, numba-free so `import hsibench.codecs` stays light.

:mod:`.entropy` (the numba coder, loaded on first use) and the numba-free modules that only need
the model's sizes and ranges (:mod:`.structure`, :mod:`.model`, :mod:`.train`, the codec) share
them from here; :mod:`.entropy`'s docstring says what each means.
"""

from __future__ import annotations

FA = 14  # fractional bits of the ARM's activations
FW = 12  # fractional bits of the ARM's weights
FMU = 8  # fractional bits of mu, of the log-scale and of t = |x - mu| / b
LS_MIN_Q, LS_MAX_Q = -1178, 2304  # log-scale range in Q8: b in [0.0100, 8103]
LS_MIN, LS_MAX = LS_MIN_Q / 256.0, LS_MAX_Q / 256.0
LN2_Q = 177  # ln 2 in Q8 (the float model uses the same 177/256)
ONE = 1 << 31  # probability one of the CDF tables
N_EXP = 32 * 256  # exp(-t) for t < 32 (beyond: below 2^-31, i.e. zero)
MAX_LATENT = (1 << 15) - 1
MAX_EXPONENT = FA  # per-channel exponents 0..14 (4 bits)
SKIP = 15  # the exponent nibble that marks a channel whose latents are all zero: it is not coded at all
ACT_CLAMP = 1 << 30  # hidden activations are clamped here (both sides), so int64 never overflows
W_CLAMP = 1 << 18  # |weight| < 64 in fixed point
PMIN = 16  # decisions are never more certain than 1 - 2^-12
JMAX = 17  # bucket bound: distances below 2^18

OFFSETS = ((-2, -2), (-2, -1), (-2, 0), (-2, 1), (-2, 2), (-1, -2), (-1, -1), (-1, 0), (-1, 1), (-1, 2), (0, -2), (0, -1))
N_CTX = len(OFFSETS) + 2  # + parent + previous channel
