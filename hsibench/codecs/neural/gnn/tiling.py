"""Tiles: cover a large cube with equal, overlapping tiles; blend decoded tiles without seams.

One network generates every tile from the tile's own latent code.  Tiles are equal-sized
(so they batch), spread evenly so consecutive tiles overlap by at least ``overlap`` pixels,
and the decoder blends overlaps with separable linear ramps (weights normalised to sum to one),
which hides the small mismatches a tile has near its borders.

``ImageStack`` treats several same-shape images (each optionally tiled) as one list of tiles,
so one network learns them all, each image with its own latent codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def tiles_along(length: int, tile: int, overlap: int) -> int:
    """How many tiles of ``tile`` pixels, overlapping by at least ``overlap``, cover ``length`` pixels."""
    if tile >= length:
        return 1
    return max(math.ceil((length - overlap) / (tile - overlap)), 2)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    n = tiles_along(length, tile, overlap)
    if n == 1:
        return [0]
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


@dataclass(frozen=True)
class TileGrid:
    """The tile layout of a (rows, cols) image: tile size, overlap and the tile origins."""

    rows: int
    cols: int
    tile: int
    overlap: int

    @property
    def th(self) -> int:
        return min(self.tile, self.rows)

    @property
    def tw(self) -> int:
        return min(self.tile, self.cols)

    @property
    def origins(self) -> list[tuple[int, int]]:
        rs = _starts(self.rows, self.th, self.overlap)
        cs = _starts(self.cols, self.tw, self.overlap)
        return [(r, c) for r in rs for c in cs]

    def __len__(self) -> int:
        return len(self.origins)

    def cut(self, cube_bhw: np.ndarray, index: list[int] | np.ndarray) -> np.ndarray:
        """Tiles ``index`` of a band-first ``(bands, rows, cols)`` array, as ``(n, bands, th, tw)``."""
        org = self.origins
        return np.stack([cube_bhw[:, org[i][0] : org[i][0] + self.th, org[i][1] : org[i][1] + self.tw] for i in index])

    def _ramp(self, size: int, start: int, length: int) -> np.ndarray:
        w = np.ones(size, dtype=np.float64)
        o = max(1, min(self.overlap, size // 2))
        ramp = (np.arange(o) + 0.5) / o
        if start > 0:  # an interior leading edge
            w[:o] = np.minimum(w[:o], ramp)
        if start + size < length:  # an interior trailing edge
            w[-o:] = np.minimum(w[-o:], ramp[::-1])
        return w

    def blend(self, tiles: np.ndarray) -> np.ndarray:
        """Reassemble ``(n, bands, th, tw)`` tiles into ``(bands, rows, cols)`` with ramp blending."""
        bands = tiles.shape[1]
        acc = np.zeros((bands, self.rows, self.cols), dtype=np.float64)
        wsum = np.zeros((self.rows, self.cols), dtype=np.float64)
        for t, (r, c) in zip(tiles, self.origins):
            w = np.outer(self._ramp(self.th, r, self.rows), self._ramp(self.tw, c, self.cols))
            acc[:, r : r + self.th, c : c + self.tw] += t * w
            wsum[r : r + self.th, c : c + self.tw] += w
        return acc / wsum


@dataclass(frozen=True)
class ImageStack:
    """Several same-shape images seen by the trainer and decoder as one list of tiles.

    The paper's embedding gives each image its own latent code, so one network can hold several
    images.  Here every image is a "tile" (or, with ``grid``, each image is cut into that grid's
    tiles) with its own latent, numbered image-major: tile ``t`` is tile ``t % per_image`` of image
    ``t // per_image``.  It offers the :class:`TileGrid` interface the trainer and
    ``train.generate`` use (``th``, ``tw``, ``len``, ``cut``, ``blend``) on a stack shaped
    ``(images, bands, rows, cols)``; images never blend into each other, only tiles within one
    image do.
    """

    images: int
    rows: int
    cols: int
    grid: TileGrid | None = None  # each image's own tiling (None: an image is one tile)

    @property
    def per_image(self) -> int:
        return len(self.grid) if self.grid is not None else 1

    @property
    def th(self) -> int:
        return self.grid.th if self.grid is not None else self.rows

    @property
    def tw(self) -> int:
        return self.grid.tw if self.grid is not None else self.cols

    def __len__(self) -> int:
        return self.images * self.per_image

    def cut(self, stack_nbhw: np.ndarray, index: list[int] | np.ndarray) -> np.ndarray:
        """Tiles ``index`` of an ``(images, bands, rows, cols)`` stack, as ``(n, bands, th, tw)``."""
        if self.grid is None:
            return stack_nbhw[np.asarray(index, dtype=np.int64)]
        per = self.per_image
        return np.stack([self.grid.cut(stack_nbhw[int(i) // per], [int(i) % per])[0] for i in index])

    def blend(self, tiles: np.ndarray) -> np.ndarray:
        """Reassemble ``(len(self), bands, th, tw)`` tiles into ``(images, bands, rows, cols)``."""
        if self.grid is None:
            return tiles
        per = self.per_image
        return np.stack([self.grid.blend(tiles[k * per : (k + 1) * per]) for k in range(self.images)])
