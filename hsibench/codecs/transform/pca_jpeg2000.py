"""PCA + JPEG 2000: spectral KLT, then the principal-component images as one JPEG 2000 codestream.

This is the scheme of Du & Fowler (IEEE GRSL 2007, "Hyperspectral image compression using
JPEG2000 and principal component analysis"): the KLT decorrelates the bands, and the
principal-component (PC) images become the components of a single multi-component JPEG 2000
codestream, so OpenJPEG's post-compression rate-distortion optimisation (PCRD-opt, here in its
fixed-quality form: one distortion-rate slope for all code-blocks of all components) allocates
the rate across the components.  For an orthonormal transform, MSE on the PC images is MSE on
the cube, so this allocation is MSE-optimal without any explicit variance-based rule; weak
components receive no bits by themselves.  All PC images share one int16 scale for that reason.

What is stored (and counted): the band means, quantised to 2**-16 of the cube's magnitude and
range-coded as first differences along the bands (1.4-1.8 bytes a band on the shared cubes
instead of 4); the first ``k`` eigenvectors, each quantised with its own number of fractional
bits and range-coded (each column directly or as first differences, whichever is cheaper); and
the codestream. The bits of eigenvector j follow its variance: quantising it moves about
``var_j * (bands - k) * 4**-b / 12`` of energy per pixel out of the kept subspace, and equal leaks per
column, summing to 2 % of the coding MSE, are the rate-optimal choice (:func:`column_bits`;
``basis_bits=N`` fixes them instead). Coefficients are computed with the least-squares inverse
of the *quantised* basis and each PC image is scaled by its quantised eigenvector's norm, so
neither basis quantisation nor PCRD's MSE bookkeeping is biased.

The number of kept components is a function of the rate: on small scenes the basis (bands x k
entries) is a large share of a low-rate budget, so the encoder searches ``k`` (coarse geometric
grid, then a ternary search), fitting the rate for each and keeping the ``k`` with the lowest
squared error (the encoder has the cube, so it measures rather than models).  The KLT itself is
:func:`hsibench.codecs.pca.klt`, shared with the ``pca`` codec.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidRateError
from .. import fields as F, limits
from ..base import Codec, Header, Param, budget_bytes, register
from ..wavelet.jpeg2000 import (
    TOLERANCE,
    auto_resolutions,
    decomposition_levels,
    decode_components,
    encode_components,
    fit_rate,
    from_int,
    imagecodecs_module,
    read_mapping,
    to_int16,
)
from .pca import klt

K = lazy_module("hsibench.codecs.transform._pca_jpeg2000_kernels")  # numba: loaded when first coding
_LEN = struct.Struct("<I")
_MIN_AUTO_BITS = 6  # coarser eigenvectors lose their shape (a 198-band unit vector has entries ~0.07)
SEARCH_TOLERANCE = 0.97  # streams compared while choosing the component count fill this share of the budget
LEAK_SHARE = 0.02  # auto basis precision: basis quantisation may add this share of the coding MSE
_MEAN_STEPS = 1 << 16  # band means are quantised to 2**-16 of the cube's magnitude (power of two)
# the mean exponent of data within the float32 range lies in -116..113 (mean_exponent); a decoder
# accepts a margin around that, and nothing that would overflow 2.0**exp
_MEAN_EXP_BOUND = 160


# --------------------------------------------------------------------------------------------
# Side information: band means and eigenvectors, range-coded (hsibench.codecs._bits)
# --------------------------------------------------------------------------------------------


def code_side(mean_q: np.ndarray, bits: np.ndarray, basis_q: np.ndarray) -> bytes:
    """Range-code quantised means ``(bands,)``, per-column bits ``(k,)`` and basis ``(bands, k)``.

    Each column is coded directly or as first differences along the bands, whichever the
    encoder estimates cheaper (the flag is coded with it).
    """
    cost = lambda a: np.log2(1.0 + np.abs(a)).sum(axis=0)  # noqa: E731
    diff = cost(np.diff(basis_q, axis=0, prepend=0)) < cost(basis_q)
    return K.side_encode(
        mean_q.astype(np.int64), bits.astype(np.int64), diff, np.ascontiguousarray(basis_q, dtype=np.int64)
    ).tobytes()


def decode_side(data: bytes, bands: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`code_side`; CorruptDataError when the data are short or invalid."""
    mean_q, bits, basis_q, ok = K.side_decode(np.frombuffer(data, dtype=np.uint8), bands, k)
    if not ok:
        raise CorruptDataError("the pca_jpeg2000 means and basis are truncated or invalid")
    return mean_q, bits, basis_q


