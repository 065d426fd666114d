"""The latent codes: a fixed, deterministic embedding of an integer (seed or key) into R^latent.

The paper draws the generator's input from a standard normal distribution.  Here every latent
vector is derived from an integer and a tile index by SHA-256 in counter mode followed by the
Box-Muller transform, computed with Python floats.  That makes the latent

* reproducible from the stream alone for an ordinary stream (the seed is in the header),
* reproducible only by the key's holder for a keyed stream (the key is not in the stream),
* independent of numpy's or torch's random-generator implementation, version and device,

so an encoder and a decoder years apart, on different machines, agree bit for bit.
"""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np

_DOMAIN = {"seed": b"hsibench/gnn/latent/seed/v1", "key": b"hsibench/gnn/latent/key/v1"}
_U53 = 1.0 / (1 << 53)


def _int_bytes(value: int) -> bytes:
    """Unambiguous bytes of an arbitrary Python integer (sign + magnitude, length-prefixed)."""
    mag = abs(int(value))
    body = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "big")
    return (b"-" if value < 0 else b"+") + struct.pack("<I", len(body)) + body


def _uniforms(domain: bytes, value: int, index: int, count: int) -> list[float]:
    """``count`` uniforms in (0, 1) from SHA-256(domain, value, index, block counter)."""
    prefix = domain + _int_bytes(value) + struct.pack("<Q", index)
    out: list[float] = []
    block = 0
    while len(out) < count:
        digest = hashlib.sha256(prefix + struct.pack("<Q", block)).digest()
        for i in range(0, 32, 8):
            (word,) = struct.unpack("<Q", digest[i : i + 8])
            out.append(((word >> 11) + 0.5) * _U53)  # strictly inside (0, 1)
        block += 1
    return out[:count]


def latent_codes(value: int, count: int, dim: int, *, keyed: bool) -> np.ndarray:
    """``count`` latent vectors of length ``dim`` (float32, standard normal) for ``value``.

    ``value`` is the seed of an ordinary stream or the key of a keyed one; ``keyed`` selects a
    separate hash domain, so a key equal to some seed does not give that seed's latent.
    Row ``t`` is the code of tile (or image) ``t``.
    """
    domain = _DOMAIN["key" if keyed else "seed"]
    codes = np.empty((count, dim), dtype=np.float64)
    for t in range(count):
        u = _uniforms(domain, value, t, dim + (dim & 1))
        row = []
        for a, b in zip(u[0::2], u[1::2]):  # Box-Muller
            r = math.sqrt(-2.0 * math.log(a))
            row.extend((r * math.cos(2.0 * math.pi * b), r * math.sin(2.0 * math.pi * b)))
        codes[t] = row[:dim]
    return codes.astype(np.float32)
