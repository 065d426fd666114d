"""Read a hyperspectral cube from a file into a ``(rows, cols, bands)`` numpy array.

Formats, chosen by file suffix (or the explicit ``fmt``):

``.npy``
    ``numpy.save`` output, already ``(rows, cols, bands)``; loaded without pickle.
``.mat``
    MATLAB v5 (scipy) and v7.3 (HDF5, h5py).  MATLAB is column-major, so a v7.3 dataset of a
    MATLAB ``rows x cols x bands`` array reads as ``(bands, cols, rows)`` in h5py and is transposed
    back.  The variable is chosen automatically when the file holds exactly one 3-D numeric array;
    otherwise it must be named (``path.mat[variable=X]`` in a spec).
``.hdr`` (ENVI)
    :mod:`.envi`: memory-mapped, with wavelengths, bad bands and the fill value from the header.
``.tif`` / ``.tiff``
    tifffile.  Layout: when the image series' last axis is a samples axis (``S``/``C``, i.e. a
    chunky/pixel-interleaved TIFF), the file is already bands-last; otherwise (one page per band,
    the usual multi-page hyperspectral TIFF, e.g. Purdue's ``dc.tif``) the first axis is bands.
    The fill value is GDAL's ``GDAL_NODATA`` tag; band wavelengths come from GDAL's metadata
    (``wavelength`` items per band, ``wavelength_units``).  Uncompressed, contiguous files are
    memory-mapped (a crop reads only its window); compressed or tiled ones are decoded whole.
``.zip``
    An archive member (``variable`` = member path) in one of the formats above except ENVI.

:func:`open_product` returns a :class:`~.product.Product` (the cube not yet read, and its
metadata); :func:`read_cube` reads it whole.  Cubes come back C-contiguous in native byte order,
in the file's own dtype; :class:`~hsibench.errors.DatasetFormatError` when the file is not a
non-empty numeric 3-D cube.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import IO, Callable

import numpy as np

from ..errors import DatasetFormatError, MissingDependencyError
from . import envi
from .envi import ENVI_DTYPES, open_envi  # noqa: F401  (the ENVI reader's public names)
from .product import Product

FORMATS = ("npy", "mat", "hdr", "tif", "zip")
_SUFFIX = {".npy": "npy", ".mat": "mat", ".hdr": "hdr", ".tif": "tif", ".tiff": "tif", ".zip": "zip"}


def detect_format(path: str | Path) -> str:
    """The reader for a file name, from its suffix; ENVI data files are recognised by a sibling .hdr."""
    p = Path(path)
    fmt = _SUFFIX.get(p.suffix.lower())
    if fmt:
        return fmt
    if envi.header_for(p) is not None:
        return "hdr"
    raise DatasetFormatError(
        f"cannot tell the format of {p.name!r}; supported: .npy, .mat, ENVI .hdr (+ raw), .tif/.tiff, .zip"
    )


def open_product(path: str | Path, variable: str | None = None, *, fmt: str | None = None) -> Product:
    """Open the cube stored in ``path`` without reading it (where the format allows): a :class:`Product`.

    ``variable`` names the MATLAB variable (``.mat``) or the archive member (``.zip``); ``fmt``
    overrides the suffix (needed for a download still named ``*.part``).
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DatasetFormatError(f"unknown file format {fmt!r}; supported: {', '.join(FORMATS)}")
    if variable is not None and fmt not in ("mat", "zip"):
        raise DatasetFormatError(f"{path.name}: 'variable' applies to .mat and .zip files only")
    if fmt == "hdr":
        return open_envi(path)
    if fmt == "zip":
        return Product.of_array(path.name, _read_zip(path, variable))
    if fmt == "npy":
        return _open_npy(path)
    if fmt == "tif":
        return _open_tif(path)
    if fmt == "mat":
        with open(path, "rb") as fh:
            if _is_hdf5(fh):
                return _open_mat73(path, variable)
    with open(path, "rb") as fh:
        return Product.of_array(path.name, _READERS[fmt](fh, variable, path.name))


def read_cube(path: str | Path, variable: str | None = None, *, fmt: str | None = None) -> np.ndarray:
    """Read the whole cube stored in ``path`` as a ``(rows, cols, bands)`` array (see :func:`open_product`)."""
    return open_product(path, variable, fmt=fmt).read()


def read_envi(path: str | Path) -> np.ndarray:
    """Read a whole ENVI cube given its ``.hdr`` (or its raw data file with a ``.hdr`` beside it)."""
    return open_envi(path).read()


