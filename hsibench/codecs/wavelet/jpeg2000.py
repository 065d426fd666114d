"""JPEG 2000 codec: every band (or spectral-DWT subband) a component of an OpenJPEG codestream.

The cube is coded by a real JPEG 2000 Part 1 encoder, OpenJPEG, through ``imagecodecs``
(imported lazily, so listing codecs never needs it): irreversible CDF 9/7 spatial DWT, no
colour transform, one quality layer, raw J2K codestream (no JP2 boxes).  With
``spectral_levels > 0`` a 1-D CDF 9/7 DWT along the bands comes first (the literature's
"JPEG 2000 with spectral DWT", the multi-component transform of Part 2, done here with the
project's shared lifting transform :mod:`.dwt` because the binding exposes no Part 2
options).

Integers: JPEG 2000 codes integer samples, so the (possibly transformed, float) data are
mapped to signed 16-bit with one global offset and scale (stored in the header).  One scale
for all components keeps OpenJPEG's MSE-based rate allocation (PCRD-opt across every code-block
of every component) equal to MSE allocation in the cube's own units; spectral subbands are
first multiplied by the L2 norm of their synthesis basis vectors so that an error in a coded
coefficient costs what it costs after the inverse transform.

Rate control: the binding has no rate (bytes) knob, only ``level``, OpenJPEG's fixed-quality
PSNR target in dB.  Size grows monotonically (and nearly linearly) with it, so a safeguarded
secant search on ``level`` (in log size) finds the largest stream whose whole container fits the
budget, accepting the first one that fills at least 99.5 % of it.

Components: the standard allows 16384 components per codestream; ``imagecodecs`` accepts at
most 4095 (checked with imagecodecs 2026.3.6).  Cubes with more bands are coded as several
codestreams of at most 4095 components, all at the same quality level (equal-MSE allocation
across the groups, a close stand-in for equal slope).
"""

from __future__ import annotations

import math
import struct
import sys
from typing import Callable

import numpy as np

from ...errors import CorruptDataError, InvalidCubeError, InvalidRateError, MissingDependencyError
from . import dwt
from .. import fields as F
from ..base import Codec, Header, Param, budget_bytes, register

MAX_COMPONENTS = 4095  # what imagecodecs.jpeg2k_encode accepts (the standard allows 16384)
INT_PEAK = 32767  # samples are signed 16-bit
MAX_RESOLUTIONS = 6  # OpenJPEG's default: 5 spatial DWT levels
# Spectral DWT levels by default: on the four shared cubes, 6 was within 0.35 dB of the best level
# count (3..7) at every rate from 0.1 to 2 bpppb, except Pavia (50x50x103) at 0.1 bpppb, 0.8 dB
# behind 7 levels (benchmarks/bench_jpeg2000.py --sweep-levels)
DEFAULT_SPECTRAL_LEVELS = 6
TOLERANCE = 0.995  # accept a stream once it fills this share of the budget (equal-bytes comparisons need it)
_LEVEL_LO, _LEVEL_HI = 1.0, 99.0  # fixed-quality PSNR targets (dB); >= 99.9 means lossless
_SEARCH_ITERS = 40
_LEVEL_START = 60.0  # first guess (dB), refined by the search
_DB_PER_DOUBLING = 5.5  # measured on the shared cubes: the stream doubles every ~5-6 dB
_LEN = struct.Struct("<I")


# --------------------------------------------------------------------------------------------
# The binding
# --------------------------------------------------------------------------------------------


def imagecodecs_module():
    """Import ``imagecodecs`` and check it has JPEG 2000; raise MissingDependencyError otherwise."""
    try:
        import imagecodecs
    except ImportError:
        raise MissingDependencyError("imagecodecs", "the jpeg2000 codec") from None
    if not getattr(getattr(imagecodecs, "JPEG2K", None), "available", False) or not hasattr(
        imagecodecs, "jpeg2k_encode"
    ):
        raise MissingDependencyError("imagecodecs", "the jpeg2000 codec (imagecodecs built without OpenJPEG)")
    return imagecodecs


