"""coolchic: COOL-CHIC/C3-style overfitted latent grids with a fixed-point entropy model, for HSI.

Modules: ``entropy`` (fixed-point ARM, Laplace binarisation, range coding; numba), ``structure``
(sizes and stored tensors), ``schedule`` (the training policy), ``model`` and ``train`` (torch;
imported only when encoding or decoding) and ``codec`` (the registered ``coolchic`` codec).
"""

from .codec import CoolChicCodec

__all__ = ["CoolChicCodec"]
