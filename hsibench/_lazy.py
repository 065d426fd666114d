"""Deferred imports, so that ``import hsibench.codecs`` stays cheap.

Listing codecs, parsing specs and reading a header need none of numba (about 0.5 s to import,
plus loading each cached kernel), PyWavelets, torch or imagecodecs; only encoding and decoding
do.  Codec modules therefore bind their kernel modules with :func:`lazy_module`: the name is
bound at once, the module runs on first attribute access (:class:`importlib.util.LazyLoader`).
``tests/test_imports.py`` checks that ``import hsibench.codecs`` loads none of these.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name`` (absolute), executed only when one of its attributes is first used.

    Returns the module itself if it is already imported.  A missing module raises
    :class:`ModuleNotFoundError` here; errors inside it surface on first use.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
