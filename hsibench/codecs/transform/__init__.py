"""Spectral-transform codecs: the KLT (PCA) with its own entropy coder, and PCA + JPEG 2000."""

from . import pca, pca_jpeg2000  # noqa: F401  (registers)
