"""CCSDS 123.0-B-2 (Issue 2, 2019): low-complexity lossless and near-lossless HSI compression.

Modules, one job each: ``header`` (the standard's parameters and header, written and parsed),
``predictor`` (adaptive 3-D prediction, closed-loop quantiser, sample representatives and
mapper; numba), ``sample_adaptive`` and ``block_adaptive`` (the sample-adaptive and the
block-adaptive entropy coders; numba), ``codestream`` (header + body), ``rate`` (error limits
that fill a byte budget) and ``codec`` (the registered ``ccsds123`` codec, which by default
writes whichever coder gives the smaller stream).  The hybrid entropy coder is not implemented.
"""

from .codec import CCSDS123

__all__ = ["CCSDS123"]
