"""The GNN codec of Deng, Cen & Zhang (Remote Sensing 2020): a generator network is the image.

Modules: ``latent`` (seed/key -> latent codes), ``structure`` (sizes and the rate search),
``tiling`` (tiles and seamless blending; several images in one network), ``storage``
(quantisation, masks, entropy coding), ``stream`` (a stream header read and bounded before
decoding), ``model`` and ``train`` (torch; imported only when
encoding or decoding) and ``codec`` (the registered ``gnn`` codec; ``encode_images`` /
``decode_images`` put several same-shape images in one network).
"""

from .codec import GNNCodec

__all__ = ["GNNCodec"]
