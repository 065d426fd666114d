"""coolchic's structure: the latent grids, the stored tensors and their order.  Pure Python.

A structure is ``k`` (spectral basis size = latent channels of every grid), ``levels`` (grids
at full, 1/2, 1/4, ... resolution), ``hidden`` (width of the synthesis MLP; 0: the synthesis is
linear) and ``arm`` (hidden width of the auto-regressive entropy model).  The stored network is
two lists of tensors (:func:`layout`): the weights, 8-bit and range-coded by
:mod:`hsibench.codecs.neural.storage`, and the biases and the band means, stored as float16.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..storage import TensorSpec
from .constants import N_CTX

MAX_K = 64
MAX_LEVELS = 7
MAX_HIDDEN = 64
MAX_ARM = 32


@dataclass(frozen=True)
class Structure:
    """The trainable choices of one coolchic network."""

    k: int
    levels: int
    hidden: int
    arm: int

    def as_dict(self) -> dict:
        return asdict(self)


def max_levels(rows: int, cols: int) -> int:
    """Grids down to about 4 pixels on the short side (1 to ``MAX_LEVELS``)."""
    short = min(rows, cols)
    return max(1, min(MAX_LEVELS, int(math.floor(math.log2(max(short, 1) / 4.0))) + 1))


def grid_shapes(rows: int, cols: int, levels: int) -> list[tuple[int, int]]:
    """(h, w) of every latent grid, finest first: ceil(rows / 2^l) x ceil(cols / 2^l)."""
    return [(-(-rows // (1 << l)), -(-cols // (1 << l))) for l in range(levels)]


def layout(st: Structure, bands: int) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """(8-bit tensors, float16 tensors) in stream order; 8-bit groups are output rows."""
    k, h, a = st.k, st.hidden, st.arm
    q = [TensorSpec("gain", (st.levels, k), True, st.levels)]
    f = []
    if h:
        q += [TensorSpec("mlp1", (h, k * st.levels), True, h), TensorSpec("mlp2", (h, h), True, h),
              TensorSpec("mlp3", (k, h), True, k)]
        f += [TensorSpec("mlp1_b", (h,), False, 1), TensorSpec("mlp2_b", (h,), False, 1), TensorSpec("mlp3_b", (k,), False, 1)]
    q += [TensorSpec("basis", (k, bands), True, k)]
    f += [TensorSpec("mean", (bands,), False, 1)]
    q += [TensorSpec("arm1", (a, N_CTX), True, a), TensorSpec("arm2", (a, a), True, a), TensorSpec("arm3", (2, a), True, 2)]
    f += [TensorSpec("arm1_b", (a,), False, 1), TensorSpec("arm2_b", (a,), False, 1), TensorSpec("arm3_b", (2,), False, 1)]
    return q, f


def latent_count(rows: int, cols: int, st: Structure) -> int:
    return st.k * sum(h * w for h, w in grid_shapes(rows, cols, st.levels))


def macs_per_step(rows: int, cols: int, bands: int, st: Structure) -> float:
    """Multiply-accumulates of one forward pass (synthesis per pixel + ARM per latent)."""
    per_pixel = st.k * st.levels * 16 + st.k * bands  # bicubic taps and the basis
    if st.hidden:
        per_pixel += st.hidden * (st.k * st.levels + st.hidden + st.k)
    per_latent = st.arm * (N_CTX + st.arm + 2)
    return float(rows * cols * per_pixel + latent_count(rows, cols, st) * per_latent)