def column_bits(vals: np.ndarray, k: int, bands: int, mse: float) -> np.ndarray:
    """Fractional bits of each kept eigenvector so that basis quantisation costs ~2 % of ``mse``.

    Quantising eigenvector j with step 2**-b moves span energy of about
    ``vals[j] * (bands - k) * 4**-b / 12`` per pixel out of the kept subspace (measured on the
    shared cubes to within 10 %).  Equal leaks per column are rate-optimal (every column costs
    ``bands`` bits per extra bit); their sum is set to LEAK_SHARE of the coding MSE per voxel.
    """
    lam = np.maximum(np.asarray(vals[:k], dtype=np.float64), 1e-30)
    per_column = LEAK_SHARE * max(mse, 1e-30) * bands / max(k, 1)
    b = 0.5 * np.log2(lam * max(bands - k, 1) / (12.0 * per_column))
    return np.clip(np.ceil(b), _MIN_AUTO_BITS, 20).astype(np.int64)


def mean_exponent(mean: np.ndarray, cube_range: float) -> int:
    """Power-of-two step for the band means: 2**-16 of the larger of the range and the means."""
    ref = max(float(np.max(np.abs(mean))), float(cube_range), 1e-30)
    return int(math.floor(math.log2(ref / _MEAN_STEPS)))


