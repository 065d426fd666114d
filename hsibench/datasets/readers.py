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
    The header is parsed here (samples, lines, bands, data type, interleave bsq/bil/bip, byte
    order, header offset); the raw file beside it is found by the usual names (``x``, ``x.img``,
    ``x.dat``, ``x.raw``, ``x.bsq|bil|bip``, ``x.bin``; or ``data file`` in the header).
``.tif`` / ``.tiff``
    tifffile.  Layout: when the image series' last axis is a samples axis (``S``/``C``, i.e. a
    chunky/pixel-interleaved TIFF), the file is already bands-last; otherwise (one page per band,
    the usual multi-page hyperspectral TIFF, e.g. Purdue's ``dc.tif``) the first axis is bands.
``.zip``
    An archive member (``variable`` = member path) in one of the formats above except ENVI.

Every reader returns a C-contiguous array in native byte order, in the file's own dtype, and raises
:class:`~hsibench.errors.DatasetFormatError` when the file is not a non-empty numeric 3-D cube.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import IO, Callable

import numpy as np

from ..errors import DatasetFormatError, MissingDependencyError

FORMATS = ("npy", "mat", "hdr", "tif", "zip")
_SUFFIX = {".npy": "npy", ".mat": "mat", ".hdr": "hdr", ".tif": "tif", ".tiff": "tif", ".zip": "zip"}


def detect_format(path: str | Path) -> str:
    """The reader for a file name, from its suffix; ENVI data files are recognised by a sibling .hdr."""
    p = Path(path)
    fmt = _SUFFIX.get(p.suffix.lower())
    if fmt:
        return fmt
    if _envi_header_for(p) is not None:
        return "hdr"
    raise DatasetFormatError(
        f"cannot tell the format of {p.name!r}; supported: .npy, .mat, ENVI .hdr (+ raw), .tif/.tiff, .zip"
    )


def read_cube(path: str | Path, variable: str | None = None, *, fmt: str | None = None) -> np.ndarray:
    """Read the cube stored in ``path`` as a ``(rows, cols, bands)`` array.

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
        cube = read_envi(path)
    elif fmt == "zip":
        cube = _read_zip(path, variable)
    else:
        with open(path, "rb") as fh:
            cube = _READERS[fmt](fh, variable, path.name)
    return _finish(cube, path.name)


# --------------------------------------------------------------------------------------------
# npy, tif
# --------------------------------------------------------------------------------------------


def _read_npy(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    try:
        return np.load(fh, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError/UnpicklingError for bad files
        raise DatasetFormatError(f"{label}: not a readable .npy file ({exc})") from None


def _read_tif(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(fh) as tif:
            series = tif.series[0]
            axes = series.axes
            data = series.asarray()
    except Exception as exc:
        raise DatasetFormatError(f"{label}: not a readable TIFF file ({exc})") from None
    data = np.squeeze(data) if data.ndim > 3 else data
    if data.ndim != 3:
        raise DatasetFormatError(f"{label}: the TIFF image has shape {data.shape}, not a 3-D cube")
    if axes and axes[-1] in "SC" and len(axes) == 3:
        return data  # chunky (pixel-interleaved): already (rows, cols, bands)
    return np.moveaxis(data, 0, -1)  # one page per band: (bands, rows, cols)


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


def _read_mat73(fh: IO[bytes], variable: str | None, label: str) -> np.ndarray:
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError("h5py", "Reading MATLAB v7.3 files") from None
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
            data = f[name][()]
    except DatasetFormatError:
        raise
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


# --------------------------------------------------------------------------------------------
# ENVI
# --------------------------------------------------------------------------------------------

ENVI_DTYPES = {
    1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8",
}
_DATA_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin", ".IMG", ".DAT", ".RAW")


def parse_envi_header(text: str, label: str = "ENVI header") -> dict[str, str]:
    """Parse ENVI header text into a dict of lower-case keys to raw string values.

    Handles ``key = value`` lines and ``{...}`` values spanning several lines; the first line must
    be ``ENVI``.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or lines[0].strip() != "ENVI":
        raise DatasetFormatError(f"{label}: not an ENVI header (the first line must be 'ENVI')")
    fields: dict[str, str] = {}
    i = 1
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith(";") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith("{"):
            while "}" not in value and i < len(lines):
                value += "\n" + lines[i]
                i += 1
            if "}" not in value:
                raise DatasetFormatError(f"{label}: unterminated '{{' in field {key.strip()!r}")
        fields[key.strip().lower()] = value
    return fields


def _envi_int(fields: dict[str, str], key: str, label: str, default: int | None = None) -> int:
    if key not in fields:
        if default is not None:
            return default
        raise DatasetFormatError(f"{label}: the header has no '{key}' field")
    try:
        return int(fields[key].strip("{} \n"))
    except ValueError:
        raise DatasetFormatError(f"{label}: field '{key}' = {fields[key]!r} is not an integer") from None


def _envi_header_for(path: Path) -> Path | None:
    """The ENVI header of a raw data file (``x.img`` -> ``x.hdr`` or ``x.img.hdr``), if any."""
    for cand in (path.with_suffix(".hdr"), path.with_name(path.name + ".hdr")):
        if cand != path and cand.is_file():
            return cand
    return None


def _envi_data_for(hdr: Path, fields: dict[str, str]) -> Path:
    if "data file" in fields:
        cand = hdr.parent / fields["data file"].strip("{} \n")
        if cand.is_file():
            return cand
    stem = hdr.with_suffix("")
    for suffix in _DATA_SUFFIXES:
        cand = stem.with_name(stem.name + suffix)
        if cand.is_file() and cand != hdr:
            return cand
    raise DatasetFormatError(
        f"{hdr.name}: no data file beside the header (looked for {stem.name} with "
        f"{', '.join(s or '(no suffix)' for s in _DATA_SUFFIXES[:8])})"
    )


def read_envi(path: str | Path) -> np.ndarray:
    """Read an ENVI cube given its ``.hdr`` (or its raw data file with a ``.hdr`` beside it)."""
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        hdr = path
    else:
        found = _envi_header_for(path)
        if found is None:
            raise DatasetFormatError(f"{path.name}: no ENVI header (.hdr) beside the file")
        hdr = found
    label = hdr.name
    try:
        fields = parse_envi_header(hdr.read_text(encoding="latin-1"), label)
    except OSError as exc:
        raise DatasetFormatError(f"{label}: cannot read the header ({exc})") from None
    data_path = path if path != hdr else _envi_data_for(hdr, fields)

    samples = _envi_int(fields, "samples", label)
    lines = _envi_int(fields, "lines", label)
    bands = _envi_int(fields, "bands", label)
    code = _envi_int(fields, "data type", label)
    offset = _envi_int(fields, "header offset", label, default=0)
    order = _envi_int(fields, "byte order", label, default=0)
    interleave = fields.get("interleave", "bsq").strip("{} \n").lower()
    if min(samples, lines, bands) <= 0 or offset < 0:
        raise DatasetFormatError(f"{label}: non-positive size ({lines} lines, {samples} samples, {bands} bands)")
    if code not in ENVI_DTYPES:
        raise DatasetFormatError(
            f"{label}: ENVI data type {code} is not supported (supported: {sorted(ENVI_DTYPES)}; complex types are not cubes)"
        )
    if order not in (0, 1):
        raise DatasetFormatError(f"{label}: byte order must be 0 (little) or 1 (big), got {order}")
    if interleave not in ("bsq", "bil", "bip"):
        raise DatasetFormatError(f"{label}: interleave must be bsq, bil or bip, got {interleave!r}")

    dtype = np.dtype(ENVI_DTYPES[code]).newbyteorder("<" if order == 0 else ">")
    count = samples * lines * bands
    need = offset + count * dtype.itemsize
    have = data_path.stat().st_size
    if have < need:
        raise DatasetFormatError(
            f"{data_path.name}: truncated ({have} bytes; the header describes {need} bytes)"
        )
    flat = np.fromfile(data_path, dtype=dtype, count=count, offset=offset)
    if interleave == "bsq":
        cube = flat.reshape(bands, lines, samples).transpose(1, 2, 0)
    elif interleave == "bil":
        cube = flat.reshape(lines, bands, samples).transpose(0, 2, 1)
    else:
        cube = flat.reshape(lines, samples, bands)
    return cube


# --------------------------------------------------------------------------------------------


def _finish(cube: np.ndarray, label: str) -> np.ndarray:
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

