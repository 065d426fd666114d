"""An opened data file: its cube not yet read, and what the file says about it (wavelengths, fill value, bad bands).

Readers (:mod:`.readers`, :mod:`.envi`) return a :class:`Product`; :meth:`Product.read` then
reads the whole cube or only a window of rows and columns.  Where the format allows it (ENVI
raw files, uncompressed TIFFs, ``.npy``, MATLAB v7.3) the cube is memory-mapped or sliced on
disk, so cropping a multi-GB flight line reads only the crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import DatasetFormatError

Window = tuple[int, int, int, int]  # (r0, r1, c0, c1), half-open


@dataclass
class Product:
    """A cube on disk, ``(rows, cols, bands)`` in ``dtype``, and its metadata.

    ``read_window(window)`` returns the rows and columns of the window (all bands) as an
    array (a view of a memory map, or data read from disk); ``window`` None means everything.
    ``wavelengths`` are band centres in nm; ``nodata`` the fill value of invalid pixels; ``bbl``
    the bad-band list (1 good, 0 bad); each None when the file does not say.
    """

    label: str
    shape: tuple[int, int, int]
    dtype: np.dtype
    read_window: Callable[[Window | None], np.ndarray]
    wavelengths: np.ndarray | None = None
    nodata: float | None = None
    bbl: np.ndarray | None = None
    windowed: bool = False  # True when a window is read without reading the rest of the file

    @classmethod
    def of_array(cls, label: str, array: np.ndarray) -> "Product":
        """A product already in memory (formats that are decoded whole)."""
        array = np.asarray(array)
        if array.ndim != 3:
            raise DatasetFormatError(f"{label}: expected a 3-D (rows, cols, bands) array, got shape {array.shape}")

        def read(window):
            if window is None:
                return array
            r0, r1, c0, c1 = window
            return array[r0:r1, c0:c1, :]

        return cls(label, tuple(array.shape), array.dtype, read)  # type: ignore[arg-type]

    def check_window(self, window: Window) -> None:
        """Raise unless ``window`` is a non-empty window inside the cube."""
        from ..errors import InvalidParameterError

        r0, r1, c0, c1 = window
        rows, cols = self.shape[:2]
        if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
            raise InvalidParameterError(
                f"{self.label}: crop {r0}:{r1},{c0}:{c1} is empty or outside the cube ({rows} rows x {cols} cols)")

    def read(self, window: Window | None = None) -> np.ndarray:
        """The cube (or its window): C-contiguous, native byte order, the file's dtype, checked non-empty and numeric."""
        if window is not None:
            self.check_window(window)
        return finish(self.read_window(window), self.label)


def finish(cube: np.ndarray, label: str) -> np.ndarray:
    """Check the cube is a non-empty numeric 3-D array; return it C-contiguous in native byte order."""
    cube = np.asarray(cube)
    if cube.ndim != 3:
        raise DatasetFormatError(f"{label}: expected a 3-D (rows, cols, bands) array, got shape {cube.shape}")
    if cube.size == 0:
        raise DatasetFormatError(f"{label}: the cube is empty (shape {cube.shape})")
    if cube.dtype.kind not in "iuf":
        raise DatasetFormatError(f"{label}: the cube has non-numeric dtype {cube.dtype}")
    native = cube.dtype.newbyteorder("=")
    return np.ascontiguousarray(cube, dtype=native)


def per_band(values, bands: int, what: str, label: str) -> np.ndarray:
    """A per-band list from a file or a user as a float array of length ``bands``, or an error saying why not."""
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise DatasetFormatError(f"{label}: the {what} are not numbers") from None
    if arr.size != bands:
        raise DatasetFormatError(f"{label}: {arr.size} {what} for {bands} bands")
    if not np.isfinite(arr).all():
        raise DatasetFormatError(f"{label}: the {what} hold non-finite values")
    return arr
