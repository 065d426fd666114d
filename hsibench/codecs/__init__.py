"""Codecs behind one contract; ``get(spec)`` builds one by name, ``names()`` lists them.

Importing this package registers every codec.  Codecs are grouped by family: ``wavelet/``
(speck, spiht, jpeg2000), ``transform/`` (pca, pca_jpeg2000), ``neural/`` (gnn, and the weight
storage every network codec shares), ``predictive/`` (ccsds123).  Codec modules import their optional heavy
dependencies (torch, imagecodecs) lazily, so listing codecs never needs them.

Codecs of other installed distributions register through the entry-point group
``hsibench.codecs`` (:mod:`.plugins`), after the built-in ones; :mod:`.contract` checks any
codec against the contract every codec keeps (``hsibench codecs check SPEC``).
"""

from .base import (Codec, Header, Param, codec_class, default_names, get, names, parse_spec, register, split_specs,
                   truncate)
from . import neural, predictive, transform, wavelet  # noqa: F401  (registers every codec)
from . import plugins

plugins.load()

__all__ = ["Codec", "Header", "Param", "codec_class", "default_names", "get", "names", "parse_spec", "register", "split_specs", "truncate"]
