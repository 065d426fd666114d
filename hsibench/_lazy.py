"""Deferred imports, so that ``import hsibench.codecs`` stays cheap.

Listing codecs, parsing specs and reading a header need none of numba (about 0.5 s to import,
plus loading each cached kernel), PyWavelets, torch or imagecodecs; only encoding and decoding
do.  Codec modules therefore bind their kernel modules with :func:`lazy_module`: the name is
bound at once, the module is imported on first attribute access.  Unlike
:class:`importlib.util.LazyLoader` (whose half-executed module another thread can see before
Python 3.12), the import goes through :func:`importlib.import_module`, whose per-module locks
make threads that use a kernel module at once (speck's and spiht's ``streams=N``) wait for it.
``tests/test_imports.py`` checks that ``import hsibench.codecs`` loads none of these.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType


class _DeferredModule(ModuleType):
    """Stands for a module until one of its attributes is used; then imports it and forwards."""

    def __getattr__(self, attr: str):
        value = getattr(importlib.import_module(self.__name__), attr)
        self.__dict__[attr] = value  # later reads are plain attribute lookups
        return value


def lazy_module(name: str) -> ModuleType:
    """The module ``name`` (absolute), imported only when one of its attributes is first used.

    Returns the module itself if it is already imported.  A missing module raises
    :class:`ModuleNotFoundError` here; errors inside it surface on first use.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _DeferredModule(name)
