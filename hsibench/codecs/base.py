"""The codec contract: the ``Codec`` base class, typed parameters, the registry and the container.

Every codec turns a ``(rows, cols, bands)`` cube into bytes and back.  The bytes are one
self-describing container (see :func:`pack`); its header counts toward the rate like
everything else that ``decode`` reads.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import struct
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from . import limits
from .catalog import BUILTIN
from ..errors import (
    CorruptDataError,
    InvalidCubeError,
    InvalidParameterError,
    InvalidRateError,
    UnknownCodecError,
)

# --------------------------------------------------------------------------------------------
# Typed parameters
# --------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a codec: its type, default, allowed values and a line of help."""

    type: type
    default: Any
    doc: str
    check: Callable[[Any], bool] | None = None
    check_doc: str = ""
    choices: tuple | None = None
    optional: bool = False  # None is a valid value (meaning "chosen automatically")

    def convert(self, name: str, value: Any) -> Any:
        """Convert a spec string or Python value to this parameter's type, or raise."""
        if value is None or (isinstance(value, str) and value.lower() in {"none", "auto"}):
            if self.optional:
                return None
            raise InvalidParameterError(f"parameter '{name}' needs a value ({self.doc})")
        try:
            if self.type is bool:
                if isinstance(value, str):
                    low = value.lower()
                    if low not in _TRUE | _FALSE:
                        raise ValueError
                    value = low in _TRUE
                elif isinstance(value, (bool, np.bool_, int)) and value in (0, 1):
                    value = bool(value)
                else:
                    raise ValueError
            elif self.type is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                if isinstance(value, bool):
                    raise ValueError
                value = int(value)
            elif self.type is float:
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError
            else:
                value = self.type(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"parameter '{name}' must be {self.type.__name__}, got {value!r} ({self.doc})"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise InvalidParameterError(
                f"parameter '{name}' must be one of {', '.join(map(str, self.choices))}; got {value!r}"
            )
        if self.check is not None and not self.check(value):
            raise InvalidParameterError(f"parameter '{name}' must be {self.check_doc}; got {value!r}")
        return value


# --------------------------------------------------------------------------------------------
# Cube and rate validation, shared by every codec
# --------------------------------------------------------------------------------------------

#: largest finite float32: decoders return float32 cubes, so cubes must fit its range
FLOAT32_MAX = float(np.finfo(np.float32).max)


def native_bits(dtype: np.dtype) -> int:
    """Bits per sample of a dtype: the largest meaningful bpppb and the CR reference."""
    return int(np.dtype(dtype).itemsize * 8)


def validate_cube(cube: Any) -> np.ndarray:
    """Return ``cube`` as a numpy array after checking it is a finite, non-empty 3-D numeric cube."""
    if not isinstance(cube, np.ndarray):
        cube = np.asarray(cube)
    if cube.ndim != 3:
        raise InvalidCubeError(
            f"a cube must have 3 dimensions (rows, cols, bands); got {cube.ndim} with shape {cube.shape}"
        )
    if min(cube.shape) == 0:
        raise InvalidCubeError(f"a cube must not have an empty axis; got shape {cube.shape}")
    if cube.dtype.kind not in "uif":
        raise InvalidCubeError(f"a cube must hold integers or floats; got dtype {cube.dtype}")
    if cube.dtype.kind == "f" and not np.isfinite(cube).all():
        bad = int(np.count_nonzero(~np.isfinite(cube)))
        raise InvalidCubeError(f"the cube holds {bad} NaN or infinite values; clean or mask them first")
    if cube.dtype.kind == "f" and cube.dtype.itemsize > 4:
        big = max(-float(cube.min()), float(cube.max()))
        if big > FLOAT32_MAX:
            raise InvalidCubeError(
                f"the cube holds values up to {big:.4g} in magnitude, beyond the float32 range (±{FLOAT32_MAX:.4g}) "
                "that decoders return; rescale the cube (e.g. to other units) first"
            )
    return cube


def validate_rate(bpppb: Any, dtype: np.dtype) -> float:
    """Check a target rate: a finite number above 0 and at most the native bit depth."""
    try:
        rate = float(bpppb)
    except (TypeError, ValueError):
        raise InvalidRateError(f"a rate must be a number of bits per pixel per band; got {bpppb!r}") from None
    bits = native_bits(dtype)
    if not math.isfinite(rate) or rate <= 0:
        raise InvalidRateError(f"a rate must be a finite number above 0 bpppb; got {bpppb!r}")
    if rate > bits:
        raise InvalidRateError(
            f"a rate of {rate:g} bpppb is above the {bits} bits per sample of a {np.dtype(dtype)} cube"
        )
    return rate


def budget_bytes(bpppb: float, shape: tuple[int, ...]) -> int:
    """Whole container bytes allowed for a target rate: floor(bpppb * voxels / 8)."""
    return int(math.floor(bpppb * int(np.prod(shape)) / 8.0 + 1e-9))


# --------------------------------------------------------------------------------------------
# The container: header + payload, with a CRC so corruption is detected
# --------------------------------------------------------------------------------------------

MAGIC = b"HSIB"
FORMAT_VERSION = 1
_FIXED = struct.Struct("<4sB")  # magic, version
_SHAPE = struct.Struct("<III")
_TAIL = struct.Struct("<II")  # payload length, CRC32 of header-before-tail + payload


@dataclass(frozen=True)
class Header:
    """What the container says about the cube it holds and how to decode it."""

    codec: str
    shape: tuple[int, int, int]
    dtype: np.dtype
    params: dict[str, Any]
    payload_size: int


def _header_prefix(codec: str, shape: tuple[int, ...], dtype: np.dtype, params: dict) -> bytes:
    name = codec.encode("ascii")
    dt = np.dtype(dtype).str.encode("ascii")
    meta = json.dumps(params, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(name) > 255 or len(dt) > 255 or len(meta) > 65535:
        raise ValueError("container header fields too long")
    return b"".join(
        [
            _FIXED.pack(MAGIC, FORMAT_VERSION),
            struct.pack("<B", len(name)),
            name,
            struct.pack("<B", len(dt)),
            dt,
            _SHAPE.pack(*(int(s) for s in shape)),
            struct.pack("<H", len(meta)),
            meta,
        ]
    )


def header_size(codec: str, shape: tuple[int, ...], dtype: np.dtype, params: dict) -> int:
    """Bytes the container header will take for these fields (for rate budgeting)."""
    return len(_header_prefix(codec, shape, dtype, params)) + _TAIL.size


def pack(codec: str, shape: tuple[int, ...], dtype: np.dtype, params: dict, payload: bytes) -> bytes:
    """Wrap a payload in the container: magic, version, codec, dtype, shape, JSON params, size, CRC."""
    prefix = _header_prefix(codec, shape, dtype, params)
    crc = zlib.crc32(payload, zlib.crc32(prefix))
    return prefix + _TAIL.pack(len(payload), crc) + bytes(payload)


def _take(data: bytes, pos: int, n: int, what: str) -> tuple[bytes, int]:
    if pos + n > len(data):
        raise CorruptDataError(f"the data end inside the container header ({what}); the bytes are truncated")
    return data[pos : pos + n], pos + n


def unpack(data: bytes) -> tuple[Header, bytes]:
    """Parse and verify a container; raise :class:`CorruptDataError` on anything wrong."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptDataError(f"decode needs bytes; got {type(data).__name__}")
    data = bytes(data)
    raw, pos = _take(data, 0, _FIXED.size, "magic")
    magic, version = _FIXED.unpack(raw)
    if magic != MAGIC:
        raise CorruptDataError("these bytes are not an hsibench stream (wrong magic number)")
    if version != FORMAT_VERSION:
        raise CorruptDataError(
            f"container format version {version} is not supported (this hsibench reads {FORMAT_VERSION})"
        )
    (n,), pos = struct.unpack("<B", data[pos : pos + 1] or b"\0"), pos + 1
    name, pos = _take(data, pos, n, "codec name")
    (n,), pos = struct.unpack("<B", data[pos : pos + 1] or b"\0"), pos + 1
    dt, pos = _take(data, pos, n, "dtype")
    raw, pos = _take(data, pos, _SHAPE.size, "shape")
    shape = _SHAPE.unpack(raw)
    raw, pos = _take(data, pos, 2, "parameter length")
    (n,) = struct.unpack("<H", raw)
    meta, pos = _take(data, pos, n, "parameters")
    prefix_end = pos
    raw, pos = _take(data, pos, _TAIL.size, "payload size")
    size, crc = _TAIL.unpack(raw)
    payload = data[pos:]
    if len(payload) < size:
        raise CorruptDataError(
            f"the payload is truncated: the header announces {size} bytes, {len(payload)} are present"
            " (to make a lower-rate stream from an embedded one, use hsibench.codecs.truncate)"
        )
    if len(payload) > size:
        raise CorruptDataError(f"{len(payload) - size} unexpected bytes follow the payload")
    if zlib.crc32(payload, zlib.crc32(data[:prefix_end])) != crc:
        raise CorruptDataError("checksum mismatch: the stream is corrupted")
    try:
        header = Header(
            codec=name.decode("ascii"),
            shape=tuple(int(s) for s in shape),  # type: ignore[arg-type]
            dtype=_cube_dtype(dt.decode("ascii")),
            params=json.loads(meta.decode("utf-8")),
            payload_size=size,
        )
    except (UnicodeDecodeError, TypeError, ValueError, RecursionError) as exc:  # CRC matched: a foreign writer
        raise CorruptDataError(f"unreadable container header: {type(exc).__name__}: {str(exc)[:200]}") from None
    if min(header.shape) == 0:
        raise CorruptDataError(f"the container announces an empty cube {header.shape}")
    if not isinstance(header.params, dict):
        raise CorruptDataError(f"the container's decode parameters are a JSON {type(header.params).__name__}, not an object")
    return header, payload


_DTYPE = re.compile(r"[<>|=]?[uif][0-9]{1,2}")


def _cube_dtype(text: str) -> np.dtype:
    """The dtype a header names, if it is one a cube can have (what ``dtype.str`` writes for ints and floats)."""
    if not _DTYPE.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not an integer or float dtype")
    dt = np.dtype(text)  # TypeError for sizes numpy does not have (e.g. 'u3')
    if dt.kind not in "uif":
        raise ValueError(f"{text!r} is not an integer or float dtype")
    return dt


def truncate(data: bytes, nbytes: int) -> bytes:
    """Cut an *embedded* stream to at most ``nbytes`` in all, keeping it a valid lower-rate stream.

    The header is rewritten with the shorter payload size and a fresh checksum, so the result
    decodes (at the lower rate) while accidental truncation of the raw bytes is still detected.
    """
    header, payload = unpack(data)
    codec = get(header.codec)
    if not codec.embedded:
        raise InvalidRateError(f"codec '{header.codec}' is not embedded; its streams cannot be truncated")
    keep = nbytes - header_size(header.codec, header.shape, header.dtype, header.params)
    if keep < 0:
        raise InvalidRateError(f"{nbytes} bytes cannot even hold the container header")
    return pack(header.codec, header.shape, header.dtype, header.params, codec._truncate_payload(header, payload, keep))


# --------------------------------------------------------------------------------------------
# The Codec base class
# --------------------------------------------------------------------------------------------


class Codec(ABC):
    """A lossy cube codec: ``encode(cube, bpppb=r) -> bytes`` and ``decode(bytes) -> cube``.

    Subclasses set ``name`` and ``params`` and implement ``_encode`` and ``_decode``; this class
    validates inputs, builds and checks the container, and converts the output to float32.
    """

    name: ClassVar[str]
    #: bumped whenever the codec's bytes or quality for the same inputs change; part of every task
    #: key, so records of an older revision are never mistaken for this one's (tests/test_golden.py)
    revision: ClassVar[int]
    params: ClassVar[dict[str, Param]] = {}
    embedded: ClassVar[bool] = False  # any prefix of the payload decodes (truncation hits rates)
    stochastic: ClassVar[bool] = False  # results depend on the seed
    #: whether ``hsibench run`` without ``--codecs`` runs it; a codec that cannot reach the
    #: default rates (0.1-2 bpppb) says no, and ``default_excluded`` says why
    in_default_run: ClassVar[bool] = True
    default_excluded: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __init__(self, **params: Any):
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InvalidParameterError(
                f"codec '{self.name}' has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {', '.join(self.params) or '(none)'}"
            )
        self.info: dict[str, Any] = {}  # what the last encode chose and measured (JSON-able; recorded)
        self.config: dict[str, Any] = {
            key: p.convert(key, params[key]) if key in params else p.default for key, p in self.params.items()
        }

    # -- public API ---------------------------------------------------------------------------
    def encode(self, cube: np.ndarray, *, bpppb: float) -> bytes:
        """Compress ``cube`` to at most ``bpppb`` bits per pixel per band (container included)."""
        cube = validate_cube(cube)
        rate = validate_rate(bpppb, cube.dtype)
        self.info = {}
        data = self._encode(cube, rate)
        if not isinstance(data, bytes):
            raise TypeError(f"{type(self).__name__}._encode must return bytes")
        return data

    def decode(self, data: bytes, *, max_voxels: int | None = None, **secrets: Any) -> np.ndarray:
        """Rebuild the cube (float32, original units) from the bytes alone (plus a withheld key).

        Streams are treated as hostile: a header whose cube has more than ``max_voxels`` voxels
        (default: ``HSIBENCH_MAX_VOXELS`` or 2**31) raises :class:`StreamLimitError` before any
        allocation, as does a header the payload cannot honestly describe; a decoder never
        returns a non-finite value.
        """
        header, payload = self._open(data)
        limit = limits.max_voxels(max_voxels)
        limits.check_shape(header.shape, limit)
        return as_output(self._decode(header, payload, max_voxels=limit, **secrets), header.shape)

    def _open(self, data: bytes) -> tuple[Header, bytes]:
        """Unpack a container and check that this codec wrote it."""
        header, payload = unpack(data)
        if header.codec != self.name:
            raise CorruptDataError(
                f"this stream was written by codec '{header.codec}', not '{self.name}'; "
                f"decode it with hsibench.codecs.get('{header.codec}')"
            )
        return header, payload

    @property
    def spec(self) -> str:
        """The canonical spec string of this configured codec, e.g. ``pca[components=8]``."""
        items = [f"{k}={_fmt(v)}" for k, v in self.config.items() if v != self.params[k].default]
        return f"{self.name}[{','.join(items)}]" if items else self.name

    def secrets(self) -> dict[str, Any]:
        """Keyword arguments that the holder of a withheld secret passes to ``decode`` (e.g. a key)."""
        return {}

    def resolved(self) -> dict[str, Any]:
        """The configuration as the codec will run it on this machine, with every ``auto`` decided.

        The runner's task key hashes it (with ``revision``): codecs whose ``auto`` values depend
        on the machine (a device, a schedule) override this; withheld secrets are left out.
        """
        secret = set(self.secrets())
        return {k: v for k, v in self.config.items() if k not in secret}

    def describe_stream(self, data: bytes) -> dict[str, Any]:
        """What the record should show about a stream (e.g. the structure a rate search chose)."""
        return dict(unpack(data)[0].params)

    # -- helpers for subclasses -----------------------------------------------------------------
    def _truncate_payload(self, header: Header, payload: bytes, keep: int) -> bytes:
        """An embedded codec's payload cut to at most ``keep`` bytes (a prefix, unless the codec frames several streams)."""
        return payload[:keep]

    def _pack(self, cube: np.ndarray, params: dict, payload: bytes) -> bytes:
        return pack(self.name, cube.shape, cube.dtype, params, payload)

    def _header_size(self, cube: np.ndarray, params: dict) -> int:
        return header_size(self.name, cube.shape, cube.dtype, params)

    @abstractmethod
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        """Codec-specific encoding of a validated cube; must return a packed container."""

    @abstractmethod
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int, **secrets: Any) -> np.ndarray:
        """Codec-specific decoding of a verified payload to a ``header.shape`` array.

        ``header.shape`` already fits ``max_voxels``; implementations validate every parameter
        before use and keep intermediate arrays within the limit and what the payload can carry.
        """


def as_output(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A decoder's result as the contract's C-contiguous float32 cube of ``shape``, never non-finite.

    Finite values beyond the float32 range become the largest float32 of their sign (a cube
    within the range can decode a hair beyond it); NaN or infinite values mean the stream is
    corrupt and raise :class:`CorruptDataError`.
    """
    if out.shape != tuple(shape):
        raise CorruptDataError(f"decoded shape {out.shape} differs from the header's {tuple(shape)}")
    with np.errstate(over="ignore"):  # values beyond float32 are handled below
        cube = np.ascontiguousarray(out, dtype=np.float32)
    if not np.isfinite(cube).all():
        if not np.isfinite(out).all():
            raise CorruptDataError("the stream decodes to NaN or infinite values: it is corrupt or crafted")
        cube = np.ascontiguousarray(np.clip(out, -FLOAT32_MAX, FLOAT32_MAX), dtype=np.float32)
    return cube


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# Registry and specs
# --------------------------------------------------------------------------------------------

_REGISTRY: dict[str, type[Codec]] = {}
_PLUGINS_LOADED = False


def register(cls: type[Codec]) -> type[Codec]:
    """Class decorator: make a codec available by its ``name`` (it must declare an int ``revision``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", cls.name):
        raise ValueError(f"bad codec name {cls.name!r}")
    rev = getattr(cls, "revision", None)
    if isinstance(rev, bool) or not isinstance(rev, int) or rev < 1:
        raise ValueError(f"codec {cls.name!r} must declare an integer class attribute revision >= 1; got {rev!r}")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"codec name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_plugins() -> None:
    """Register the entry-point plugins, once per process, on the first lookup that needs them."""
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        from . import plugins
        plugins.load()


def names() -> list[str]:
    """Names of all codecs (built in, registered, and plugins), sorted; imports no codec module."""
    _load_plugins()
    return sorted(set(_REGISTRY) | set(BUILTIN))


def default_names() -> list[str]:
    """The codecs ``hsibench run`` runs when no ``--codecs`` is given (``Codec.in_default_run``)."""
    return [n for n in names() if codec_class(n).in_default_run]


def codec_class(name: str) -> type[Codec]:
    """The class registered under ``name`` (importing its module on first use); an error listing what exists otherwise."""
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCodecError(f"unknown codec '{name}'; available codecs: {', '.join(names())}") from None


_SPEC = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\[(.*)\])?\s*$", re.S)


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``name[key=value,...]`` into the name and its raw parameter strings."""
    m = _SPEC.match(spec)
    if not m:
        raise InvalidParameterError(f"cannot parse codec spec {spec!r}; expected name or name[key=value,...]")
    name, body = m.group(1).lower(), m.group(2)
    params: dict[str, str] = {}
    if body and body.strip():
        for item in body.split(","):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise InvalidParameterError(f"codec spec {spec!r}: '{item.strip()}' is not key=value")
            if key in params:
                raise InvalidParameterError(f"codec spec {spec!r}: parameter '{key}' given twice")
            params[key] = value.strip()
    return name, params


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs, keeping commas inside brackets: ``a,b[x=1,y=2]``."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def get(spec: str, **overrides: Any) -> Codec:
    """Build a configured codec from a spec such as ``"speck"`` or ``"gnn[blocks=4]"``."""
    name, params = parse_spec(spec)
    params.update(overrides)
    return codec_class(name)(**params)
