"""The SIREN of Sitzmann et al. (NeurIPS 2020) as Rezasoltani & Qureshi (2023) use it: (x, y) -> spectrum.

Hidden layers compute ``sin(omega0 * (W x + b))``; the last layer is linear.  Initialisation as
in SIREN: the first layer's weights uniform in ``+-1/fan_in``, the others in
``+-sqrt(6 / fan_in) / omega0``; biases as torch's Linear default.  Coordinates are the pixel
centres on ``[-1, 1]`` in each axis.  :func:`forward` takes the tensors as a list (layout order),
so the quantisation-aware fine-tune and the decoder run the same function.  This module imports
torch.
"""

from __future__ import annotations

import math

import torch

from .structure import Structure, layer_sizes


def coordinates(rows: int, cols: int) -> torch.Tensor:
    """``(rows * cols, 2)`` pixel coordinates in [-1, 1], row-major."""
    ys = torch.linspace(-1.0, 1.0, rows) if rows > 1 else torch.zeros(1)
    xs = torch.linspace(-1.0, 1.0, cols) if cols > 1 else torch.zeros(1)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gy.reshape(-1), gx.reshape(-1)], dim=1)


def initial(st: Structure, bands: int, omega0: float, generator: torch.Generator) -> list[torch.Tensor]:
    """SIREN-initialised tensors in layout order (weight, bias per layer)."""
    out = []
    for i, (n_in, n_out) in enumerate(layer_sizes(st, bands)):
        bound = 1.0 / n_in if i == 0 else math.sqrt(6.0 / n_in) / omega0
        w = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound
        b = (torch.rand(n_out, generator=generator) * 2 - 1) / math.sqrt(n_in)
        out += [w, b]
    return out


def forward(params: list[torch.Tensor], coords: torch.Tensor, omega0: float) -> torch.Tensor:
    """The network's output ``(pixels, bands)`` for ``coords`` ``(pixels, 2)``."""
    h = coords
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i].t() + params[2 * i + 1]
        if i < n - 1:
            h = torch.sin(omega0 * h)
    return h