def auto_resolutions(rows: int, cols: int) -> int:
    """Resolution levels for a ``rows x cols`` image: OpenJPEG's 6, fewer for tiny images."""
    return max(1, min(MAX_RESOLUTIONS, int(math.floor(math.log2(min(rows, cols)))) + 1))


def encode_components(q: np.ndarray, level: float, resolutions: int) -> bytes:
    """Code int16 components ``(n, rows, cols)`` as codestreams of <= 4095 components each.

    Returns the streams, each prefixed by its length (uint32, little endian).
    """
    ic = imagecodecs_module()
    out = []
    for group in np.array_split(q, n_groups(q.shape[0]), axis=0):
        g = np.ascontiguousarray(group[0] if group.shape[0] == 1 else group, dtype=np.int16)
        stream = ic.jpeg2k_encode(
            g,
            level=float(level),
            codecformat="J2K",
            planar=group.shape[0] > 1,
            reversible=False,
            mct=False,
            resolutions=int(resolutions),
            numthreads=1,
        )
        stream = strip_comments(bytes(stream))
        out.append(_LEN.pack(len(stream)) + stream)
    return b"".join(out)


def _main_header_segments(stream: bytes):
    """(marker, start, end) of each marker segment of a J2K main header, up to the first SOT."""
    pos = 2  # after SOC
    while pos + 4 <= len(stream):
        marker, length = struct.unpack_from(">HH", stream, pos)
        if marker == 0xFF90 or length < 2:  # SOT: the main header ends
            return
        yield marker, pos, pos + 2 + length
        pos += 2 + length


def strip_comments(stream: bytes) -> bytes:
    """Drop the COM segments ("Created by OpenJPEG ...", 37 bytes) from the main header.

    They are informative only; removing main-header segments leaves tile-part lengths intact.
    """
    if stream[:2] != b"\xff\x4f":
        return stream
    cut = [(a, b) for m, a, b in _main_header_segments(stream) if m == 0xFF64]
    for a, b in reversed(cut):
        stream = stream[:a] + stream[b:]
    return stream


def decomposition_levels(payload: bytes) -> int:
    """Spatial DWT levels that OpenJPEG used (from the first codestream's COD segment).

    imagecodecs lowers the requested resolutions so that the coarsest one is at least 8 pixels
    wide (3 DWT levels on 100 x 100, 1 on 24 x 20), hence this read-back for the record.
    """
    stream = payload[_LEN.size :]
    for marker, a, _ in _main_header_segments(stream):
        if marker == 0xFF52:
            return stream[a + 9]
    return -1


def split_codestreams(payload: bytes, n: int, rows: int, cols: int) -> list[tuple[bytes, int]]:
    """``(codestream, components)`` of :func:`encode_components`'s payload, each checked by :func:`check_siz`.

    Nothing is allocated for the image before every codestream's header has been checked.
    """
    sizes = [g.shape[0] for g in np.array_split(np.empty((n, 0)), n_groups(n), axis=0)]
    out, pos = [], 0
    for size in sizes:
        if pos + _LEN.size > len(payload):
            raise CorruptDataError("the jpeg2000 payload ends before all its codestreams")
        (length,) = _LEN.unpack_from(payload, pos)
        pos += _LEN.size
        if pos + length > len(payload):
            raise CorruptDataError("a jpeg2000 codestream is truncated")
        stream = payload[pos : pos + length]
        check_siz(stream, size, rows, cols)
        out.append((stream, size))
        pos += length
    if pos != len(payload):
        raise CorruptDataError(f"{len(payload) - pos} unexpected bytes follow the jpeg2000 codestreams")
    return out


_SOC_SIZ = struct.Struct(">HHHHIIIIIIIIH")  # SOC, SIZ, Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz


