"""Network structure: geometry, the list of stored tensors, their stored size, and the rate search.

A structure is (blocks, channels, pruned fraction of the FC layer, weight precision) plus the
fixed geometry of the cube (tile size, bands, latent length).  Everything here is pure Python,
so the stored size of a structure is known before any training and the rate search is cheap.

Stored sizes are exact for float32/float16 weights (the sparsity mask is bounded by its raw
bitmap) and an estimate for 8-bit weights (entropy-coded integers take about
``INT8_BITS_ESTIMATE`` bits each); the codec makes an 8-bit stream fit afterwards by lowering the
number of quantisation levels if the estimate was optimistic (see ``codec.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..storage import TensorSpec

PRECISIONS = ("int8", "float16", "float32")
BYTES = {"float32": 4, "float16": 2}
INT8_BITS_ESTIMATE = 7.8  # entropy-coded bits per 8-bit weight: ~7.1 for Gaussian weights, ~7.8 for
# briefly trained ones (still near their uniform initialisation); qmax is lowered if it overshoots
PRUNE_CHOICES = (0.0, 1.0 / 3.0, 2.0 / 3.0)
MAX_CHANNELS = 256
MAX_BLOCKS = 8
PAYLOAD_OVERHEAD = 24  # section lengths and flags in storage.py (upper bound)


@dataclass(frozen=True)
class Geometry:
    """What the cube fixes: output (tile) size, bands, latent length, tiles, keyed."""

    out_h: int  # rows of one generated image (the tile height, or the cube's rows)
    out_w: int
    bands: int
    latent: int = 50
    n_tiles: int = 1
    keyed: bool = False


@dataclass(frozen=True)
class Structure:
    """The trainable choices: blocks, channels, pruned FC fraction, stored weight precision."""

    blocks: int
    channels: int
    prune: float
    weights: str

    def as_dict(self) -> dict:
        return asdict(self)


def base_size(geo: Geometry, blocks: int) -> tuple[int, int]:
    """(h0, w0): the FC layer's feature-map size, ceil(size / 2^blocks)."""
    f = 1 << blocks
    return -(-geo.out_h // f), -(-geo.out_w // f)


def max_blocks(geo: Geometry) -> int:
    """Most blocks such that 2^blocks <= the smaller side and the FC map has >= 2 pixels.

    (BatchNorm over a single value per channel, a 1x1 map of one image, is undefined.)
    """
    b = 0
    while b < MAX_BLOCKS and (1 << (b + 1)) <= min(geo.out_h, geo.out_w):
        h0, w0 = base_size(geo, b + 1)
        if h0 * w0 < 2:
            break
        b += 1
    return b


def layout(geo: Geometry, st: Structure) -> list[TensorSpec]:
    """The stored tensors of the deployed (BN-folded) generator, in stream order."""
    h0, w0 = base_size(geo, st.blocks)
    c = st.channels
    specs = [TensorSpec("fc.weight", (c * h0 * w0, geo.latent), True, c, masked=st.prune > 0)]
    if not geo.keyed:  # keyed streams have no FC bias: nothing of the image is independent of the key
        specs.append(TensorSpec("fc.bias", (c * h0 * w0,), True, c))
    for i in range(st.blocks):
        specs.append(TensorSpec(f"conv{i}.weight", (c, c, 3, 3), True, c))
        specs.append(TensorSpec(f"conv{i}.bias", (c,), False, 1))
    specs.append(TensorSpec("head.weight", (geo.bands, c, 3, 3), True, geo.bands))
    specs.append(TensorSpec("head.bias", (geo.bands,), False, 1))
    return specs


def pruned_count(n: int, fraction: float) -> int:
    """How many of ``n`` FC weights a pruning fraction removes (rounded to nearest)."""
    return min(n, max(0, int(round(n * fraction))))


def payload_size(geo: Geometry, st: Structure) -> int:
    """Stored payload bytes of a structure (exact bound for floats, estimate for int8)."""
    total = PAYLOAD_OVERHEAD
    for spec in layout(geo, st):
        n = spec.size
        if spec.masked:
            total += (n + 7) // 8  # raw bitmap bound of the sparsity mask
            n -= pruned_count(n, st.prune)
        if st.weights == "int8" and spec.quantised:
            total += 4 * spec.groups + math.ceil(n * INT8_BITS_ESTIMATE / 8)
        else:
            total += n * BYTES.get(st.weights, 4)
    return total


def param_count(geo: Geometry, st: Structure) -> int:
    """Number of stored parameters (after pruning)."""
    n = 0
    for spec in layout(geo, st):
        n += spec.size - (pruned_count(spec.size, st.prune) if spec.masked else 0)
    return n


def macs_per_image(geo: Geometry, st: Structure) -> int:
    """Multiply-accumulates of one forward pass for one image (or tile)."""
    h0, w0 = base_size(geo, st.blocks)
    c = st.channels
    macs = geo.latent * c * h0 * w0
    h, w = h0, w0
    for _ in range(st.blocks):
        macs += 9 * c * c * h * w
        h, w = 2 * h, 2 * w
    return macs + 9 * c * geo.bands * h * w


_PRECISION_RANK = {"int8": 0, "float16": 1, "float32": 2}
MIN_GOOD_CHANNELS = 8
NEAR = 0.90  # candidates within this fraction of the largest fitting size count as "as close"


def search(
    geo: Geometry,
    budget_payload: int,
    *,
    blocks: int | None = None,
    channels: int | None = None,
    prune: float | None = None,
    weights: str | None = None,
    max_step_macs: float | None = None,
) -> tuple[Structure | None, Structure]:
    """Pick the structure whose stored size is closest to ``budget_payload`` from below.

    Fixed choices are kept; free ones are searched: blocks over 1..max, channels over
    1..MAX_CHANNELS (the largest that fits), prune over PRUNE_CHOICES, precision over
    PRECISIONS.  Candidates with fewer than ``MIN_GOOD_CHANNELS`` channels are dropped when
    another one has that many.  Sizes within ``NEAR`` of the largest fitting size are treated
    as equally close, and among those a prior decides: 8-bit before half before single
    precision (more parameters per byte), then less pruning, then blocks nearest the paper's
    4, then more channels.  ``max_step_macs`` (the CPU's default compute budget) caps the
    channels a search may choose so that a training step costs at most that many MACs per
    image; the stored size is then below the budget by more than usual.  Returns
    ``(best or None, smallest)``; ``smallest`` is the cheapest structure allowed by the fixed
    choices, for the error message when nothing fits.
    """
    top = max_blocks(geo)
    block_opts = [blocks] if blocks is not None else list(range(1, top + 1))
    prune_opts = [prune] if prune is not None else list(PRUNE_CHOICES)
    prec_opts = [weights] if weights is not None else list(PRECISIONS)
    chan_opts = [channels] if channels is not None else None
    if channels is not None:
        max_step_macs = None  # the user's channels are kept whatever they cost

    fitting: list[tuple[int, Structure]] = []
    smallest: tuple[int, Structure] | None = None
    for b in block_opts:
        for pr in prune_opts:
            for w in prec_opts:
                def size_of(c: int) -> int:
                    over = max_step_macs is not None and 3 * macs_per_image(geo, Structure(b, c, pr, w)) > max_step_macs
                    if c > 1 and over:
                        return 1 << 62  # over the compute cap: treated as too big
                    return payload_size(geo, Structure(b, c, pr, w))

                lo_c = chan_opts[0] if chan_opts else 1
                s_lo = size_of(lo_c)
                if smallest is None or s_lo < smallest[0]:
                    smallest = (s_lo, Structure(b, lo_c, pr, w))
                if chan_opts:
                    if s_lo <= budget_payload:
                        fitting.append((s_lo, Structure(b, lo_c, pr, w)))
                    continue
                if s_lo > budget_payload:
                    continue
                lo, hi = 1, MAX_CHANNELS  # largest c with size_of(c) <= budget (size grows with c)
                if size_of(hi) <= budget_payload:
                    lo = hi
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if size_of(mid) <= budget_payload:
                        lo = mid
                    else:
                        hi = mid - 1
                fitting.append((size_of(lo), Structure(b, lo, pr, w)))
    assert smallest is not None
    if not fitting:
        return None, smallest[1]
    # a network of one or two channels is useless when another block count affords eight
    enough = min(MIN_GOOD_CHANNELS, max(st.channels for _, st in fitting))
    fitting = [(s, st) for s, st in fitting if st.channels >= enough]
    best_size = max(s for s, _ in fitting)
    near = [st for s, st in fitting if s >= NEAR * best_size]
    near.sort(key=lambda st: (_PRECISION_RANK[st.weights], st.prune, abs(st.blocks - 4), -st.channels))
    return near[0], smallest[1]
