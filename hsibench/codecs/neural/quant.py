"""Training-time simulation of the weight storage (:mod:`.storage`), shared by the network codecs.

A quantisation-aware fine-tune trains through these: the forward pass sees the weights as the
decoder will rebuild them, the gradient passes straight through.  This module imports torch.
"""

from __future__ import annotations

import torch


def fake_quant(w: torch.Tensor, groups: int, qmax: int) -> torch.Tensor:
    """Straight-through per-group symmetric quantisation, mirroring ``storage.quantise``."""
    g = w.reshape(groups, -1)
    scale = g.detach().abs().amax(dim=1) / qmax
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    q = torch.clamp(torch.round(g / scale[:, None]), -qmax, qmax) * scale[:, None]
    return (g + (q - g).detach()).reshape(w.shape)


def fake_half(w: torch.Tensor) -> torch.Tensor:
    """Straight-through float16 rounding."""
    return w + (w.half().float() - w).detach()


def fake_store(w: torch.Tensor, weights: str, quantised: bool, groups: int, qmax: int = 127) -> torch.Tensor:
    """``w`` as storage at precision ``weights`` will give it back (``quantised``: the tensor's spec)."""
    if weights == "int8" and quantised:
        return fake_quant(w, groups, qmax)
    if weights == "float16":
        return fake_half(w)
    return w


def oom_types() -> tuple[type[BaseException], ...]:
    """Exception types torch raises when a device runs out of memory (torch >= 2.2)."""
    types: list[type[BaseException]] = []
    for holder, name in ((torch, "OutOfMemoryError"), (torch.cuda, "OutOfMemoryError")):
        t = getattr(holder, name, None)
        if isinstance(t, type) and t not in types:
            types.append(t)
    return tuple(types) or (RuntimeError,)
