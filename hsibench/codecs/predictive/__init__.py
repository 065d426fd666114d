"""Predictive codecs: a causal predictor and an entropy coder of its residuals, sample by sample.

``ccsds123`` is the CCSDS 123.0-B-2 space standard (lossless and near-lossless, with an
absolute and/or relative error limit on every sample).
"""

from . import ccsds123  # noqa: F401  (registers)
