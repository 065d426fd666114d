"""ENVI files: the text header, and the raw data memory-mapped so that a window reads only its pages.

The header gives the layout (samples, lines, bands, data type, interleave bsq/bil/bip, byte
order, header offset) and, when present, the sensor product's metadata: ``wavelength`` with
``wavelength units`` (converted to nm; values without units below 100 are taken as
micrometres, as ENVI's "Unknown" units usually are), ``bbl`` (the bad-band list) and
``data ignore value`` (the fill value of pixels outside the flight line).  The raw file
beside the header is found by the usual names (``x``, ``x.img``, ``x.dat``, ``x.raw``,
``x.bsq|bil|bip``, ``x.bin``; or ``data file`` in the header).

The data are never read whole: a crop reads only the contiguous runs of the file that hold its
window (per band the crop's rows for BSQ, per line the line for BIL, the crop's columns for
BIP) straight into the output array, so the peak memory of cropping a multi-GB flight line
is the crop plus one run.  (A ``numpy.memmap`` would read the same bytes, but every page it
touches counts in the process's resident memory while mapped: twice the crop for BSQ.)
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DatasetFormatError
from .product import Product, per_band

ENVI_DTYPES = {
    1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8",
}
_DATA_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin", ".IMG", ".DAT", ".RAW")
#: ``wavelength units`` values (lower case) and their factor to nm
UNITS_TO_NM = {"nanometers": 1.0, "nanometer": 1.0, "nm": 1.0, "micrometers": 1e3, "micrometer": 1e3,
               "microns": 1e3, "micron": 1e3, "um": 1e3, "µm": 1e3, "millimeters": 1e6, "mm": 1e6}


def parse_header(text: str, label: str = "ENVI header") -> dict[str, str]:
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


def _int(fields: dict[str, str], key: str, label: str, default: int | None = None) -> int:
    if key not in fields:
        if default is not None:
            return default
        raise DatasetFormatError(f"{label}: the header has no '{key}' field")
    try:
        return int(fields[key].strip("{} \n"))
    except ValueError:
        raise DatasetFormatError(f"{label}: field '{key}' = {fields[key]!r} is not an integer") from None


def _list(fields: dict[str, str], key: str, label: str) -> list[float] | None:
    """A ``{a, b, c}`` header field as floats, or None when absent."""
    if key not in fields:
        return None
    items = [v for v in re.split(r"[,\s]+", fields[key].strip().strip("{}")) if v]
    try:
        return [float(v) for v in items]
    except ValueError:
        raise DatasetFormatError(f"{label}: field '{key}' is not a list of numbers") from None


def wavelengths_nm(fields: dict[str, str], bands: int, label: str) -> np.ndarray | None:
    """The ``wavelength`` field in nm (see the module docstring for units), or None."""
    values = _list(fields, "wavelength", label)
    if values is None:
        return None
    wl = per_band(values, bands, "wavelengths", label)
    units = fields.get("wavelength units", "").strip("{} \n").lower()
    if units in UNITS_TO_NM:
        return wl * UNITS_TO_NM[units]
    if units in ("", "unknown"):
        return wl * 1e3 if wl.max() < 100 else wl
    raise DatasetFormatError(f"{label}: 'wavelength units = {units}' is not a length unit "
                             f"(known: {', '.join(sorted(UNITS_TO_NM))})")


def header_for(path: Path) -> Path | None:
    """The ENVI header of a raw data file (``x.img`` -> ``x.hdr`` or ``x.img.hdr``), if any."""
    for cand in (path.with_suffix(".hdr"), path.with_name(path.name + ".hdr")):
        if cand != path and cand.is_file():
            return cand
    return None


def _data_for(hdr: Path, fields: dict[str, str]) -> Path:
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


def open_envi(path: str | Path) -> Product:
    """Open an ENVI cube given its ``.hdr`` (or its raw data file with a ``.hdr`` beside it); windows are read on demand."""
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        hdr = path
    else:
        found = header_for(path)
        if found is None:
            raise DatasetFormatError(f"{path.name}: no ENVI header (.hdr) beside the file")
        hdr = found
    label = hdr.name
    try:
        fields = parse_header(hdr.read_text(encoding="latin-1"), label)
    except OSError as exc:
        raise DatasetFormatError(f"{label}: cannot read the header ({exc})") from None
    data_path = path if path != hdr else _data_for(hdr, fields)

    samples = _int(fields, "samples", label)
    lines = _int(fields, "lines", label)
    bands = _int(fields, "bands", label)
    code = _int(fields, "data type", label)
    offset = _int(fields, "header offset", label, default=0)
    order = _int(fields, "byte order", label, default=0)
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
    need = offset + samples * lines * bands * dtype.itemsize
    have = data_path.stat().st_size
    if have < need:
        raise DatasetFormatError(
            f"{data_path.name}: truncated ({have} bytes; the header describes {need} bytes)"
        )
    itemsize = dtype.itemsize

    def run(fh, start: int, count: int) -> np.ndarray:
        """``count`` values from element ``start`` of the data (one contiguous run of the file)."""
        fh.seek(offset + start * itemsize)
        return np.fromfile(fh, dtype=dtype, count=count)

    def read_window(window):
        r0, r1, c0, c1 = window if window is not None else (0, lines, 0, samples)
        out = np.empty((r1 - r0, c1 - c0, bands), dtype=dtype)
        with open(data_path, "rb") as fh:
            if interleave == "bsq":  # per band, the window's rows are one run
                for b in range(bands):
                    out[:, :, b] = run(fh, (b * lines + r0) * samples, (r1 - r0) * samples).reshape(
                        r1 - r0, samples)[:, c0:c1]
            elif interleave == "bil":  # per line, all bands of the line are one run
                for r in range(r0, r1):
                    out[r - r0] = run(fh, r * bands * samples, bands * samples).reshape(bands, samples)[:, c0:c1].T
            else:  # bip: per line, the window's columns are one run
                for r in range(r0, r1):
                    out[r - r0] = run(fh, (r * samples + c0) * bands, (c1 - c0) * bands).reshape(c1 - c0, bands)
        return out

    ignore = _list(fields, "data ignore value", label)
    if ignore is not None and len(ignore) != 1:
        raise DatasetFormatError(f"{label}: 'data ignore value' must be one number")
    bbl = _list(fields, "bbl", label)
    return Product(
        label=label, shape=(lines, samples, bands), dtype=dtype.newbyteorder("="), read_window=read_window,
        wavelengths=wavelengths_nm(fields, bands, label), nodata=ignore[0] if ignore else None,
        bbl=(per_band(bbl, bands, "bad-band flags (bbl)", label) != 0).astype(np.uint8) if bbl is not None else None,
        windowed=True,
    )