def least_squares_coefficients(centred: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Coefficients ``c`` minimising ``|centred - c @ basis.T|`` (normal equations; pinv if singular)."""
    proj = centred @ basis
    try:
        return np.linalg.solve(basis.T @ basis, proj.T).T
    except np.linalg.LinAlgError:
        return centred @ np.linalg.pinv(basis).T


def column_norms(basis: np.ndarray) -> np.ndarray:
    """Norms of the quantised eigenvectors: PC images are scaled by them so coded MSE = cube MSE."""
    n = np.linalg.norm(basis, axis=0)
    return np.where(n > 0, n, 1.0)


# --------------------------------------------------------------------------------------------
# The codec
# --------------------------------------------------------------------------------------------


@register
class PCAJPEG2000(Codec):
    """Spectral KLT, PC images coded as one multi-component JPEG 2000 codestream (Du & Fowler)."""

    name = "pca_jpeg2000"
    revision = 2  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "spectral KLT + multi-component JPEG 2000 of the PC images (PCRD-opt across components)"
    params = {
        "components": Param(
            int, None, "principal components kept (default: searched for the rate)", optional=True,
            check=lambda v: v >= 0, check_doc="a count >= 0",
        ),
        "basis_bits": Param(
            int, None, "fractional bits of every stored eigenvector (default: per eigenvector, from its "
            "variance and the coding error)", optional=True, check=lambda v: 2 <= v <= 20, check_doc="in 2..20",
        ),
        "resolutions": Param(
            int, None, "JPEG 2000 resolutions requested (default 6; see the jpeg2000 codec)", optional=True,
            check=lambda v: 1 <= v <= 33, check_doc="in 1..33",
        ),
    }

    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        imagecodecs_module()
        rows, cols, bands = cube.shape
        pixels = cube.reshape(-1, bands).astype(np.float64)
        mean, vals, vecs = klt(pixels)
        exp = mean_exponent(mean, float(pixels.max() - pixels.min()))
        mean_q = np.rint(mean / 2.0**exp).astype(np.int64)
        search = _Search(self, cube, pixels - mean_q * 2.0**exp, mean_q, exp, vals, vecs, bpppb)
        want = self.config["components"]
        best = search.best_for(min(want, bands)) if want is not None else search.best_over_k(bands)
        best = search.finish(search.refine(best))
        if best is None and want and search.smallest() <= search.budget:
            raise InvalidRateError(
                f"{bpppb:g} bpppb is too low for {min(want, bands)} principal components of this cube "
                "(their basis and JPEG 2000 headers do not fit); lower 'components' or leave it automatic"
            )
        if best is None:
            smallest = search.smallest()
            raise InvalidRateError(
                f"the target rate is below the smallest pca_jpeg2000 stream for this cube: "
                f"{8 * smallest / cube.size:.4g} bpppb ({smallest} bytes: header and band means)"
            )
        sse, k, params, body, info = best
        self.info = info
        return self._pack(cube, params, body)

    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        p = header.params
        k = F.read_int(p, "k", self.name, 0, bands)
        exp = F.read_int(p, "mean_exp", self.name, -_MEAN_EXP_BOUND, _MEAN_EXP_BOUND)
        offset, scale = read_mapping(p, self.name, levels=False)[1:] if k else (0.0, 1.0)
        if len(payload) < _LEN.size:
            raise CorruptDataError("the pca_jpeg2000 payload is too short")
        (nside,) = _LEN.unpack_from(payload, 0)
        if _LEN.size + nside > len(payload):
            raise CorruptDataError("the pca_jpeg2000 means and basis are truncated")
        # before allocating them: the means, column settings and basis entries must fit the side data
        limits.check_voxels(bands * k, max_voxels, "the stream's basis (bands x components)")
        limits.check_coded(bands * (k + 1) + 2 * k, nside, "band means and basis entries")
        mean_q, bits, basis_q = decode_side(payload[_LEN.size : _LEN.size + nside], bands, k)
        recon = np.broadcast_to(mean_q * 2.0**exp, (rows * cols, bands)).copy()
        rest = payload[_LEN.size + nside :]
        if k:
            basis = basis_q / 2.0 ** bits[None, :]
            q = decode_components(rest, k, rows, cols)
            recon += (from_int(q.reshape(k, -1).T, offset, scale) / column_norms(basis)) @ basis.T
        elif rest:
            raise CorruptDataError("unexpected bytes after a pca_jpeg2000 stream without components")
        return recon.reshape(rows, cols, bands)


class _Search:
    """Rate fit for one component count, and the search over component counts."""

    def __init__(self, codec: PCAJPEG2000, cube, centred, mean_q, exp, vals, vecs, bpppb):
        self.codec, self.cube, self.centred, self.mean_q, self.exp = codec, cube, centred, mean_q, exp
        self.vals, self.vecs = vals, vecs
        self.rows, self.cols, self.bands = cube.shape
        self.res = codec.config["resolutions"] or auto_resolutions(self.rows, self.cols)
        self.budget = budget_bytes(bpppb, cube.shape)
        self.total = float(np.einsum("ij,ij->", centred, centred))
        self.tail = np.concatenate([np.cumsum(vals[::-1])[::-1], [0.0]])  # variance beyond k (per pixel)
        self.cache: dict[int, tuple | None] = {}
        self.bits_used: dict[int, np.ndarray] = {}
        self.best_mse: float | None = None  # lowest coding MSE per voxel seen: sets the basis precision
        self.last_level: float | None = None  # warm start of the rate search for the next k

    def bits_for(self, k: int) -> np.ndarray:
        if self.codec.config["basis_bits"] is not None:
            return np.full(k, self.codec.config["basis_bits"], dtype=np.int64)
        mse = self.tail[k] / self.bands
        if self.best_mse is not None:
            mse = max(mse, self.best_mse)
        return column_bits(self.vals, k, self.bands, mse)

    def _params(self, k: int, offset: float = 0.0, scale: float = 1.0) -> dict:
        p: dict[str, Any] = {"k": k, "mean_exp": self.exp}
        if k:
            p.update(offset=offset, scale=scale)
        return p

    def smallest(self) -> int:
        """Bytes of the stream without components (header and band means)."""
        side = code_side(self.mean_q, np.zeros(0), np.zeros((self.bands, 0)))
        return self.codec._header_size(self.cube, self._params(0)) + _LEN.size + len(side)

    def evaluate(self, k: int, bits: np.ndarray, tolerance: float = SEARCH_TOLERANCE):
        """(sse, k, params, payload, info) of the best stream with these settings, or None.

        The search compares component counts with streams that fill ``tolerance`` of the budget;
        :meth:`finish` fills the chosen one to the final tolerance.
        """
        basis_q = np.rint(self.vecs[:, :k] * 2.0 ** bits[None, :]).astype(np.int64)
        basis = basis_q / 2.0 ** bits[None, :]
        side = code_side(self.mean_q, bits, basis_q)
        head = _LEN.pack(len(side)) + side
        info = {"components": k, "quality_db": None, "spatial_levels": 0, "side_bytes": len(side),
                "basis_bits": [int(bits.min()), int(bits.max())] if k else []}
        if k == 0:
            params = self._params(0)
            if self.codec._header_size(self.cube, params) + len(head) > self.budget:
                return None
            return (self.total, 0, params, head, info)
        norms = column_norms(basis)
        coeffs = least_squares_coefficients(self.centred, basis) * norms
        q, offset, scale = to_int16(coeffs)
        imgs = np.ascontiguousarray(q.T.reshape(k, self.rows, self.cols))
        params = self._params(k, offset, scale)
        fixed = self.codec._header_size(self.cube, params) + len(head)
        if fixed >= self.budget:
            return None
        try:
            streams, level = fit_rate(
                lambda lv: encode_components(imgs, lv, self.res),
                self.budget - fixed, "pca_jpeg2000", fixed, self.cube.size, start=self.last_level, tolerance=tolerance,
            )
        except InvalidRateError:
            return None
        self.last_level = level
        qhat = decode_components(streams, k, self.rows, self.cols)
        err = self.centred - (from_int(qhat.reshape(k, -1).T, offset, scale) / norms) @ basis.T
        sse = float(np.einsum("ij,ij->", err, err))
        mse = sse / self.cube.size
        self.best_mse = mse if self.best_mse is None else min(self.best_mse, mse)
        info.update(quality_db=level, spatial_levels=decomposition_levels(streams))
        return (sse, k, params, head + streams, info)

    def best_for(self, k: int):
        if k not in self.cache:
            self.bits_used[k] = self.bits_for(k)
            self.cache[k] = self.evaluate(k, self.bits_used[k])
        return self.cache[k]

    def refine(self, best):
        """Re-fit the chosen ``k`` with the basis precision that its own coding error calls for."""
        if best is None or best[1] == 0:
            return best
        k = best[1]
        bits = self.bits_for(k)
        if np.array_equal(bits, self.bits_used.get(k)):
            return best
        again = self.evaluate(k, bits)
        return again if again is not None and again[0] < best[0] else best

    def finish(self, best):
        """The chosen stream re-fitted to fill :data:`TOLERANCE` of the budget (kept if it already does)."""
        if best is None or best[1] == 0:
            return best
        sse, k, params, body, info = best
        if self.codec._header_size(self.cube, params) + len(body) >= TOLERANCE * self.budget:
            return best
        self.last_level = info["quality_db"]
        again = self.evaluate(k, self.bits_used[k], tolerance=TOLERANCE)
        return again if again is not None else best

    def _sse(self, k: int) -> float:
        r = self.best_for(k)
        return math.inf if r is None else r[0]

    def best_over_k(self, max_k: int):
        """Coarse geometric grid of ``k``, then a ternary search around the best grid point."""
        grid = sorted({0, *np.unique(np.rint(np.geomspace(1, max(1, max_k), 9)).astype(int)).tolist()})
        grid = [k for k in grid if k <= max_k]
        i = 0
        for j in range(1, len(grid)):  # ascending; the error is unimodal in k: stop two points past
            if self._sse(grid[j]) < self._sse(grid[i]):  # the best (saves the costly large k's)
                i = j
            elif j >= i + 2:
                break
        lo, hi = grid[max(0, i - 1)], grid[min(len(grid) - 1, i + 1)]
        # the error is flat near its minimum: stop at a bracket of ~1/8 of k (a few tenths of a dB
        # at most), which halves the encoder's time against an exact integer search
        while hi - lo > max(2, lo // 8):
            m1 = lo + (hi - lo) // 3
            m2 = hi - (hi - lo) // 3
            if self._sse(m1) <= self._sse(m2):
                hi = m2
            else:
                lo = m1
        k = min((k for k in self.cache if lo <= k <= hi), key=self._sse, default=lo)
        if hi - lo <= 2:
            k = min(range(lo, hi + 1), key=self._sse)
        return self.best_for(k)
