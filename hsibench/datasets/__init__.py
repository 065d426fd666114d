"""Public hyperspectral scenes, user files and the synthetic default, behind one small API.

>>> from hsibench import datasets
>>> datasets.names()                      # registered scenes, "synthetic" included
>>> datasets.info("botswana").crops       # {'paper': (0, 512, 0, 256)}
>>> datasets.download("botswana")         # -> Path of the verified file in the data folder
>>> scene = datasets.load("botswana[crop=paper]")
>>> scene = datasets.load("synthetic[rows=64,cols=64,bands=32,seed=1]")
>>> scene = datasets.load("../shared/data/jasper_ridge.npy")
>>> scene = datasets.load("flight.hdr[crop=0:512,0:512,drop_bad_bands=true]")
>>> scene.wavelengths, scene.mask          # nm (or None), valid pixels (or None)

The data folder is ``$HSIBENCH_DATA`` when set, else the per-user cache
(``platformdirs.user_cache_dir("hsibench")``, ``~/.cache/hsibench`` on Linux); every function
also takes ``root``.  Sources, licences, checksums and crop origins are documented in ``datasets/README.md``.

Modules: ``registry`` (the scene table), ``download`` (fetch + verify), ``readers`` (file
formats) with ``envi`` (ENVI headers and windowed raw reads) and ``product`` (an opened file:
its cube read whole or by window, its wavelengths, fill value and bad bands), ``sensor``
(masks of valid pixels, wavelengths and bad bands applied at load), ``synthetic`` (the
generated scene), ``loader`` (specs, crops, :class:`Scene`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .download import default_root, download, sha256_file, verify_file
from .loader import Scene, apply_crop, load, parse_crop, parse_spec
from .product import Product
from .readers import open_product, read_cube, read_envi
from .registry import DatasetInfo, dtype_matches, info, names, register, unregister
from .synthetic import bad_bands as synthetic_bad_bands
from .synthetic import synthetic
from .synthetic import wavelengths as synthetic_wavelengths


def path(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where a registered scene's file is (or will be) in the data folder."""
    entry = info(name)
    if not entry.filename:
        raise ValueError(f"dataset '{entry.name}' is generated and has no file")
    return (Path(root).expanduser() if root is not None else default_root()) / entry.filename


def is_downloaded(name: str, root: str | os.PathLike | None = None) -> bool:
    """True for ``synthetic`` and for registered scenes whose file is in the data folder."""
    entry = info(name)
    return not entry.filename or path(name, root).is_file()


__all__ = [
    "DatasetInfo",
    "Product",
    "Scene",
    "apply_crop",
    "default_root",
    "download",
    "dtype_matches",
    "info",
    "is_downloaded",
    "load",
    "names",
    "parse_crop",
    "open_product",
    "parse_spec",
    "path",
    "read_cube",
    "read_envi",
    "register",
    "sha256_file",
    "synthetic",
    "synthetic_bad_bands",
    "synthetic_wavelengths",
    "unregister",
    "verify_file",
]
