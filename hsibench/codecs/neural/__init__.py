"""Overfitted neural codecs: the stream is a network's weights.

``storage`` (quantisation, masks, lossless coding of weight tensors) is shared by every codec
of the family; ``gnn`` is the generative network of Deng, Cen & Zhang (2020).
"""

from . import gnn  # noqa: F401  (registers)
