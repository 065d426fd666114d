"""Crafted streams: seeded mutations of valid hsibench containers, re-packed with a valid CRC.

The container's CRC-32 catches accidents, not an attacker, so every mutation here edits the
*fields* of a valid stream (payload bytes, shape, dtype, JSON decode parameters, raw header
bytes) and then writes a new container whose checksum matches: with
:func:`hsibench.codecs.base.pack` wherever the edited fields are ones ``pack`` can write, and
with :func:`pack_raw` (the same layout, byte for byte, with raw header fields) for the rest.

Everything is a pure function of a ``numpy.random.Generator``, so a seed reproduces a stream.
"""

from __future__ import annotations

import copy
import json
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..codecs.base import FORMAT_VERSION, MAGIC, Header, pack, unpack

__all__ = ["MUTATORS", "Crafted", "craft", "pack_raw"]

# sizes an attacker would announce: edges of the int types, and "slightly off" neighbours
_SIZES = (0, 1, 2, 3, 7, 8, 255, 256, 4095, 65535, 65536, 2**20, 2**24, 2**31 - 1, 2**31, 2**32 - 1)
_NUMBERS = (0, 1, -1, 2, 255, 65535, 2**31 - 1, 2**31, -(2**31), 2**32, 2**53 + 1, 2**63, 10**30, -(10**30),
            0.5, -0.5, 1e-308, 5e-324, 1e38, 3.5e38, 1e300, 1.7976931348623157e308, -1e308,
            math.nan, math.inf, -math.inf)
_OTHER = (None, True, False, "", "x", "3", "nan", [], [0], {}, {"a": 1})
_DTYPES = ("|u1", "<u2", ">u2", "<i2", "<u4", "<i4", "<i8", "<f2", "<f4", ">f4", "<f8", "|b1", "<c8", "<c16",
           "|V4", "<M8[s]", "|O", "<U2", "|S3")


@dataclass(frozen=True)
class Crafted:
    """One crafted stream and how it was made (for reports: mutator names, in order)."""

    data: bytes
    how: tuple[str, ...]


@dataclass
class _Fields:
    """The editable fields of a container (raw bytes where ``pack`` could not write an edit)."""

    codec: str
    shape: list[int]
    dtype: str
    params: Any
    payload: bytes
    raw_meta: bytes | None = None  # JSON text that is not what json.dumps(params) writes
    raw_name: bytes | None = None
    raw_dtype: bytes | None = None

    def to_bytes(self) -> bytes:
        raw = self.raw_meta is not None or self.raw_name is not None or self.raw_dtype is not None
        if not raw and all(0 <= s < 2**32 for s in self.shape):
            try:
                return pack(self.codec, tuple(self.shape), np.dtype(self.dtype), self.params, self.payload)
            except (TypeError, ValueError):
                pass  # a dtype numpy will not parse, or params too long: write the raw layout
        meta = self.raw_meta if self.raw_meta is not None else _dumps(self.params)
        name = self.raw_name if self.raw_name is not None else self.codec.encode("ascii")
        dt = self.raw_dtype if self.raw_dtype is not None else self.dtype.encode("ascii", "replace")
        return pack_raw(name, dt, [s % 2**32 for s in self.shape], meta[:65535], self.payload)


def _dumps(params: Any) -> bytes:
    return json.dumps(params, sort_keys=True, separators=(",", ":")).encode("utf-8")


def pack_raw(name: bytes, dtype: bytes, shape, meta: bytes, payload: bytes, version: int = FORMAT_VERSION) -> bytes:
    """The container layout of :func:`hsibench.codecs.base.pack` with raw header fields and a valid CRC.

    ``pack(...) == pack_raw(codec, dtype.str, shape, json, payload)`` byte for byte (tested), so a
    stream made here differs from an encoder's only in the fields the caller chose.
    """
    prefix = b"".join([
        struct.pack("<4sB", MAGIC, version), struct.pack("<B", len(name)), name, struct.pack("<B", len(dtype)),
        dtype, struct.pack("<III", *shape), struct.pack("<H", len(meta)), meta,
    ])
    crc = zlib.crc32(payload, zlib.crc32(prefix))
    return prefix + struct.pack("<II", len(payload), crc) + payload


def _pick(rng: np.random.Generator, seq):
    """One element of a Python sequence, as it is (``rng.choice`` would make numpy scalars of it)."""
    return seq[int(rng.integers(len(seq)))]


def _fields(header: Header, payload: bytes) -> _Fields:
    return _Fields(header.codec, list(header.shape), header.dtype.str, copy.deepcopy(header.params), payload)


# --------------------------------------------------------------------------------------------
# Payload mutations
# --------------------------------------------------------------------------------------------


