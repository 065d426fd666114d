"""Reading a gnn stream's header: every field typed and range-checked, every size bounded, before decoding.

A gnn header describes a network (blocks, channels, pruning, weight precision, latent length,
seed or key, tiles) and the images it generates (value ranges, image count).  :func:`read`
turns it into a :class:`Plan` after checking, in this order:

* each field's JSON type and range (no coercion of ``"3"`` or ``true``);
* the voxel limit (``max_voxels``) on what decoding will hold at once: the output images, the
  tiles the network generates (overlapping tiles generate more voxels than the cube has), the
  stored tensors the payload must fill (:func:`~.structure.layout`: their sizes follow from the
  geometry, so a header cannot ask for more than the limit), and the network's widest feature
  map.

The payload itself is checked against those tensor sizes by :func:`..storage.decode`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ....errors import CorruptDataError
from ... import fields as F
from ... import limits
from .structure import MAX_BLOCKS, MAX_CHANNELS, PRECISIONS, Geometry, Structure, base_size, layout, max_blocks
from .tiling import ImageStack, TileGrid, tiles_along

FORMAT = 1
MAX_IMAGES = 65535  # images in one multi-image stream (a sanity bound for the decoder)
MAX_LATENT = 4096
_CHUNK = 4  # tiles generated at once (train.generate)
CODEC = "gnn"


@dataclass(frozen=True)
class Plan:
    """What a checked header says: the images' value ranges and, unless constant, the network."""

    images: int
    los: list[float]
    his: list[float]
    multi: bool  # the header holds lists of ranges (an encode_images stream)
    constant: bool
    st: Structure | None = None
    geo: Geometry | None = None
    grid: TileGrid | ImageStack | None = None
    seed: int | None = None
    qmax: int = 127


def _ranges(hp: dict) -> tuple[int, list[float], list[float], bool]:
    """(images, mins, maxs, multi) from a header: scalars for one cube, lists for several."""
    if "images" in hp:
        n = F.read_int(hp, "images", CODEC, 2, MAX_IMAGES)
        los, his = (F.read_list(hp, k, CODEC, n, F.is_value, "numbers, one per image") for k in ("min", "max"))
    else:
        n, los, his = 1, [F.read_number(hp, "min", CODEC)], [F.read_number(hp, "max", CODEC)]
    los, his = [float(v) for v in los], [float(v) for v in his]
    for a, b in zip(los, his):
        F.read_range(a, b, CODEC)
    return n, los, his, "images" in hp


def _tiles(hp: dict, rows: int, cols: int) -> TileGrid | None:
    if hp.get("tile") is None:
        return None
    t, o = F.read_list(hp, "tile", CODEC, 2, F.is_int, "integers (tile, overlap)")
    if not (2 <= t and 0 <= o < t):
        raise CorruptDataError("gnn stream has an invalid tile size")
    return TileGrid(rows, cols, t, o)


def read(hp: dict, shape: tuple[int, int, int], max_voxels: int) -> Plan:
    """Check a gnn header against the cube ``shape`` and the voxel limit; raise CorruptDataError (or
    its StreamLimitError) on anything a gnn encoder would not have written."""
    rows, cols, bands = shape
    version = hp.get("v")
    if not (F.is_int(version) and version == FORMAT):
        raise CorruptDataError(f"gnn stream format {version!r} is not supported (this hsibench reads {FORMAT})")
    n, los, his, multi = _ranges(hp)
    limits.check_voxels(n * rows * cols * bands, max_voxels, f"the stream's {n} images of {rows}x{cols}x{bands}")
    if all(a == b for a, b in zip(los, his)):
        return Plan(n, los, his, multi, constant=True)
    st = Structure(F.read_int(hp, "blocks", CODEC, 1, MAX_BLOCKS), F.read_int(hp, "channels", CODEC, 1, MAX_CHANNELS),
                   float(F.read_number(hp, "prune", CODEC, 0.0, math.nextafter(1.0, 0.0))),
                   F.read_choice(hp, "weights", CODEC, PRECISIONS))
    latent = F.read_int(hp, "latent", CODEC, 1, MAX_LATENT)
    keyed = F.read_choice(hp, "keyed", CODEC, (True, False), default=False)
    seed = None if keyed else F.read_int(hp, "seed", CODEC, 0, 2**63 - 1)
    qmax = F.read_int(hp, "qmax", CODEC, 1, 127, default=127)
    grid = _tiles(hp, rows, cols)
    th, tw = (grid.th, grid.tw) if grid is not None else (rows, cols)
    per_image = tiles_along(rows, th, grid.overlap) * tiles_along(cols, tw, grid.overlap) if grid else 1
    n_tiles = n * per_image
    limits.check_voxels(n_tiles * th * tw * bands, max_voxels, f"the {n_tiles} tiles of {th}x{tw}x{bands} the network generates")
    geo = Geometry(th, tw, bands, latent, n_tiles, keyed)
    if not st.blocks <= max_blocks(geo):
        raise CorruptDataError(f"gnn stream describes an impossible network ({st.blocks} blocks for {th}x{tw} pixels)")
    stored = sum(spec.size for spec in layout(geo, st))
    limits.check_voxels(stored, max_voxels, "the network's stored tensors (elements)")
    h0, w0 = base_size(geo, st.blocks)
    widest = min(n_tiles, _CHUNK) * st.channels * (h0 << st.blocks) * (w0 << st.blocks)
    limits.check_voxels(widest, max_voxels, "the network's widest feature map (elements)")
    if multi:
        grid = ImageStack(n, rows, cols, grid)
        geo = replace(geo, n_tiles=len(grid))
    return Plan(n, los, his, multi, constant=False, st=st, geo=geo, grid=grid, seed=seed, qmax=qmax)
