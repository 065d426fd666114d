"""Turn a dataset spec into a :class:`Scene`: registered names, options, crops and user files.

Spec grammar (the CLI's ``--dataset`` takes the same strings)::

    botswana                          a registered scene (file in the data folder)
    botswana[crop=paper]              a named crop from the registry
    botswana[crop=0:512,0:256]        rows 0..511, columns 0..255 (half-open, like Python slices)
    synthetic[rows=64,cols=64,bands=32,seed=1]
    path/to/cube.npy                  a user file (.npy, .mat, ENVI .hdr, .tif/.tiff)
    path/to/scene.mat[variable=X,crop=0:100,0:100]
    path/to/flight.hdr[crop=0:512,0:512,drop_bad_bands=true]
    path/to/cube.npy[nodata=0,mask=valid.npy,wavelengths=400:2500]

File options: ``variable`` (.mat/.zip), ``crop``, ``nodata`` (the fill value of invalid pixels;
default: the file's ENVI ``data ignore value`` or GDAL_NODATA), ``mask`` (a .npy of the whole
image's valid pixels), ``wavelengths`` (nm: FIRST:LAST, or a .npy/.txt/.csv file; default: the
file's), ``drop_bad_bands`` (remove the bands an ENVI ``bbl`` marks bad).  A crop is read
from disk as a window where the format allows (ENVI, uncompressed TIFF, .npy, MATLAB v7.3).

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
from . import sensor
from .readers import _SUFFIX, open_product
from .synthetic import bad_bands, synthetic
from .synthetic import wavelengths as synthetic_wavelengths

Crop = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class Scene:
    """A loaded cube, what is known about it, and where it came from.

    ``name`` is canonical (``"botswana[crop=paper]"``, ``"synthetic[rows=64]"``, or the file name for
    user files); ``source`` is the file path or ``"generated"``; ``crop`` is ``(r0, r1, c0, c1)`` or None.
    ``wavelengths`` are the band centres in nm (None when unknown); ``mask`` is a boolean
    ``(rows, cols)`` array of the valid pixels, None when every pixel is valid: metrics score
    only valid pixels, codecs still code the whole cube.
    """

    name: str
    cube: np.ndarray
    native_bits: int
    source: str
    crop: Crop | None = None
    wavelengths: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.cube.shape)  # type: ignore[return-value]

    @property
    def valid_pixels(self) -> int:
        """How many pixels the metrics score."""
        return int(self.cube.shape[0] * self.cube.shape[1] if self.mask is None else np.count_nonzero(self.mask))


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
    _unknown_options(spec, options, ("rows", "cols", "bands", "seed", "crop", "drop_bad_bands"))
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
    wl = synthetic_wavelengths(cube.shape[2])
    crop = None
    if "crop" in options:
        crop, text = parse_crop(options["crop"])
        cube = apply_crop(cube, crop, spec)
        parts.append(f"crop={text}")
    if sensor.parse_bool(spec, "drop_bad_bands", options.get("drop_bad_bands", "false")):
        cube, wl = sensor.drop_bad_bands(cube, wl, bad_bands(cube.shape[2]), spec)
        parts.append("drop_bad_bands=true")
    return Scene(_name("synthetic", parts), cube, registry.SYNTHETIC.native_bits, "generated", crop, wl)


def _native_bits(dtype: np.dtype) -> int:
    """Bits of the stored type for integers (the CR reference); 32/64 for floats (their width)."""
    return int(np.dtype(dtype).itemsize * 8)


def _load_file(spec: str, base: str, options: dict[str, str], extra: dict) -> Scene:
    _unknown_options(spec, options, ("variable", "crop", "nodata", "mask", "wavelengths", "drop_bad_bands"))
    path = Path(base).expanduser()
    if not path.is_file():
        raise UnknownDatasetError(
            f"no such file {str(path)!r} and no registered dataset of that name; registered datasets: "
            f"{', '.join(registry.names())}"
        )
    product = open_product(path, options.get("variable"))
    parts = [f"variable={options['variable']}"] if "variable" in options else []
    crop = None
    if "crop" in options:
        crop, text = parse_crop(options["crop"])
        parts.append(f"crop={text}")
    cube = product.read(crop)  # only the window, where the format allows
    # the spec's options, then the Python keywords (arrays), then what the file says
    nodata = sensor.parse_float(spec, "nodata", options["nodata"]) if "nodata" in options else extra.get("nodata")
    if nodata is not None:
        parts.append(f"nodata={nodata:g}")
    nodata = product.nodata if nodata is None else nodata
    wl_given = options.get("wavelengths", extra.get("wavelengths"))
    wl = sensor.user_wavelengths(wl_given, product.shape[2]) if wl_given is not None else product.wavelengths
    if isinstance(wl_given, str):
        parts.append(f"wavelengths={Path(wl_given).name if Path(wl_given).expanduser().is_file() else wl_given}")
    if sensor.parse_bool(spec, "drop_bad_bands", options.get("drop_bad_bands", "false")):
        cube, wl = sensor.drop_bad_bands(cube, wl, product.bbl, spec)
        parts.append("drop_bad_bands=true")
    mask_given = options.get("mask", extra.get("mask"))
    given = sensor.user_mask(mask_given, product.shape[:2], crop) if mask_given is not None else None
    if mask_given is not None:
        parts.append(f"mask={Path(mask_given).name if isinstance(mask_given, (str, os.PathLike)) else 'array'}")
    mask = sensor.combine(sensor.fill_mask(cube, nodata), given, label=spec)
    return Scene(_name(path.name, parts), cube, _native_bits(cube.dtype), str(path.resolve()), crop, wl, mask)


def _load_registered(spec: str, entry: registry.DatasetInfo, options: dict[str, str], root, download: bool) -> Scene:
    _unknown_options(spec, options, ("crop",))
    crop, crop_text = (parse_crop(options["crop"], dict(entry.crops)) if "crop" in options else (None, ""))
    root = resolve_root(root)
    path = root / entry.filename
    if not path.is_file():
        if not download:
            raise _not_found(entry, path, root)
        path = _download(entry, root)
    product = open_product(path, entry.variable)
    if tuple(product.shape) != tuple(entry.shape) or not registry.dtype_matches(entry.dtype, product.dtype):
        raise DatasetFormatError(
            f"{path} holds a {product.shape} {product.dtype} cube, but dataset '{entry.name}' is "
            f"{tuple(entry.shape)} {entry.dtype}; delete the file and run: hsibench datasets download {entry.name}"
        )
    cube = product.read(crop)  # only the window, where the format allows
    name = _name(entry.name, [f"crop={crop_text}"] if crop is not None else [])
    return Scene(name, cube, entry.native_bits, str(path.resolve()), crop)


def load(spec: str | os.PathLike, root: str | os.PathLike | None = None, *, download: bool = False,
         mask=None, wavelengths=None, nodata: float | None = None) -> Scene:
    """Load a scene from a spec (registered name with options, ``synthetic[...]``, or a file path).

    ``root`` is the data folder for registered scenes (default :func:`default_root`);
    ``download=True`` fetches a missing registered file instead of raising
    :class:`~hsibench.errors.DatasetNotFoundError`.  For user files, ``mask`` (valid pixels of
    the whole image: a boolean array or a .npy path), ``wavelengths`` (nm: an array, a file or
    ``"FIRST:LAST"``) and ``nodata`` (the fill value) do what the spec options of the same
    names do (the spec's options win).
    """
    extra = {k: v for k, v in (("mask", mask), ("wavelengths", wavelengths), ("nodata", nodata)) if v is not None}
    text = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if isinstance(text, str) and text.strip().lower() not in registry.names() and Path(text).expanduser().is_file():
        return _load_file(text, text, {}, extra)  # an existing file, even one with brackets in its name
    base, options = parse_spec(text)
    key = base.strip().lower()
    if extra and (key == registry.SYNTHETIC.name or key in registry.names()):
        raise InvalidParameterError(f"mask=, wavelengths= and nodata= apply to your own files, not to {key!r}")
    if key == registry.SYNTHETIC.name:
        return _load_synthetic(text, options)
    if key in registry.names():
        return _load_registered(text, registry.info(key), options, root, download)
    if _looks_like_path(base):
        return _load_file(text, base, options, extra)
    registry.info(base)  # raises UnknownDatasetError listing the registered names
    raise AssertionError("unreachable")  # pragma: no cover
