"""Weight storage of the overfitted neural codecs: quantisation, sparsity masks, lossless coding.

One storage for every codec whose stream is a network's weights (``gnn`` now; any later
overfitted codec describes its tensors with :class:`TensorSpec` and calls :func:`encode` /
:func:`decode`).  Tensors are written in the order of the codec's layout (for the GNN,
:func:`hsibench.codecs.neural.gnn.structure.layout`).  Three precisions:

* ``float32`` — the GNN paper's storage: raw little-endian IEEE singles (its compression ratio
  is raw size / this size);
* ``float16`` — raw IEEE halves;
* ``int8`` — symmetric per-group quantisation ``w = q * scale`` with ``|q| <= qmax <= 127`` and
  ``scale = max|w| / qmax`` of the group (float32; a group is an output channel), the integers
  entropy-coded losslessly with the adaptive binary range coder of ``codecs/_bits.py`` (one
  context set per tensor, refined by the magnitude of the previous integer).  Tensors not
  marked ``quantised`` (biases: a few hundred values) stay float32.

A masked tensor (the GNN's pruned FC layer) adds a sparsity mask (range-coded bits, context =
previous bit, or a raw bitmap if that is smaller); only the kept weights are stored.

Payload layout (all little-endian)::

    u8  flags                      bit0: mask present, bit1: mask raw, bit2: ints raw
    [u32 mask bytes, mask]         if a mask is present
    float section                  floats (float32/float16) of every non-quantised value
    [u32 int bytes, scales f32, ints]   int8 only: scales of every group, then the integers

Decoding checks every length and bound and raises :class:`CorruptDataError` on a malformed
payload (the container's CRC already rejects accidental corruption).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError
from ..limits import check_coded

K = lazy_module("hsibench.codecs.neural._storage_kernels")  # numba: loaded when first coding

@dataclass(frozen=True)
class TensorSpec:
    """One stored tensor: its shape, whether it is quantised (weights) and its quantisation groups.

    ``groups`` splits the flattened tensor into equal consecutive groups, each with its own
    8-bit scale: one per output channel of a convolution, one per feature-map channel of the FC
    layer (whose outputs are ``channels`` maps of h0 x w0 values).
    """

    name: str
    shape: tuple[int, ...]
    quantised: bool
    groups: int
    masked: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)


# ----------------------------------------------------------------------------------------------
# Quantisation (shared with the quantisation-aware fine-tune, which mirrors it in torch)
# ----------------------------------------------------------------------------------------------


def group_scales(w: np.ndarray, groups: int, qmax: int) -> np.ndarray:
    """float32 scale per group: max|w| / qmax (1.0 for an all-zero group)."""
    g = np.abs(w.astype(np.float32).reshape(groups, -1)).max(axis=1)
    scale = (g / np.float32(qmax)).astype(np.float32)
    scale[scale == 0] = np.float32(1.0)
    return scale


def quantise(w: np.ndarray, groups: int, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(integers, scales) of a tensor quantised per group (round half to even, like torch)."""
    scale = group_scales(w, groups, qmax)
    q = np.round(w.astype(np.float32).reshape(groups, -1) / scale[:, None])
    q = np.clip(q, -qmax, qmax).astype(np.int64)
    return q.reshape(w.shape), scale


def dequantise(q: np.ndarray, scale: np.ndarray, groups: int) -> np.ndarray:
    return (q.reshape(groups, -1).astype(np.float32) * scale[:, None]).reshape(q.shape)


def stored_values(tensors: list[np.ndarray], specs: list[TensorSpec], weights: str, qmax: int) -> list[np.ndarray]:
    """The float32 tensors a decoder will rebuild from this storage (pruned entries are zero)."""
    out = []
    for w, spec in zip(tensors, specs):
        w = np.asarray(w, dtype=np.float32)
        if weights == "int8" and spec.quantised:
            q, s = quantise(w, spec.groups, qmax)
            out.append(dequantise(q, s, spec.groups))
        elif weights == "float16":
            out.append(w.astype(np.float16).astype(np.float32))
        else:
            out.append(w.copy())
    return out


# ----------------------------------------------------------------------------------------------
# Serialisation
# ----------------------------------------------------------------------------------------------

