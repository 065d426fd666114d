"""Codecs behind one contract; ``get(spec)`` builds one by name, ``names()`` lists them.

Codecs are grouped by family: ``wavelet/`` (speck, spiht, jpeg2000), ``transform/`` (pca,
pca_jpeg2000), ``neural/`` (gnn, siren, coolchic, and the weight storage every network codec
shares), ``predictive/`` (ccsds123).  Importing this package imports none of them: a codec's
module is imported on the first lookup of its name (:mod:`.catalog`), and codec modules import
their heavy dependencies (numba, torch, imagecodecs) on first use, so listing codecs needs none.

Codecs of other installed distributions register through the entry-point group
``hsibench.codecs`` (:mod:`.plugins`) on the first lookup of a name that is not built in, or
the first ``names()``; :mod:`.contract` checks any
codec against the contract every codec keeps (``hsibench codecs check SPEC``).
"""

from .base import (Codec, Header, Param, codec_class, default_names, get, names, parse_spec, register, split_specs,
                   truncate)

__all__ = ["Codec", "Header", "Param", "codec_class", "default_names", "get", "names", "parse_spec", "register", "split_specs", "truncate"]
