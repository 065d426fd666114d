"""Turn a dataset spec into a :class:`Scene`: registered names, options, crops and user files.

Spec grammar (the CLI's ``--dataset`` takes the same strings)::

    botswana                          a registered scene (file in the data folder)
    botswana[crop=paper]              a named crop from the registry
    botswana[crop=0:512,0:256]        rows 0..511, columns 0..255 (half-open, like Python slices)
    synthetic[rows=64,cols=64,bands=32,seed=1]
    path/to/cube.npy                  a user file (.npy, .mat, ENVI .hdr, .tif/.tiff)
    path/to/scene.mat[variable=X,crop=0:100,0:100]

Options are ``key=value`` separated by commas; a comma that is not followed by ``key=`` belongs to
the value (that is how ``crop=r0:r1,c0:c1`` keeps its comma).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetFormatError, DatasetNotFoundError, InvalidParameterError, UnknownDatasetError
from . import registry
from .download import download as _download
from .download import resolve_root
from .readers import _SUFFIX, read_cube
from .synthetic import synthetic

Crop = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class Scene:
    """A loaded cube and where it came from.

    ``name`` is canonical (``"botswana[crop=paper]"``, ``"synthetic[rows=64]"``, or the file name for
    user files); ``source`` is the file path or ``"generated"``; ``crop`` is ``(r0, r1, c0, c1)`` or None.
    """

    name: str
    cube: np.ndarray
    native_bits: int
    source: str
    crop: Crop | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.cube.shape)  # type: ignore[return-value]


_SPEC = re.compile(r"^\s*(?P<base>.*?)\s*(?:\[(?P<opts>[^\[\]]*)\])?\s*$", re.S)
_OPT_SPLIT = re.compile(r",\s*(?=[A-Za-z_][A-Za-z0-9_]*\s*=)")


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``base[key=value,...]`` into ``base`` and its raw option strings."""
    if not isinstance(spec, (str, os.PathLike)):
        raise InvalidParameterError(f"a dataset spec must be a string or path, got {type(spec).__name__}")
    spec = os.fspath(spec)
    m = _SPEC.match(spec)
    if not m or not m.group("base"):
        raise InvalidParameterError(f"cannot parse dataset spec {spec!r}; expected NAME, NAME[key=value,...] or a file path")
    base, body = m.group("base"), m.group("opts")
    options: dict[str, str] = {}
    if body is not None and body.strip():
        for item in _OPT_SPLIT.split(body.strip()):
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or not key or not value.strip():
                raise InvalidParameterError(f"dataset spec {spec!r}: '{item.strip()}' is not key=value")
            if key in options:
                raise InvalidParameterError(f"dataset spec {spec!r}: option '{key}' given twice")
            options[key] = value.strip()
    return base, options


def _unknown_options(spec: str, options: dict[str, str], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise InvalidParameterError(
            f"dataset spec {spec!r}: unknown option(s) {', '.join(extra)}; allowed: {', '.join(allowed)}"
        )


def parse_crop(value: str, named: dict[str, Crop] | None = None) -> tuple[Crop, str]:
    """A crop option to ``(r0, r1, c0, c1)`` and its canonical text (a name, or ``r0:r1,c0:c1``)."""
    named = dict(named or {})
    text = value.strip()
    if text in named:
        return tuple(named[text]), text  # type: ignore[return-value]
    m = re.fullmatch(r"(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)", text)
    if not m:
        names = f" or one of: {', '.join(sorted(named))}" if named else ""
        raise InvalidParameterError(f"bad crop {value!r}: expected r0:r1,c0:c1 (non-negative integers){names}")
    r0, r1, c0, c1 = (int(g) for g in m.groups())
    return (r0, r1, c0, c1), f"{r0}:{r1},{c0}:{c1}"


def apply_crop(cube: np.ndarray, crop: Crop, label: str) -> np.ndarray:
    """``cube[r0:r1, c0:c1, :]`` after checking the window is non-empty and inside the cube."""
    r0, r1, c0, c1 = crop
    rows, cols = cube.shape[:2]
    if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
        raise InvalidParameterError(
            f"{label}: crop {r0}:{r1},{c0}:{c1} is empty or outside the cube ({rows} rows x {cols} cols)"
        )
    return np.ascontiguousarray(cube[r0:r1, c0:c1, :])


def _looks_like_path(base: str) -> bool:
    return (
        os.sep in base
        or (os.altsep is not None and os.altsep in base)
        or Path(base).suffix.lower() in _SUFFIX
        or Path(base).expanduser().is_file()
    )


def _not_found(entry: registry.DatasetInfo, path: Path, root: Path) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"dataset '{entry.name}' is not downloaded: {path} does not exist. "
        f"Get it with: hsibench datasets download {entry.name}  "
        f"(to use another folder add --data-dir DIR or set HSIBENCH_DATA=DIR; in Python: "
        f"hsibench.datasets.download('{entry.name}', root=...) or load(..., download=True)). "
        f"Source: {entry.url}"
    )


