"""The generator of Deng, Cen & Zhang (2020), for training, and its BN-folded deployed form.

Training network (the paper's)::

    z (latent, 50) -> Linear -> reshape (C, h0, w0)
    -> blocks x [conv3x3 (C->C) -> BatchNorm -> ReLU -> bilinear upsampling x2]
    -> conv3x3 (C->bands) -> crop to (rows, cols)

The deployed network is the same with every BatchNorm folded into the convolution before it
(``w' = w * g / sqrt(var + eps)``, ``b' = beta - mean * g / sqrt(var + eps)``).  It is what is
stored and what is decoded: :func:`deployed_forward` is the one forward pass used by the final
fine-tune, the quantisation-aware fine-tune and the decoder, so what was measured at the encoder
is what every decoder computes.  This module imports torch; import it only when encoding or
decoding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .structure import Geometry, Structure, base_size, layout

BN_EPS = 1e-5


class Generator(nn.Module):
    """The paper's generator with batch normalisation (used for the main training and pruning)."""

    def __init__(self, geo: Geometry, st: Structure):
        super().__init__()
        self.geo, self.st = geo, st
        self.h0, self.w0 = base_size(geo, st.blocks)
        c = st.channels
        self.fc = nn.Linear(geo.latent, c * self.h0 * self.w0, bias=not geo.keyed)
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1, bias=False) for _ in range(st.blocks))
        self.bns = nn.ModuleList(nn.BatchNorm2d(c, eps=BN_EPS) for _ in range(st.blocks))
        self.head = nn.Conv2d(c, geo.bands, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], self.st.channels, self.h0, self.w0)
        for conv, bn in zip(self.convs, self.bns):
            x = F.relu(bn(conv(x)))
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.head(x)[:, :, : self.geo.out_h, : self.geo.out_w]


def deployed_forward(params: list[torch.Tensor], z: torch.Tensor, geo: Geometry, st: Structure) -> torch.Tensor:
    """Forward pass of the BN-folded network from its stored tensors (in ``layout`` order)."""
    h0, w0 = base_size(geo, st.blocks)
    it = iter(params)
    fc_w = next(it)
    fc_b = None if geo.keyed else next(it)
    x = F.linear(z, fc_w, fc_b).view(z.shape[0], st.channels, h0, w0)
    for _ in range(st.blocks):
        w, b = next(it), next(it)
        x = F.relu(F.conv2d(x, w, b, padding=1))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    w, b = next(it), next(it)
    return F.conv2d(x, w, b, padding=1)[:, :, : geo.out_h, : geo.out_w]


@torch.no_grad()
def fold_batchnorm(model: Generator, latents: torch.Tensor, chunk: int = 8) -> list[torch.Tensor]:
    """Fold every BatchNorm into its convolution, with statistics exact over all ``latents``.

    In training mode BatchNorm normalises by the statistics of the current batch.  For one
    image that batch is the image itself, so folding with the same statistics (biased variance,
    computed layer by layer through the already-folded layers) reproduces the trained network's
    output exactly.  With tiles, the statistics are those of all tiles together (accumulated
    in float64 over chunks), which is what a fine-tune of the folded network then adapts to.
    Returns the deployed tensors in ``layout`` order (float32, on the model's device).
    """
    geo, st = model.geo, model.st
    params: list[torch.Tensor] = [model.fc.weight.detach().clone()]
    if not geo.keyed:
        params.append(model.fc.bias.detach().clone())
    folded: list[tuple[torch.Tensor, torch.Tensor]] = []

    def trunk(z: torch.Tensor, upto: int) -> torch.Tensor:
        x = F.linear(z, params[0], None if geo.keyed else params[1]).view(z.shape[0], st.channels, model.h0, model.w0)
        for w, b in folded[:upto]:
            x = F.relu(F.conv2d(x, w, b, padding=1))
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return x

    for i, (conv, bn) in enumerate(zip(model.convs, model.bns)):
        s1 = torch.zeros(st.channels, dtype=torch.float64, device=latents.device)
        s2 = torch.zeros_like(s1)
        count = 0
        for j in range(0, latents.shape[0], chunk):
            pre = F.conv2d(trunk(latents[j : j + chunk], i), conv.weight, None, padding=1).double()
            s1 += pre.sum(dim=(0, 2, 3))
            s2 += (pre * pre).sum(dim=(0, 2, 3))
            count += pre.shape[0] * pre.shape[2] * pre.shape[3]
        mean = s1 / count
        var = (s2 / count - mean * mean).clamp_min(0.0)
        g = bn.weight.double() / torch.sqrt(var + bn.eps)
        w = (conv.weight.double() * g[:, None, None, None]).float()
        b = (bn.bias.double() - mean * g).float()
        folded.append((w, b))
        # keep the module's running statistics in step, so model.eval() agrees with the fold
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
    for w, b in folded:
        params.extend([w, b])
    params.extend([model.head.weight.detach().clone(), model.head.bias.detach().clone()])
    names = [s.name for s in layout(geo, st)]
    assert len(params) == len(names)
    return params
