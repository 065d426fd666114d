"""What a sensor product says beyond its numbers: valid pixels, band wavelengths, bad bands.

Used by the loader after a crop is read: the fill value (``data ignore value``, GDAL_NODATA,
or the spec's ``nodata=``) and a user's ``mask=`` become the scene's mask of valid pixels;
the file's wavelengths or a user's ``wavelengths=`` become the scene's wavelengths (nm); a
bad-band list (``bbl``) lets ``drop_bad_bands=true`` remove bands at load.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DatasetFormatError, InvalidParameterError
from .product import Window, per_band


def fill_mask(cube: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """Valid pixels: those where no band holds the fill value ``nodata`` (None: no fill value known)."""
    if nodata is None:
        return None
    if np.isnan(nodata):
        raise DatasetFormatError("a NaN fill value is not supported: codecs refuse NaN cubes; "
                                 "replace the NaN voxels by a number and give it as nodata=")
    return ~(cube == np.asarray(nodata, dtype=np.float64).astype(cube.dtype)).any(axis=2)


def _array_from(value, what: str) -> np.ndarray:
    """An array given in Python, or read from a .npy or text file path."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise InvalidParameterError(f"{what}: no such file {str(path)!r}")
        try:
            return np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" \
                else np.loadtxt(path, delimiter="," if path.suffix.lower() == ".csv" else None)
        except (OSError, ValueError) as exc:
            raise InvalidParameterError(f"{what}: cannot read {path.name} ({exc})") from None
    return np.asarray(value)


def user_mask(value, full_shape: tuple[int, int], window: Window | None) -> np.ndarray:
    """A user's mask of valid pixels (an array or a .npy file of the *whole* image), cut to the crop."""
    m = _array_from(value, "mask")
    if m.shape != tuple(full_shape):
        raise InvalidParameterError(f"mask: shape {m.shape}, but the image is {tuple(full_shape)} (rows, cols); "
                                    "give the mask of the whole image, before any crop")
    if m.dtype.kind not in "biuf":
        raise InvalidParameterError(f"mask: dtype {m.dtype} is not boolean or numeric")
    m = m != 0
    if window is not None:
        r0, r1, c0, c1 = window
        m = m[r0:r1, c0:c1]
    return m


def user_wavelengths(value, bands: int) -> np.ndarray:
    """Wavelengths in nm from a user: an array, a .npy/.txt/.csv file, or ``FIRST:LAST`` (evenly spaced)."""
    if isinstance(value, str) and ":" in value and not Path(value).expanduser().is_file():
        try:
            first, last = (float(v) for v in value.split(":"))
        except ValueError:
            raise InvalidParameterError(f"wavelengths={value!r}: use FIRST:LAST in nm, or a file") from None
        return np.linspace(first, last, bands)
    try:
        return per_band(_array_from(value, "wavelengths"), bands, "wavelengths", "wavelengths")
    except DatasetFormatError as exc:
        raise InvalidParameterError(str(exc)) from None


def drop_bad_bands(cube: np.ndarray, wavelengths: np.ndarray | None, bbl: np.ndarray | None, label: str):
    """The cube (and wavelengths) without the bands ``bbl`` marks bad (0)."""
    if bbl is None:
        raise InvalidParameterError(f"{label}: drop_bad_bands=true needs a bad-band list (an ENVI 'bbl'), "
                                    "and this data has none")
    keep = np.flatnonzero(np.asarray(bbl) != 0)
    if keep.size == 0:
        raise DatasetFormatError(f"{label}: the bad-band list marks every band bad")
    return np.ascontiguousarray(cube[:, :, keep]), (wavelengths[keep] if wavelengths is not None else None)


def combine(*masks: np.ndarray | None, label: str) -> np.ndarray | None:
    """The pixels every mask calls valid; None when there is no mask or every pixel is valid."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    out = np.logical_and.reduce(present)
    if not out.any():
        raise DatasetFormatError(f"{label}: no valid pixel (every pixel holds the fill value or is masked out)")
    return None if out.all() else out


def parse_bool(spec: str, key: str, value: str) -> bool:
    """A spec option's true/false."""
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise InvalidParameterError(f"dataset spec {spec!r}: {key} must be true or false, got {value!r}")


def parse_float(spec: str, key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidParameterError(f"dataset spec {spec!r}: {key} must be a number, got {value!r}") from None