def _open_npy(path: Path) -> Product:
    """A ``.npy`` file memory-mapped (no pickle): a crop reads only its rows."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError/UnpicklingError for bad files
        raise DatasetFormatError(f"{path.name}: not a readable .npy file ({exc})") from None
    product = Product.of_array(path.name, array)
    product.windowed = isinstance(array, np.memmap)
    return product


# --------------------------------------------------------------------------------------------
# npy, tif
# --------------------------------------------------------------------------------------------


def _read_npy(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    try:
        return np.load(fh, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError/UnpicklingError for bad files
        raise DatasetFormatError(f"{label}: not a readable .npy file ({exc})") from None


def _tif_layout(data_shape: tuple[int, ...], axes: str, label: str) -> tuple[tuple[int, ...], bool]:
    """The squeezed 3-D shape of a TIFF series and whether it is bands-last (chunky) or bands-first."""
    shape = tuple(n for n in data_shape if n != 1) if len(data_shape) > 3 else tuple(data_shape)
    if len(shape) != 3:
        raise DatasetFormatError(f"{label}: the TIFF image has shape {tuple(data_shape)}, not a 3-D cube")
    return shape, bool(axes and axes[-1] in "SC" and len(axes) == 3)


def _bands_last(data: np.ndarray, chunky: bool) -> np.ndarray:
    return data if chunky else np.moveaxis(data, 0, -1)  # one page per band: (bands, rows, cols)


def _read_tif(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(fh) as tif:
            series = tif.series[0]
            shape, chunky = _tif_layout(series.shape, series.axes, label)
            data = series.asarray().reshape(shape)
    except DatasetFormatError:
        raise
    except Exception as exc:
        raise DatasetFormatError(f"{label}: not a readable TIFF file ({exc})") from None
    return _bands_last(data, chunky)


def _gdal_metadata(text: str, bands: int, label: str) -> np.ndarray | None:
    """Band wavelengths (nm) from a GDAL_METADATA XML tag (``<Item name="wavelength" sample="i">``), if any."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    found: dict[int, str] = {}
    units = ""
    for item in root.iter("Item"):
        name = (item.get("name") or "").lower()
        if name == "wavelength" and item.get("sample") is not None:
            found[int(item.get("sample"))] = (item.text or "").strip()
        elif name == "wavelength_units":
            units = (item.text or "").strip()
    if not found:
        return None
    values = [found.get(i) for i in range(bands)]
    if None in values:
        raise DatasetFormatError(f"{label}: GDAL metadata gives wavelengths for {len(found)} of {bands} bands")
    return envi.wavelengths_nm({"wavelength": "{" + ",".join(values) + "}", "wavelength units": units}, bands, label)


def _open_tif(path: Path) -> Product:
    """A TIFF/GeoTIFF: memory-mapped when uncompressed and contiguous; nodata and wavelengths from GDAL's tags."""
    import tifffile

    label = path.name
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = series.pages[0] if series.pages else tif.pages[0]
            shape, chunky = _tif_layout(series.shape, series.axes, label)
            dtype, offset = series.dtype, series.dataoffset
            nodata_tag = page.tags.get("GDAL_NODATA")
            meta_tag = page.tags.get("GDAL_METADATA")
            nodata = float(str(nodata_tag.value).strip().rstrip("\x00")) if nodata_tag is not None else None
            meta = str(meta_tag.value) if meta_tag is not None else None
            data = None if offset is not None else series.asarray().reshape(shape)
    except DatasetFormatError:
        raise
    except Exception as exc:
        raise DatasetFormatError(f"{label}: not a readable TIFF file ({exc})") from None
    out_shape = shape if chunky else (shape[1], shape[2], shape[0])

    def read_window(window):
        cube = _bands_last(np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape) if data is None else data,
                           chunky)
        if window is not None:
            r0, r1, c0, c1 = window
            cube = cube[r0:r1, c0:c1, :]
        return cube

    return Product(label, out_shape, np.dtype(dtype), read_window, nodata=nodata,
                   wavelengths=_gdal_metadata(meta, out_shape[2], label) if meta else None, windowed=data is None)


# --------------------------------------------------------------------------------------------
# MATLAB
# --------------------------------------------------------------------------------------------

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(fh: IO[bytes]) -> bool:
    """MATLAB v7.3 files are HDF5 with a 512-byte user block; the signature sits at 0 or 512·2^k."""
    pos = fh.tell()
    try:
        for offset in (0, 512, 1024, 2048):
            fh.seek(offset)
            if fh.read(8) == _HDF5_SIGNATURE:
                return True
        return False
    finally:
        fh.seek(pos)


def _choose(candidates: list[tuple[str, tuple[int, ...]]], variable: str | None, everything: list[str], label: str) -> str:
    if variable is not None:
        if variable not in everything:
            raise DatasetFormatError(
                f"{label}: no variable {variable!r}; variables in the file: {', '.join(everything) or 'none'}"
            )
        if variable not in dict(candidates):
            raise DatasetFormatError(f"{label}: variable {variable!r} is not a 3-D numeric array")
        return variable
    if len(candidates) == 1:
        return candidates[0][0]
    if not candidates:
        raise DatasetFormatError(
            f"{label}: no 3-D numeric array in the file (variables: {', '.join(everything) or 'none'})"
        )
    listing = ", ".join(f"{n} {s}" for n, s in candidates)
    raise DatasetFormatError(
        f"{label}: several 3-D arrays ({listing}); choose one with '{label}[variable=NAME]'"
    )