def check_siz(stream: bytes, components: int, rows: int, cols: int) -> None:
    """Check a codestream's image and tile header (SIZ) against what the container says, before OpenJPEG sees it.

    :func:`encode_components` always writes one tile of ``rows x cols`` pixels, no offsets, and
    ``components`` signed 16-bit components at full resolution; a codestream announcing anything
    else (a larger image, millions of 1-pixel tiles, 38-bit samples) would make OpenJPEG
    allocate and work for what the stream's author chose, not for the cube the header allows.
    """
    if len(stream) < _SOC_SIZ.size:
        raise CorruptDataError("a jpeg2000 codestream is too short for its SIZ header")
    soc, siz, lsiz, _, x, y, xo, yo, xt, yt, xto, yto, c = _SOC_SIZ.unpack_from(stream, 0)
    comps = stream[_SOC_SIZ.size : _SOC_SIZ.size + 3 * c]
    if soc != 0xFF4F or siz != 0xFF51 or lsiz != 38 + 3 * c or len(comps) != 3 * c:
        raise CorruptDataError("a jpeg2000 codestream does not start with a valid SOC and SIZ header")
    if (x, y, xo, yo, xto, yto, c) != (cols, rows, 0, 0, 0, 0, components) or xt < x or yt < y:
        raise CorruptDataError(
            f"a jpeg2000 codestream announces {c} components of {y} x {x} pixels (offsets {xo}, {yo}, tiles "
            f"{yt} x {xt} at {yto}, {xto}); the container expects {components} of {rows} x {cols} in one tile"
        )
    if comps != b"\x8f\x01\x01" * c:
        raise CorruptDataError("a jpeg2000 codestream's components are not full-resolution signed 16-bit samples")


def decode_components(payload: bytes, n: int, rows: int, cols: int) -> np.ndarray:
    """Inverse of :func:`encode_components`: int32 array ``(n, rows, cols)``; CorruptDataError if bad."""
    ic = imagecodecs_module()
    streams = split_codestreams(payload, n, rows, cols)
    out = np.empty((n, rows, cols), dtype=np.int32)
    start = 0
    for stream, size in streams:
        try:
            img = ic.jpeg2k_decode(stream, planar=True, numthreads=1)
        except Exception as exc:  # imagecodecs raises Jpeg2kError (RuntimeError) or ValueError
            raise CorruptDataError(f"OpenJPEG cannot decode the codestream: {exc}") from None
        if size == 1 and img.ndim == 2:
            img = img[None]
        if img.shape != (size, rows, cols):
            raise CorruptDataError(f"a codestream holds shape {img.shape}, expected {(size, rows, cols)}")
        out[start : start + size] = img
        start += size
    return out