#: 8-bit quantisation levels a codec tries, finest first, when its 8-bit weights must fit a budget
QMAX_STEPS = (127, 111, 95, 79, 63, 47, 31, 23, 15, 11, 7, 5, 3, 2, 1)


def fit_qmax(tensors: list[np.ndarray], specs: list[TensorSpec], capacity: int,
             mask: np.ndarray | None = None) -> tuple[int, bytes] | None:
    """(qmax, payload) of the finest ``QMAX_STEPS`` level whose 8-bit payload fits ``capacity`` bytes, or None."""
    for q in QMAX_STEPS:
        payload = encode(tensors, specs, "int8", q, mask)
        if len(payload) <= capacity:
            return q, payload
    return None


_F_MASK, _F_MASK_RAW, _F_INT_RAW = 1, 2, 4


def encode(
    tensors: list[np.ndarray], specs: list[TensorSpec], weights: str, qmax: int = 127, mask: np.ndarray | None = None
) -> bytes:
    """Serialise the generator's tensors (in ``specs`` order) at precision ``weights``.

    ``mask`` (bool, shape of the masked tensor) marks the kept FC weights; pruned entries are
    not stored and decode as exactly zero.
    """
    if weights not in ("float32", "float16", "int8"):
        raise ValueError(f"unknown weight precision {weights!r}")
    if not 1 <= qmax <= 127:
        raise ValueError("qmax must be in 1..127")
    flags = 0
    parts: list[bytes] = []
    masked = [s.masked for s in specs]
    if any(masked):
        if mask is None:
            raise ValueError("a masked tensor needs a mask")
        bits = np.ascontiguousarray(mask.reshape(-1), dtype=np.int64)
        buf = np.zeros(bits.size // 4 + 64, dtype=np.uint8)
        n = K.enc_mask(bits, buf)
        raw = np.packbits(bits.astype(np.uint8)).tobytes()
        flags |= _F_MASK
        if n < 0 or n >= len(raw):
            flags |= _F_MASK_RAW
            body = raw
        else:
            body = buf[:n].tobytes()
        parts.append(struct.pack("<I", len(body)) + body)
    flat_mask = None if mask is None else mask.reshape(-1).astype(bool)

    floats: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    scales: list[np.ndarray] = []
    seg_ends: list[int] = []
    for w, spec in zip(tensors, specs):
        w = np.asarray(w, dtype=np.float32)
        if w.shape != spec.shape:
            raise ValueError(f"{spec.name}: shape {w.shape} != {spec.shape}")
        if weights == "int8" and spec.quantised:
            q, s = quantise(w, spec.groups, qmax)
            q = q.reshape(-1)
            if spec.masked:
                q = q[flat_mask]
            ints.append(q)
            scales.append(s)
            seg_ends.append((seg_ends[-1] if seg_ends else 0) + q.size)
        else:
            v = w.reshape(-1)
            if spec.masked:
                v = v[flat_mask]
            floats.append(v.astype(np.float16 if weights == "float16" else np.float32))
    ftype = "<f2" if weights == "float16" else "<f4"
    parts.append(np.concatenate(floats).astype(ftype).tobytes() if floats else b"")
    if weights == "int8":
        allints = np.concatenate(ints) if ints else np.zeros(0, np.int64)
        buf = np.zeros(allints.size * 4 + 64, dtype=np.uint8)
        n = K.enc_ints(allints, np.asarray(seg_ends, dtype=np.int64), buf)
        raw = allints.astype(np.int8).tobytes()
        if n < 0 or n >= len(raw):
            flags |= _F_INT_RAW
            body = raw
        else:
            body = buf[:n].tobytes()
        parts.append(struct.pack("<I", len(body)) + np.concatenate(scales).astype("<f4").tobytes() + body)
    return bytes([flags]) + b"".join(parts)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise CorruptDataError(f"gnn payload ends inside {what}: the network weights are truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]


def decode(payload: bytes, specs: list[TensorSpec], weights: str, qmax: int = 127) -> list[np.ndarray]:
    """Rebuild the float32 tensors written by :func:`encode` (pruned entries are zero).

    Every section's length is checked against what ``specs`` imply, and a range-coded section
    against the values it must hold (:func:`hsibench.codecs.limits.check_coded`), before
    anything is allocated for it; sizes the payload cannot describe raise ``CorruptDataError``.
    """
    if weights not in ("float32", "float16", "int8") or not 1 <= int(qmax) <= 127:
        raise CorruptDataError(f"unknown gnn weight storage {weights!r} / qmax {qmax!r}")
    r = _Reader(payload)
    (flags,) = r.take(1, "the flags")
    if flags & ~(_F_MASK | _F_MASK_RAW | _F_INT_RAW):
        raise CorruptDataError("unknown flags in the gnn payload")
    masked = [s for s in specs if s.masked]
    if bool(flags & _F_MASK) != bool(masked):
        raise CorruptDataError("the gnn payload's mask flag disagrees with its header")
    mask = None
    if masked:
        n_bits = masked[0].size
        body = r.take(r.u32("the mask length"), "the mask")
        if flags & _F_MASK_RAW:
            if len(body) != (n_bits + 7) // 8:
                raise CorruptDataError("the gnn sparsity mask has the wrong size")
            mask = np.unpackbits(np.frombuffer(body, np.uint8))[:n_bits].astype(bool)
        else:
            check_coded(n_bits, len(body), "sparsity-mask bits")
            out = np.zeros(n_bits, dtype=np.int64)
            if K.dec_mask(np.frombuffer(body, np.uint8), out):
                raise CorruptDataError("the gnn sparsity mask is truncated")
            mask = out.astype(bool)
    kept = int(mask.sum()) if mask is not None else 0

    def count(spec: TensorSpec) -> int:
        return kept if spec.masked else spec.size

    fspecs = [s for s in specs if not (weights == "int8" and s.quantised)]
    qspecs = [s for s in specs if weights == "int8" and s.quantised]
    width = 2 if weights == "float16" else 4
    n_f = sum(count(s) for s in fspecs)
    fbytes = r.take(n_f * width, "the float weights")
    if weights == "int8":
        n_body = r.u32("the integer length")
        n_groups = sum(s.groups for s in qspecs)
        sbytes = r.take(4 * n_groups, "the scales")
        body = r.take(n_body, "the integer weights")
    if r.pos != len(payload):
        raise CorruptDataError(f"{len(payload) - r.pos} unexpected bytes follow the gnn weights")
    fvals = np.frombuffer(fbytes, "<f2" if width == 2 else "<f4").astype(np.float32)
    qvals = np.zeros(0, np.int64)
    svals = np.zeros(0, np.float32)
    if weights == "int8":
        svals = np.frombuffer(sbytes, "<f4").astype(np.float32)
        if not np.isfinite(svals).all() or (svals <= 0).any():
            raise CorruptDataError("the gnn quantisation scales are not positive finite numbers")
        n_q = sum(count(s) for s in qspecs)
        if flags & _F_INT_RAW:
            if len(body) != n_q:
                raise CorruptDataError("the gnn raw integer weights have the wrong size")
            qvals = np.frombuffer(body, np.int8).astype(np.int64)
            if np.abs(qvals).max(initial=0) > qmax:
                raise CorruptDataError("a gnn integer weight exceeds the quantisation range")
        else:
            check_coded(n_q, len(body), "integer weights")
            qvals = np.zeros(n_q, dtype=np.int64)
            ends = np.cumsum([count(s) for s in qspecs]).astype(np.int64)
            status = K.dec_ints(np.frombuffer(body, np.uint8), ends, int(qmax), qvals)
            if status == 1:
                raise CorruptDataError("a gnn integer weight exceeds the quantisation range")
            if status == 2:
                raise CorruptDataError("the gnn integer weights are truncated")

    out: list[np.ndarray] = []
    fpos = qpos = spos = 0
    for spec in specs:
        n = count(spec)
        if weights == "int8" and spec.quantised:
            vals = qvals[qpos : qpos + n]
            qpos += n
            full = np.zeros(spec.size, np.int64)
            if spec.masked:
                full[mask] = vals
            else:
                full[:] = vals
            scale = svals[spos : spos + spec.groups]
            spos += spec.groups
            out.append(dequantise(full.reshape(spec.shape), scale, spec.groups))
        else:
            vals = fvals[fpos : fpos + n]
            fpos += n
            full = np.zeros(spec.size, np.float32)
            if spec.masked:
                full[mask] = vals
            else:
                full[:] = vals
            if not np.isfinite(full).all():
                raise CorruptDataError("the gnn weights hold NaN or infinite values")
            out.append(full.reshape(spec.shape))
    return out
