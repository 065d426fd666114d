"""coolchic's network in torch: latent grids, upsampling, synthesis, spectral basis, float ARM.

The decoder and the encoder share :func:`synthesise` (upsample every grid bicubically to full
resolution; coefficient ``c`` = sum over levels of ``gain[l, c]`` times grid ``l``'s channel
``c``, plus, with ``hidden > 0``, a per-pixel MLP (1x1 convolutions) of all upsampled grids;
then the learned spectral basis and the band means).  :func:`arm_bits` is the float mirror of
the fixed-point entropy model of :mod:`.entropy` (same contexts, exponents and clamps): the
rate term of training.  This module imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .constants import LN2_Q, LS_MAX, LS_MIN, OFFSETS, SKIP
from .structure import Structure

PROB_FLOOR = 2.0**-16


def upsample(grid: torch.Tensor, level: int, rows: int, cols: int) -> torch.Tensor:
    """A ``(channels, h, w)`` grid of ``level`` upsampled (bicubic) and cropped to ``(channels, rows, cols)``."""
    if level == 0:
        return grid
    up = F.interpolate(grid[None], scale_factor=float(1 << level), mode="bicubic", align_corners=False)
    return up[0, :, :rows, :cols]


def synthesise(grids: list[torch.Tensor], p: dict[str, torch.Tensor], st: Structure, rows: int, cols: int) -> torch.Tensor:
    """The normalised cube, band-first ``(bands, rows, cols)``, from (quantised) grids and tensors ``p``."""
    ups = torch.stack([upsample(g, l, rows, cols) for l, g in enumerate(grids)])  # (levels, k, rows, cols)
    coef = (ups * p["gain"][:, :, None, None]).sum(0)
    if st.hidden:
        u = ups.reshape(st.levels * st.k, rows * cols)
        h1 = F.relu(p["mlp1"] @ u + p["mlp1_b"][:, None])
        h2 = F.relu(p["mlp2"] @ h1 + p["mlp2_b"][:, None])
        coef = coef + (p["mlp3"] @ h2 + p["mlp3_b"][:, None]).reshape(st.k, rows, cols)
    out = p["basis"].t() @ coef.reshape(st.k, rows * cols) + p["mean"][:, None]
    return out.reshape(-1, rows, cols)


def contexts(grid: torch.Tensor, parent: torch.Tensor | None) -> torch.Tensor:
    """``(k, h, w, N_CTX)`` context values of every latent of a grid (see :mod:`.entropy`)."""
    k, h, w = grid.shape
    padded = F.pad(grid, (2, 2, 2, 0))
    cols = [padded[:, 2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w] for dy, dx in OFFSETS]
    if parent is None:
        par = torch.zeros_like(grid)
    else:
        par = parent.repeat_interleave(2, 1).repeat_interleave(2, 2)[:, :h, :w]
    prev = torch.cat([torch.zeros_like(grid[:1]), grid[:-1]], 0)
    return torch.stack(cols + [par, prev], -1)


def laplace_mass(v: torch.Tensor, mu: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """P(V = v) for V a Laplace(mu, b) discretised to integers (numerically stable in both tails)."""
    a = (v - mu).abs()
    e_hi = torch.exp(-(a + 0.5) / b)
    e_lo = torch.exp(-(a - 0.5).abs() / b)
    return torch.where(a >= 0.5, 0.5 * (e_lo - e_hi), 1.0 - 0.5 * (e_lo + e_hi))


def arm_params(grid: torch.Tensor, parent: torch.Tensor | None, e: torch.Tensor, p: dict[str, torch.Tensor]):
    """(mu, log-scale) of every latent of ``grid`` from the float ARM, ``e`` the channel exponents."""
    scale = torch.exp2(e.to(grid.dtype))[:, None, None, None]
    x = contexts(grid, parent) / scale
    h1 = F.relu(x @ p["arm1"].t() + p["arm1_b"])
    h2 = F.relu(h1 @ p["arm2"].t() + p["arm2_b"]) + h1
    o = h2 @ p["arm3"].t() + p["arm3_b"]
    mu = o[..., 0] * scale[..., 0]
    logb = torch.clamp(o[..., 1] + e.to(grid.dtype)[:, None, None] * (LN2_Q / 256.0), LS_MIN, LS_MAX)
    return mu, logb


def arm_bits(grids: list[torch.Tensor], exps: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Total bits of the (quantised or noisy) grids under the float ARM (``SKIP`` channels cost nothing)."""
    total = grids[0].new_zeros(())
    for l in range(len(grids)):
        parent = grids[l + 1] if l + 1 < len(grids) else None
        coded = exps[l] != SKIP
        e = torch.where(coded, exps[l], torch.zeros_like(exps[l]))
        mu, logb = arm_params(grids[l], parent, e, p)
        bits = -torch.log2(torch.clamp(laplace_mass(grids[l], mu, torch.exp(logb)), min=PROB_FLOOR))
        total = total + (bits * coded[:, None, None]).sum()
    return total