_NUMERIC_MATLAB = {"double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}


def _read_mat(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    if _is_hdf5(fh):
        return _read_mat73(fh, variable, label)
    import scipy.io

    try:
        listing = scipy.io.whosmat(fh)
        fh.seek(0)
        everything = [name for name, _, _ in listing]
        candidates = [(n, tuple(s)) for n, s, cls in listing if len(s) == 3 and cls in _NUMERIC_MATLAB]
        name = _choose(candidates, variable, everything, label)
        data = scipy.io.loadmat(fh, variable_names=[name], squeeze_me=False, mat_dtype=False)[name]
    except DatasetFormatError:
        raise
    except Exception as exc:  # scipy raises ValueError/TypeError/MatReadError on damaged files
        raise DatasetFormatError(f"{label}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    return np.asarray(data)


def _open_mat73(path: Path, variable: str | None) -> Product:
    """A MATLAB v7.3 (HDF5) variable, read from disk window by window (h5py slices the dataset)."""
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError("h5py", "Reading MATLAB v7.3 files") from None
    with open(path, "rb") as fh:
        name, (r, c, b), dtype = _mat73_choose(fh, variable, path.name)

    def read_window(window):
        r0, r1, c0, c1 = window if window is not None else (0, r, 0, c)
        try:
            with h5py.File(path, "r") as f:
                data = f[name][:, c0:c1, r0:r1]
        except Exception as exc:
            raise DatasetFormatError(f"{path.name}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from None
        return np.transpose(data, (2, 1, 0))  # MATLAB is column-major: (b, c, r) on disk

    return Product(path.name, (r, c, b), dtype, read_window, windowed=True)


def _mat73_choose(fh: IO[bytes], variable: str | None, label: str):
    """The variable of a v7.3 file to read: its name, MATLAB shape (rows, cols, bands) and dtype."""
    import h5py

    try:
        with h5py.File(fh, "r") as f:
            everything, candidates = [], []
            for key, obj in f.items():
                if key.startswith("#") or not isinstance(obj, h5py.Dataset):
                    continue
                everything.append(key)
                cls = obj.attrs.get("MATLAB_class", b"")
                cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                numeric = cls in _NUMERIC_MATLAB or (not cls and obj.dtype.kind in "iuf")
                if obj.ndim == 3 and numeric:
                    candidates.append((key, tuple(reversed(obj.shape))))
            name = _choose(candidates, variable, everything, label)
            return name, dict(candidates)[name], f[name].dtype
    except DatasetFormatError:
        raise
    except Exception as exc:
        raise DatasetFormatError(f"{label}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from None


def _read_mat73(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    """A whole MATLAB v7.3 variable from an open file (an archive member)."""
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError("h5py", "Reading MATLAB v7.3 files") from None
    name, _, _ = _mat73_choose(fh, variable, label)
    fh.seek(0)
    try:
        with h5py.File(fh, "r") as f:
            data = f[name][()]
    except Exception as exc:
        raise DatasetFormatError(f"{label}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from None
    # MATLAB writes column-major: an (r, c, b) MATLAB array is stored with HDF5 shape (b, c, r).
    return np.transpose(data, (2, 1, 0))


_READERS: dict[str, Callable[[IO[bytes], str | None, str], np.ndarray]] = {
    "npy": _read_npy,
    "mat": _read_mat,
    "tif": _read_tif,
}


# --------------------------------------------------------------------------------------------
# zip
# --------------------------------------------------------------------------------------------


def _read_zip(path: Path, member: str | None) -> np.ndarray:
    label = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if member is None:
                usable = [n for n in names if _SUFFIX.get(Path(n).suffix.lower()) in _READERS]
                if len(usable) != 1:
                    raise DatasetFormatError(
                        f"{label}: name the archive member to read ({', '.join(usable) or 'none usable'})"
                    )
                member = usable[0]
            if member not in names:
                raise DatasetFormatError(f"{label}: no member {member!r} in the archive")
            fmt = _SUFFIX.get(Path(member).suffix.lower())
            if fmt not in _READERS:
                raise DatasetFormatError(f"{label}: cannot read archive member {member!r} (use .npy, .mat or .tif)")
            buf = io.BytesIO(zf.read(member))
    except DatasetFormatError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetFormatError(f"{label}: not a readable zip archive ({exc})") from None
    return _READERS[fmt](buf, None, f"{label}:{member}")