def n_groups(n: int) -> int:
    """Codestreams needed for ``n`` components."""
    return max(1, -(-n // MAX_COMPONENTS))


# --------------------------------------------------------------------------------------------
# Float <-> int16 mapping
# --------------------------------------------------------------------------------------------


def to_int16(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Map float data to int16 with one offset and scale: ``q = rint((y - offset) * scale)``."""
    lo, hi = float(y.min()), float(y.max())
    offset = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    scale = INT_PEAK / half if half > 0 else 1.0
    q = np.clip(np.rint((y - offset) * scale), -INT_PEAK, INT_PEAK).astype(np.int16)
    return q, offset, scale


def from_int(q: np.ndarray, offset: float, scale: float) -> np.ndarray:
    """Inverse of :func:`to_int16` (float64)."""
    return q.astype(np.float64) / scale + offset


# --------------------------------------------------------------------------------------------
# Rate control
# --------------------------------------------------------------------------------------------


def fit_rate(
    encode: Callable[[float], bytes], capacity: int, what: str, fixed: int, voxels: int, start: float | None = None,
    tolerance: float = TOLERANCE,
) -> tuple[bytes, float]:
    """Largest ``encode(level)`` not above ``capacity`` bytes, stopping once >= ``tolerance`` of it (99.5 %).

    ``encode`` maps OpenJPEG's quality level (dB) to a payload; ``fixed`` bytes (container header
    and side information) are outside ``capacity`` and only enter the error message.  The search
    starts at ``start`` (e.g. the level found for a similar stream), steps by the rule of thumb of
    about 5.5 dB per doubling of the size until the target is bracketed, then takes secant steps on
    log(size) inside the bracket.  Returns (payload, level).
    """
    goal = math.log((1.0 + tolerance) / 2 * max(capacity, 1))
    best: tuple[bytes, float] | None = None
    lo = hi = s_lo = s_hi = None
    level = min(max(_LEVEL_START if start is None else start, _LEVEL_LO), _LEVEL_HI)
    if capacity < 1:  # only the side information fits, if that: measure the smallest stream
        level = _LEVEL_LO
    for _ in range(_SEARCH_ITERS):
        data = encode(level)
        size = max(1, len(data))
        if size <= capacity:
            if best is None or size > len(best[0]):
                best = (data, level)
            if size >= tolerance * capacity or level >= _LEVEL_HI:
                break  # full enough, or even the finest quality fits
            lo, s_lo = level, size
        else:
            if level <= _LEVEL_LO:
                raise InvalidRateError(
                    f"the target rate is below the smallest {what} stream for this cube: "
                    f"{8 * (size + fixed) / voxels:.4g} bpppb ({size + fixed} bytes)"
                )
            hi, s_hi = level, size
        if lo is None or hi is None:  # not bracketed yet: a model step, at most 20 dB
            step = _DB_PER_DOUBLING * (goal - math.log(size)) / math.log(2.0)
            level = min(max(level + min(max(step, -20.0), 20.0), _LEVEL_LO), _LEVEL_HI)
            if lo is not None and level <= lo:
                level = min(lo + 1.0, _LEVEL_HI)
            if hi is not None and level >= hi:
                level = max(hi - 1.0, _LEVEL_LO)
            continue
        if hi - lo < 1e-3:
            break
        if s_hi > s_lo:
            level = lo + (goal - math.log(s_lo)) * (hi - lo) / (math.log(s_hi) - math.log(s_lo))
        else:
            level = 0.5 * (lo + hi)
        margin = 0.05 * (hi - lo)
        level = min(max(level, lo + margin), hi - margin)
    if best is None:  # cannot happen: the loop only ends without a fit by raising
        raise InvalidRateError(f"no {what} stream fits the target rate")
    return best


# --------------------------------------------------------------------------------------------
# 1-D CDF 9/7 along the bands: the spectral part of the shared 3-D transform (.dwt)
# --------------------------------------------------------------------------------------------


def max_spectral_levels(bands: int) -> int:
    """Dyadic levels possible on ``bands`` samples (each split needs at least 2 samples)."""
    return dwt.max_levels((bands, 1, 1))[0]


def spectral_forward(x_brc: np.ndarray, levels: int) -> np.ndarray:
    """Dyadic 1-D CDF 9/7 DWT along axis 0 of ``(bands, rows, cols)``: ``[low_L, high_L, ..., high_1]``.

    Non-expansive, whole-sample symmetric extension, PyWavelets' bior4.4 normalisation
    (:mod:`.dwt` with ``spatial_levels=0``).
    """
    if levels == 0:
        return np.asarray(x_brc, dtype=np.float64)
    return dwt.forward(x_brc, "packet", levels, 0)[0]


def spectral_inverse(c_brc: np.ndarray, levels: int) -> np.ndarray:
    """Inverse of :func:`spectral_forward` (float64)."""
    if levels == 0:
        return np.asarray(c_brc, dtype=np.float64)
    return dwt.inverse(c_brc, dwt.make_layout(c_brc.shape, "packet", levels, 0))


def synthesis_norms(bands: int, levels: int) -> np.ndarray:
    """L2 norm of each coefficient's synthesis vector: weights that make coefficient MSE cube MSE."""
    if levels == 0:
        return np.ones(bands)
    out = np.empty(bands)
    for start in range(0, bands, 256):  # impulses in blocks: bounded memory for any band count
        stop = min(bands, start + 256)
        impulses = np.zeros((bands, 1, stop - start))
        impulses[np.arange(start, stop), 0, np.arange(stop - start)] = 1.0
        out[start:stop] = np.linalg.norm(spectral_inverse(impulses, levels)[:, 0, :], axis=0)
    return out


# --------------------------------------------------------------------------------------------
# The codec
# --------------------------------------------------------------------------------------------


@register
class JPEG2000(Codec):
    """Multi-component JPEG 2000 (OpenJPEG, irreversible 9/7), optional spectral 9/7 DWT first."""

    name = "jpeg2000"
    revision = 2  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "JPEG 2000 (OpenJPEG via imagecodecs), bands as components, optional spectral 9/7 DWT"
    params = {
        "spectral_levels": Param(
            int, None, "levels of the 1-D CDF 9/7 DWT along the bands before coding (0 = none; default: "
            "6, fewer for few bands)", optional=True, check=lambda v: 0 <= v <= 16, check_doc="in 0..16",
        ),
        "resolutions": Param(
            int, None, "JPEG 2000 resolutions requested (spatial DWT levels + 1; default 6; imagecodecs "
            "lowers it so the coarsest resolution keeps >= 8 pixels)",
            optional=True, check=lambda v: 1 <= v <= 33, check_doc="in 1..33",
        ),
    }

    def _levels(self, bands: int) -> int:
        most = max_spectral_levels(bands)
        want = self.config["spectral_levels"]
        if want is None:
            return min(DEFAULT_SPECTRAL_LEVELS, most)
        if want > most:
            raise InvalidCubeError(
                f"{bands} bands allow at most {most} spectral DWT levels; got spectral_levels={want}"
            )
        return want

    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        imagecodecs_module()
        rows, cols, bands = cube.shape
        levels = self._levels(bands)
        res = self.config["resolutions"] or auto_resolutions(rows, cols)
        weights = synthesis_norms(bands, levels)[:, None, None]
        y = spectral_forward(np.moveaxis(cube, -1, 0), levels) * weights  # (bands, rows, cols)
        q, offset, scale = to_int16(y)
        params = {"spectral_levels": levels, "offset": offset, "scale": scale}
        fixed = self._header_size(cube, params)
        capacity = budget_bytes(bpppb, cube.shape) - fixed
        payload, level = fit_rate(
            lambda lv: encode_components(q, lv, res), capacity, "jpeg2000", fixed, cube.size
        )
        self.info = {"spectral_levels": levels, "quality_db": level, "codestreams": n_groups(bands),
                     "spatial_levels": decomposition_levels(payload)}
        return self._pack(cube, params, payload)

    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        levels, offset, scale = read_mapping(header.params, "jpeg2000")
        if levels > max_spectral_levels(bands):
            raise CorruptDataError(f"the jpeg2000 stream's {levels} spectral levels do not fit {bands} bands")
        q = decode_components(payload, bands, rows, cols)
        y = from_int(q, offset, scale) / synthesis_norms(bands, levels)[:, None, None]
        return np.moveaxis(spectral_inverse(y, levels), 0, -1)


def read_mapping(p: dict, codec: str, levels: bool = True) -> tuple[int, float, float]:
    """``(spectral_levels, offset, scale)`` of the int16 mapping from a header, checked (``levels=False``: 0).

    The scale is ``32767 / half-range`` of data within the float32 range: positive, finite, and
    at least ``32767 / VALUE_MAX``, so decoded values stay within the range they came from.
    """
    lv = F.read_int(p, "spectral_levels", codec, 0, 64) if levels else 0
    offset = F.read_number(p, "offset", codec)
    scale = F.read_number(p, "scale", codec, INT_PEAK / F.VALUE_MAX, sys.float_info.max)
    return lv, float(offset), float(scale)