def _bitflips(f: _Fields, rng: np.random.Generator, pool) -> None:
    p = bytearray(f.payload)
    if p:
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(p)))
            p[i] ^= 1 << int(rng.integers(8))
    f.payload = bytes(p)


def _bytes_set(f: _Fields, rng, pool) -> None:
    p = bytearray(f.payload)
    if p:
        for _ in range(int(rng.integers(1, 5))):
            p[int(rng.integers(len(p)))] = int(_pick(rng, [0, 0xFF, 0x80, 0x7F, int(rng.integers(256))]))
    f.payload = bytes(p)


def _run_fill(f: _Fields, rng, pool) -> None:
    p = bytearray(f.payload)
    if p:
        a = int(rng.integers(len(p)))
        n = int(rng.integers(1, max(2, len(p) - a + 1)))
        kind = int(rng.integers(3))
        fill = bytes(n) if kind == 0 else (b"\xff" * n if kind == 1 else rng.bytes(n))
        p[a : a + n] = fill[: len(p) - a]
    f.payload = bytes(p)


def _truncate(f: _Fields, rng, pool) -> None:
    f.payload = f.payload[: int(rng.integers(len(f.payload) + 1))] if f.payload else b""


def _extend(f: _Fields, rng, pool) -> None:
    n = int(_pick(rng, [1, 2, 3, 4, 16, 64, 1024]))
    f.payload += bytes(n) if rng.random() < 0.5 else rng.bytes(n)


def _insert_delete(f: _Fields, rng, pool) -> None:
    p = f.payload
    a = int(rng.integers(len(p) + 1))
    n = int(rng.integers(1, 33))
    f.payload = p[:a] + rng.bytes(n) + p[a:] if rng.random() < 0.5 else p[:a] + p[a + n :]


def _duplicate(f: _Fields, rng, pool) -> None:
    p = f.payload
    if p:
        a = int(rng.integers(len(p)))
        seg = p[a : a + int(rng.integers(1, 257))]
        b = int(rng.integers(len(p) + 1))
        f.payload = p[:b] + seg + p[b:]


def _random_payload(f: _Fields, rng, pool) -> None:
    n = len(f.payload) if rng.random() < 0.6 else int(_pick(rng, [0, 1, 4, 17, 256, 4096]))
    f.payload = rng.bytes(n) if rng.random() < 0.8 else bytes(n)


def _splice(f: _Fields, rng, pool) -> None:
    other = pool[int(rng.integers(len(pool)))][1]
    a = int(rng.integers(len(f.payload) + 1))
    b = int(rng.integers(len(other) + 1))
    f.payload = f.payload[:a] + other[b:]


def _int_field(f: _Fields, rng, pool) -> None:
    """Overwrite an aligned little-endian u16/u32 (a length or count, often) with an edge value."""
    p = bytearray(f.payload)
    width = 4 if rng.random() < 0.6 else 2
    if len(p) >= width:
        a = int(rng.integers(min(len(p) - width + 1, 64))) if rng.random() < 0.7 else int(rng.integers(len(p) - width + 1))
        old = int.from_bytes(p[a : a + width], "little")
        top = 2 ** (8 * width) - 1
        v = int(_pick(rng, [0, 1, top, top // 2, top // 2 + 1, (old + 1) & top, (old - 1) & top, (old * 2) & top,
                            len(p) & top, (len(p) + 1) & top]))
        p[a : a + width] = v.to_bytes(width, "little")
    f.payload = bytes(p)


# --------------------------------------------------------------------------------------------
# Header mutations
# --------------------------------------------------------------------------------------------


