"""Overfitted neural codecs: the stream is a network's weights.

Shared by every codec of the family: ``storage`` (quantisation, masks, lossless coding of weight
tensors), ``schedule`` (named training policies resolved before training), ``runtime`` (torch
import, device, threads, progress bar) and ``quant`` (training-time simulation of the storage).
The codecs: ``gnn``, the generative network of Deng, Cen & Zhang (2020); ``siren``, the SIREN
implicit neural representation of Rezasoltani & Qureshi (2023); ``coolchic``, COOL-CHIC/C3-style
overfitted latent grids with an auto-regressive entropy model.
"""

from . import coolchic, gnn, siren  # noqa: F401  (registers)
