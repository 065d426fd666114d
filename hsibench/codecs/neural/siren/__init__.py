"""siren: the SIREN implicit neural representation codec of Rezasoltani & Qureshi (2023).

Modules: ``structure`` (depth x width, stored tensors, the rate search's candidates),
``schedule`` (the training policy), ``model`` and ``train`` (torch; imported only when encoding
or decoding) and ``codec`` (the registered ``siren`` codec).
"""

from .codec import SirenCodec

__all__ = ["SirenCodec"]
