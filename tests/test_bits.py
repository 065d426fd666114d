"""The bit-twiddling helpers of hsibench.codecs._bits agree with Python's integers."""

import numpy as np
from numba import njit

from hsibench.codecs import _bits as B


@njit(cache=False)
def _both(values):
    out = np.empty((values.shape[0], 2), dtype=np.int64)
    for i in range(values.shape[0]):
        out[i, 0] = B.top_bit(values[i])
        out[i, 1] = B.bit_length(values[i])
    return out


def test_top_bit_and_bit_length_match_python():
    edges = [0, 1, 2, 3, 4, 7, 8, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1]
    rng = np.random.default_rng(1)
    values = np.array(edges + list(rng.integers(0, 2**32, 500)), dtype=np.int64)
    got = _both(values)
    for v, (top, length) in zip(values.tolist(), got.tolist()):
        assert length == v.bit_length()
        assert top == v.bit_length() - 1
    big = np.array([2**40, 2**62 + 5], dtype=np.int64)  # top_bit covers all of int64's non-negative range
    assert [int(t) for t in _both(big)[:, 0]] == [40, 62]
