"""Codecs behind one contract; ``get(spec)`` builds one by name, ``names()`` lists them.

Importing this package registers every codec.  Codec modules import their optional heavy
dependencies (torch, imagecodecs) lazily, so listing codecs never needs them.
"""

from .base import Codec, Header, Param, codec_class, get, names, parse_spec, register, split_specs, truncate
from . import pca  # noqa: F401  (registers)
from . import speck  # noqa: F401
from . import spiht  # noqa: F401
from . import gnn  # noqa: F401
from . import jpeg2000, pca_jpeg2000  # noqa: F401

__all__ = ["Codec", "Header", "Param", "codec_class", "get", "names", "parse_spec", "register", "split_specs", "truncate"]
