"""siren's structure: depth x width, the stored tensors, their stored size and the rate search.  Pure Python.

The network maps a pixel's coordinates (2 inputs) through ``depth`` sine layers of ``width``
units to the pixel's spectrum (``bands`` outputs, a linear last layer).  Weights are stored at
the chosen precision through :mod:`hsibench.codecs.neural.storage` (8-bit: one scale per output
unit, range-coded integers; biases then stay float32); float32 and float16 sizes are exact,
8-bit sizes an estimate (the codec lowers the quantisation levels if a stream overshoots).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..storage import TensorSpec

PRECISIONS = ("float32", "float16", "int8")
BYTES = {"float32": 4, "float16": 2}
DEPTHS = (2, 3, 4, 5)  # hidden (sine) layers the rate search tries
MAX_DEPTH = 10
MAX_WIDTH = 1024
INT8_BITS_ESTIMATE = 7.8  # range-coded bits of an 8-bit weight (as the GNN's storage measures)
PAYLOAD_OVERHEAD = 16  # flags and section lengths of storage.py (upper bound)


@dataclass(frozen=True)
class Structure:
    """One SIREN: hidden sine layers, their width, the stored weight precision."""

    depth: int
    width: int
    weights: str

    def as_dict(self) -> dict:
        return asdict(self)


def layer_sizes(st: Structure, bands: int) -> list[tuple[int, int]]:
    """(inputs, outputs) of every layer: 2 -> width, (depth - 1) x width -> width, width -> bands."""
    return [(2, st.width)] + [(st.width, st.width)] * (st.depth - 1) + [(st.width, bands)]


def layout(st: Structure, bands: int) -> list[TensorSpec]:
    """Stored tensors in stream order: each layer's weight (out, in; 8-bit groups = outputs) then bias."""
    specs = []
    for i, (n_in, n_out) in enumerate(layer_sizes(st, bands)):
        specs += [TensorSpec(f"w{i}", (n_out, n_in), True, n_out), TensorSpec(f"b{i}", (n_out,), False, 1)]
    return specs


def param_count(st: Structure, bands: int) -> int:
    return sum((n_in + 1) * n_out for n_in, n_out in layer_sizes(st, bands))


def payload_size(st: Structure, bands: int) -> int:
    """Stored bytes of the weights (exact for float32/float16, an estimate for 8-bit)."""
    if st.weights in BYTES:
        return 1 + BYTES[st.weights] * param_count(st, bands)
    sizes = layer_sizes(st, bands)
    weights = sum(i * o for i, o in sizes)
    outputs = sum(o for _, o in sizes)
    return int(weights * INT8_BITS_ESTIMATE / 8) + 4 * outputs + 4 * outputs + PAYLOAD_OVERHEAD


def macs_per_pixel(st: Structure, bands: int) -> int:
    return sum(i * o for i, o in layer_sizes(st, bands))


def widest(depth: int, bands: int, capacity: int, weights: str) -> int:
    """The widest width of a ``depth``-layer network whose payload fits ``capacity`` bytes (0 if none)."""
    lo, hi = 0, MAX_WIDTH
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if payload_size(Structure(depth, mid, weights), bands) <= capacity:
            lo = mid
        else:
            hi = mid - 1
    return lo


def candidates(bands: int, capacity: int, weights: str, depth: int | None = None, width: int | None = None) -> list[Structure]:
    """The structures the rate search compares: per depth, the widest that fits (or the fixed ones)."""
    depths = (depth,) if depth is not None else DEPTHS
    out = []
    for d in depths:
        w = width if width is not None else widest(d, bands, capacity, weights)
        st = Structure(d, w, weights)
        if w >= 1 and payload_size(st, bands) <= capacity:
            out.append(st)
    return out
