"""Independent row-slab streams of one cube: the split, the byte split between them, their framing.

``speck[streams=N]`` and ``spiht[streams=N]`` code N slabs of rows as N independent embedded
streams (each with its own transform) so that N threads code and decode them at once.  What it
costs in quality is the transform's extension at the slab edges, fewer spatial levels on small
slabs, and a byte split decided before coding: every slab is
quantised with the *same* step, and the budget is shared in proportion to a model of what each
slab's streams cost down to a common bit plane (:func:`share_bytes`), the embedded order's
stopping rule applied to all slabs at once.  The payload is the N streams back to back, preceded
by the byte counts of all but the last (4 bytes each, counted in the rate).
"""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidRateError
from .. import fields as F

numba = lazy_module("numba")
TK = lazy_module("hsibench.codecs.wavelet._tile_kernels")

#: bits a coefficient costs when it becomes significant (its decision, its sign and the set
#: splitting that isolates it), against one bit per refinement: the cost model of share_bytes
NEW_COST_BITS = 4.0
LENGTH_BYTES = 4
MAX_STREAMS = 256


def streams_param():
    """The ``streams`` parameter, the same for every coder that splits a cube into slabs."""
    from ..base import Param

    return Param(int, 1, "independent streams, one per slab of rows, coded and decoded on as many threads as numba "
                 "may use (changes the bytes, not the thread count; capped at the row count)",
                 check=lambda v: 1 <= v <= MAX_STREAMS, check_doc=f"1 to {MAX_STREAMS}")


def streams_of(params: dict, key: str, rows: int, codec: str) -> int:
    """How many streams a header announces under ``key`` (no field: one); more than one per row is corrupt."""
    if key not in params:
        return 1
    n = F.read_int(params, key, codec, 2, MAX_STREAMS)
    if n > rows:
        raise CorruptDataError(f"the {codec} header announces {n} streams for {rows} rows")
    return n


def map_slabs(n: int, fn) -> list:
    """``[fn(0), ..., fn(n - 1)]`` on as many threads as numba may use (the coding kernels release the GIL)."""
    workers = min(n, numba.get_num_threads())
    if workers == 1:
        return [fn(i) for i in range(n)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(n)))


def top_bit_histogram(v: np.ndarray, offset: int) -> np.ndarray:
    """The histogram :func:`share_bytes` takes (see :func:`._tile_kernels.top_bit_histogram`)."""
    return TK.top_bit_histogram(v, offset)


def row_slabs(rows: int, n: int) -> list[tuple[int, int]]:
    """``(first, end)`` rows of ``n`` slabs that cut ``rows`` rows into parts differing by at most one row."""
    if not 1 <= n <= rows:
        raise ValueError(f"cannot cut {rows} rows into {n} slabs")
    return [(i * rows // n, (i + 1) * rows // n) for i in range(n)]


def _plane_costs(hist: np.ndarray) -> np.ndarray:
    """Modelled bits of a slab's stream when it stops after each bit plane (index = plane).

    ``hist[p + 1]`` counts coefficients whose top bit is ``p`` (``hist[0]``: zeros).  Stopping
    after plane ``p`` codes every coefficient with top bit >= p as new once, and refines, at every
    plane q >= p, each coefficient whose top bit is above q."""
    counts = np.asarray(hist[1:], dtype=np.float64)
    planes = counts.shape[0]
    new_bits = NEW_COST_BITS * counts
    above = np.concatenate([np.cumsum(counts[::-1])[::-1][1:], [0.0]])  # coefficients with top bit > q
    per_plane = new_bits + above
    return np.array([per_plane[p:].sum() for p in range(planes)])


def share_bytes(hists: list[np.ndarray], total: int) -> list[int]:
    """Split ``total`` payload bytes between slabs (``hists``: top-bit histograms at one common
    quantiser step) as a single embedded stream would: find the common stopping point --
    a bit plane, and a fraction of the next -- at which the modelled costs add up to ``total``,
    and give each slab its modelled cost there (rounded so the shares add up to ``total``)."""
    if total < 0:
        raise ValueError("negative byte budget")
    costs = np.array([_plane_costs(h) for h in hists])  # slabs x planes, decreasing in the plane
    whole = costs.sum(axis=0)
    if whole[0] <= 8.0 * total or not np.any(whole > 0):
        weights = costs[:, 0]
    else:
        p = int(np.nonzero(whole > 8.0 * total)[0].max())  # the finest plane that no longer fits
        done = costs[:, p + 1] if p + 1 < costs.shape[1] else np.zeros(len(hists))
        span = costs[:, p] - done
        f = (8.0 * total - done.sum()) / max(span.sum(), 1e-300)
        weights = done + f * span
    if weights.sum() <= 0:
        weights = np.ones(len(hists))
    return _proportional(weights, total)


def _proportional(weights: np.ndarray, total: int) -> list[int]:
    """``total`` split in proportion to ``weights`` into integers that add up to it (largest remainders)."""
    exact = total * weights / weights.sum()
    shares = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - shares), kind="stable")[: total - int(shares.sum())]:
        shares[i] += 1
    return [int(s) for s in shares]


def frame(parts: list[bytes]) -> bytes:
    """The payload of ``parts``: the lengths of all but the last, then the parts back to back."""
    return b"".join(struct.pack(">I", len(p)) for p in parts[:-1]) + b"".join(parts)


def unframe(payload: bytes, n: int) -> list[bytes]:
    """The ``n`` streams of a framed payload; ``CorruptDataError`` when the lengths do not fit it."""
    head = LENGTH_BYTES * (n - 1)
    if len(payload) < head:
        raise CorruptDataError(f"the payload of {len(payload)} bytes cannot hold the lengths of {n} streams")
    sizes = [struct.unpack_from(">I", payload, LENGTH_BYTES * i)[0] for i in range(n - 1)]
    if sum(sizes) > len(payload) - head:
        raise CorruptDataError(f"the stream lengths ({sum(sizes)} bytes) exceed the "
                               f"{len(payload) - head}-byte payload")
    parts, pos = [], head
    for s in sizes:
        parts.append(payload[pos:pos + s])
        pos += s
    parts.append(payload[pos:])
    return parts


def truncate_payload(payload: bytes, n: int, keep: int, codec: str) -> bytes:
    """A framed payload of ``n`` streams cut to at most ``keep`` bytes (:func:`truncate_parts`)."""
    if n == 1:
        return payload[:keep]
    if keep < LENGTH_BYTES * (n - 1):
        raise InvalidRateError(f"{keep} payload bytes cannot hold the lengths of {n} {codec} streams")
    return frame(truncate_parts(unframe(payload, n), keep))


def truncate_parts(parts: list[bytes], keep: int) -> list[bytes]:
    """Cut the framed streams ``parts`` to a framed payload of at most ``keep`` bytes, every
    stream to the same fraction of its length (each is embedded: a prefix decodes)."""
    room = max(keep - LENGTH_BYTES * (len(parts) - 1), 0)
    total = sum(len(p) for p in parts)
    if total <= room:
        return list(parts)
    sizes = _proportional(np.array([len(p) for p in parts], dtype=np.float64), room)  # room < total: each <= its length
    return [p[:s] for p, s in zip(parts, sizes)]