def _shape(f: _Fields, rng, pool) -> None:
    """Inflate, shrink, off-by-one or permute the announced (rows, cols, bands)."""
    r = rng.random()
    if r < 0.15:
        f.shape = [int(s) for s in rng.permutation(f.shape)]
        return
    axes = [int(rng.integers(3))] if r < 0.85 else [0, 1, 2]
    for ax in axes:
        old = f.shape[ax]
        cand = list(_SIZES) + [old + 1, max(0, old - 1), 2 * old, 16 * old, old // 2]
        f.shape[ax] = int(_pick(rng, cand))


def _dtype(f: _Fields, rng, pool) -> None:
    f.dtype = str(_pick(rng, _DTYPES))


def _leaves(obj: Any, path=()) -> list[tuple]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _leaves(v, path + (i,))
    return out


def _get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def _set(obj, path, value):
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


def _interesting(old: Any, rng, enums: list) -> Any:
    r = rng.random()
    if isinstance(old, bool) or old is None:
        return _pick(rng, [*_NUMBERS[:4], *_OTHER])
    if isinstance(old, (int, float)):
        if r < 0.5:
            return _NUMBERS[int(rng.integers(len(_NUMBERS)))]
        near = [old + 1, old - 1, -old, 2 * old, old * 1e6, old + 0.5, float(old) * (1 + 1e-9)]
        if r < 0.85:
            return near[int(rng.integers(len(near)))]
        return _OTHER[int(rng.integers(len(_OTHER)))]
    if isinstance(old, str):
        if enums and r < 0.6:
            return enums[int(rng.integers(len(enums)))]
        return _pick(rng, ["", "x" * int(rng.integers(1, 300)), old.upper(), old + " ", "float64", "NaN"]) if r < 0.9 \
            else _NUMBERS[int(rng.integers(len(_NUMBERS)))]
    if isinstance(old, list):
        c = list(old)
        if r < 0.3 and c:
            c.pop(int(rng.integers(len(c))))
        elif r < 0.6:
            c.append(c[-1] if c else 0)
        elif r < 0.8:
            c = [c]
        else:
            c = _OTHER[int(rng.integers(len(_OTHER)))]
        return c
    if isinstance(old, dict):
        return _pick(rng, [{}, [], 0, None, "x"]) if r < 0.5 else {**old, "unknown": 1}
    return None


def _params(f: _Fields, rng, pool) -> None:
    """Edit one JSON parameter (any depth): edge numbers, NaN/inf, wrong types, other enum values, deletion."""
    enums = sorted({v for _, _, params in pool for v in _strings(params)})
    paths = _leaves(f.params)
    path = paths[int(rng.integers(len(paths)))]
    if path and rng.random() < 0.12 and isinstance(_get(f.params, path[:-1]), dict):
        del _get(f.params, path[:-1])[path[-1]]
        return
    f.params = _set(f.params, path, _interesting(_get(f.params, path), rng, enums))


def _strings(obj) -> list[str]:
    return [v for p in _leaves(obj) if isinstance(v := _get(obj, p), str)]


def _raw_header(f: _Fields, rng, pool) -> None:
    """Raw edits pack() cannot express: bit flips in the JSON text, deep nesting, bad UTF-8, odd names."""
    r = rng.random()
    meta = bytearray(_dumps(f.params))
    if r < 0.4 and meta:
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(len(meta)))
            meta[i] ^= 1 << int(rng.integers(8))
        f.raw_meta = bytes(meta)
    elif r < 0.55:
        depth = int(_pick(rng, [100, 1000, 30000]))
        f.raw_meta = b"[" * depth + b"]" * depth
    elif r < 0.65:
        f.raw_meta = b'{"a":' + b"9" * int(_pick(rng, [400, 5000, 20000])) + b"}"
    elif r < 0.75:
        f.raw_meta = bytes(meta) + b"\xff\xfe"
    elif r < 0.85:
        f.raw_dtype = _pick(rng, [b"", b"\xff", b"f4,f4", b"(2,3)f4", b"<f1000000", b"S0", b"M8[D]", b"x" * 255])
    else:
        f.raw_name = _pick(rng, [b"", f.codec.encode() + b"\x00", f.codec.upper().encode(), b"\xff" * 4])


MUTATORS: dict[str, Callable] = {
    "bitflips": _bitflips, "bytes": _bytes_set, "fill": _run_fill, "truncate": _truncate, "extend": _extend,
    "insdel": _insert_delete, "duplicate": _duplicate, "random_payload": _random_payload, "splice": _splice,
    "int_field": _int_field, "shape": _shape, "dtype": _dtype, "params": _params, "raw_header": _raw_header,
}
# relative frequencies: payload edits and parameter edits most, the cheap-to-reject ones less
_WEIGHTS = {"bitflips": 10, "bytes": 6, "fill": 6, "truncate": 6, "extend": 3, "insdel": 4, "duplicate": 3,
            "random_payload": 4, "splice": 3, "int_field": 8, "shape": 14, "dtype": 3, "params": 22,
            "raw_header": 4}


def craft(base: bytes, rng: np.random.Generator, pool: list[tuple[bytes, bytes, Any]] | None = None) -> Crafted:
    """A crafted stream from the valid stream ``base``: one to three mutations, then a valid CRC.

    ``pool`` holds ``(stream, payload, params)`` of other valid streams of the same codec (for
    splicing payloads and borrowing enum values such as another decomposition kind).
    """
    header, payload = unpack(base)
    pool = pool or [(base, payload, header.params)]
    f = _fields(header, payload)
    names = list(_WEIGHTS)
    w = np.array([_WEIGHTS[n] for n in names], dtype=float)
    k = _pick(rng, [1, 1, 1, 2, 2, 3])
    how = tuple(str(n) for n in rng.choice(names, size=k, p=w / w.sum()))
    for name in how:
        MUTATORS[name](f, rng, [(s, p, q) for s, p, q in pool])
    return Crafted(f.to_bytes(), how)