def _name(base: str, parts: list[str]) -> str:
    return f"{base}[{','.join(parts)}]" if parts else base


def _load_synthetic(spec: str, options: dict[str, str]) -> Scene:
    _unknown_options(spec, options, ("rows", "cols", "bands", "seed", "crop"))
    params: dict[str, int] = {}
    parts: list[str] = []
    for key in ("rows", "cols", "bands", "seed"):
        if key in options:
            try:
                params[key] = int(options[key])
            except ValueError:
                raise InvalidParameterError(f"dataset spec {spec!r}: {key} must be an integer, got {options[key]!r}") from None
            parts.append(f"{key}={params[key]}")
    cube = synthetic(**params)
    crop = None
    if "crop" in options:
        crop, text = parse_crop(options["crop"])
        cube = apply_crop(cube, crop, spec)
        parts.append(f"crop={text}")
    return Scene(_name("synthetic", parts), cube, registry.SYNTHETIC.native_bits, "generated", crop)


def _native_bits(dtype: np.dtype) -> int:
    """Bits of the stored type for integers (the CR reference); 32/64 for floats (their width)."""
    return int(np.dtype(dtype).itemsize * 8)


def _load_file(spec: str, base: str, options: dict[str, str]) -> Scene:
    _unknown_options(spec, options, ("variable", "crop"))
    path = Path(base).expanduser()
    if not path.is_file():
        raise UnknownDatasetError(
            f"no such file {str(path)!r} and no registered dataset of that name; registered datasets: "
            f"{', '.join(registry.names())}"
        )
    cube = read_cube(path, options.get("variable"))
    parts = [f"variable={options['variable']}"] if "variable" in options else []
    crop = None
    if "crop" in options:
        crop, text = parse_crop(options["crop"])
        cube = apply_crop(cube, crop, spec)
        parts.append(f"crop={text}")
    return Scene(_name(path.name, parts), cube, _native_bits(cube.dtype), str(path.resolve()), crop)


def _load_registered(spec: str, entry: registry.DatasetInfo, options: dict[str, str], root, download: bool) -> Scene:
    _unknown_options(spec, options, ("crop",))
    crop, crop_text = (parse_crop(options["crop"], dict(entry.crops)) if "crop" in options else (None, ""))
    root = resolve_root(root)
    path = root / entry.filename
    if not path.is_file():
        if not download:
            raise _not_found(entry, path, root)
        path = _download(entry, root)
    cube = read_cube(path, entry.variable)
    if tuple(cube.shape) != tuple(entry.shape) or not registry.dtype_matches(entry.dtype, cube.dtype):
        raise DatasetFormatError(
            f"{path} holds a {cube.shape} {cube.dtype} cube, but dataset '{entry.name}' is "
            f"{tuple(entry.shape)} {entry.dtype}; delete the file and run: hsibench datasets download {entry.name}"
        )
    if crop is not None:
        cube = apply_crop(cube, crop, spec)
    name = _name(entry.name, [f"crop={crop_text}"] if crop is not None else [])
    return Scene(name, cube, entry.native_bits, str(path.resolve()), crop)


def load(spec: str | os.PathLike, root: str | os.PathLike | None = None, *, download: bool = False) -> Scene:
    """Load a scene from a spec (registered name with options, ``synthetic[...]``, or a file path).

    ``root`` is the data folder for registered scenes (default :func:`default_root`);
    ``download=True`` fetches a missing registered file instead of raising
    :class:`~hsibench.errors.DatasetNotFoundError`.
    """
    text = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if isinstance(text, str) and text.strip().lower() not in registry.names() and Path(text).expanduser().is_file():
        return _load_file(text, text, {})  # an existing file, even one with brackets in its name
    base, options = parse_spec(text)
    key = base.strip().lower()
    if key == registry.SYNTHETIC.name:
        return _load_synthetic(text, options)
    if key in registry.names():
        return _load_registered(text, registry.info(key), options, root, download)
    if _looks_like_path(base):
        return _load_file(text, base, options)
    registry.info(base)  # raises UnknownDatasetError listing the registered names
    raise AssertionError("unreachable")  # pragma: no cover
