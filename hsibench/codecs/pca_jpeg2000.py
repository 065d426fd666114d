"""PCA + JPEG 2000: spectral KLT, then the principal-component images as one JPEG 2000 codestream.

This is the scheme of Du & Fowler (IEEE GRSL 2007, "Hyperspectral image compression using
JPEG2000 and principal component analysis"): the KLT decorrelates the bands, and the
principal-component (PC) images become the components of a single multi-component JPEG 2000
codestream, so OpenJPEG's post-compression rate-distortion optimisation (PCRD-opt, here in its
fixed-quality form: one distortion-rate slope for all code-blocks of all components) allocates
the rate across the components.  For an orthonormal transform, MSE on the PC images is MSE on
the cube, so this allocation is MSE-optimal without any explicit variance-based rule; weak
components receive no bits by themselves.  All PC images share one int16 scale for that reason.

What is stored (and counted): per-band means (float32), the first ``k`` eigenvectors quantised
to ``basis_bits`` fractional bits and range-coded (each column either directly or as its
first difference along the bands, whichever is cheaper), and the codestream.  Coefficients are
computed with the least-squares inverse of the *quantised* basis, so basis quantisation does not
bias the reconstruction.

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
from numba import njit

from ..errors import CorruptDataError, InvalidRateError
from . import _bits
from .base import Codec, Header, Param, budget_bytes, register
from .jpeg2000 import (
    auto_resolutions,
    decomposition_levels,
    decode_components,
    encode_components,
    fit_rate,
    from_int,
    imagecodecs_module,
    to_int16,
)
from .pca import klt

_LEN = struct.Struct("<I")
_SET = _bits.N_EXPGOLOMB_MODELS
_N_SETS = 8  # basis contexts: (column 0, 1, 2, >=3) x (raw, differenced)


# --------------------------------------------------------------------------------------------
# Basis coding (range coder of hsibench.codecs._bits)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _basis_encode(basis_q, diff):
    bands, k = basis_q.shape
    models = np.zeros((_SET * _N_SETS, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.enc_new()
    buf = np.zeros(16 + 8 * bands * k + 8, dtype=np.uint8)
    for c in range(k):
        base = _SET * (2 * min(c, 3) + (1 if diff[c] else 0))
        prev = np.int64(0)
        for b in range(bands):
            v = basis_q[b, c]
            _bits.enc_signed(s, buf, models, base, v - prev if diff[c] else v)
            prev = v
    n = _bits.enc_finish(s, buf)
    return buf[: max(n, 0)].copy()


@njit(cache=True)
def _basis_decode(data, bands, k, diff):
    models = np.zeros((_SET * _N_SETS, 3), dtype=np.uint16)
    models[:, 0] = 32768
    models[:, 1] = 32768
    s = _bits.dec_new(data)
    basis_q = np.zeros((bands, k), dtype=np.int64)
    for c in range(k):
        base = _SET * (2 * min(c, 3) + (1 if diff[c] else 0))
        prev = np.int64(0)
        for b in range(bands):
            v = _bits.dec_signed(s, data, models, base)
            if diff[c]:
                v += prev
            basis_q[b, c] = v
            prev = v
    return basis_q, _bits.dec_exhausted(s, data)


def code_basis(basis_q: np.ndarray) -> bytes:
    """Range-code an integer basis ``(bands, k)``: flags (differenced or not) then the entries."""
    k = basis_q.shape[1]
    if k == 0:
        return b""
    cost = lambda a: np.log2(1.0 + np.abs(a)).sum(axis=0)  # noqa: E731
    diff = cost(np.diff(basis_q, axis=0, prepend=0)) < cost(basis_q)
    return np.packbits(diff.astype(np.uint8)).tobytes() + _basis_encode(basis_q.astype(np.int64), diff).tobytes()


def decode_basis(data: bytes, bands: int, k: int) -> np.ndarray:
    """Inverse of :func:`code_basis`."""
    nflag = (k + 7) // 8
    if len(data) < nflag:
        raise CorruptDataError("the pca_jpeg2000 basis is truncated")
    diff = np.unpackbits(np.frombuffer(data[:nflag], dtype=np.uint8))[:k].astype(np.bool_)
    basis_q, exhausted = _basis_decode(np.frombuffer(data[nflag:], dtype=np.uint8), bands, k, diff)
    if exhausted:
        raise CorruptDataError("the pca_jpeg2000 basis ends early")
    return basis_q


# --------------------------------------------------------------------------------------------
# The codec
# --------------------------------------------------------------------------------------------


@register
class PCAJPEG2000(Codec):
    """Spectral KLT, PC images coded as one multi-component JPEG 2000 codestream (Du & Fowler)."""

    name = "pca_jpeg2000"
    summary = "spectral KLT + multi-component JPEG 2000 of the PC images (PCRD-opt across components)"
    params = {
        "components": Param(
            int, None, "principal components kept (default: searched for the rate)", optional=True,
            check=lambda v: v >= 0, check_doc="a count >= 0",
        ),
        "basis_bits": Param(
            int, 12, "fractional bits of the stored eigenvectors", check=lambda v: 4 <= v <= 20,
            check_doc="in 4..20",
        ),
        "resolutions": Param(
            int, None, "JPEG 2000 resolutions requested (default 6; see the jpeg2000 codec)", optional=True,
            check=lambda v: 1 <= v <= 33, check_doc="in 1..33",
        ),
    }

    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        imagecodecs_module()
        rows, cols, bands = cube.shape
        res = self.config["resolutions"] or auto_resolutions(rows, cols)
        pixels = cube.reshape(-1, bands).astype(np.float64)
        mean, vals, vecs = klt(pixels)
        mean = mean.astype(np.float32)
        search = _Search(self, cube, pixels - mean.astype(np.float64), vecs, res, bpppb)
        want = self.config["components"]
        best = search.best_for(min(want, bands)) if want is not None else search.best_over_k(bands)
        if best is None:
            raise InvalidRateError(
                f"the target rate is below the smallest pca_jpeg2000 stream for this cube: "
                f"{8 * search.fixed(0) / cube.size:.4g} bpppb ({search.fixed(0)} bytes: header and band means)"
            )
        sse, k, params, body, level = best
        self.info = {"components": k, "quality_db": level,
                     "spatial_levels": decomposition_levels(body[_LEN.size + len(search.basis(k)[1]):]) if k else 0,
                     "basis_bytes": len(search.basis(k)[1]) if k else 0}
        payload = mean.astype("<f4").tobytes() + body
        return self._pack(cube, params, payload)

    def _decode(self, header: Header, payload: bytes, **_: Any) -> np.ndarray:
        rows, cols, bands = header.shape
        p = header.params
        try:
            k, bb = int(p["k"]), int(p["basis_bits"])
            offset, scale = float(p.get("offset", 0.0)), float(p.get("scale", 1.0))
        except (KeyError, TypeError, ValueError):
            raise CorruptDataError("the pca_jpeg2000 header lacks its parameters") from None
        if not (0 <= k <= bands and 4 <= bb <= 20 and math.isfinite(scale) and scale > 0):
            raise CorruptDataError("the pca_jpeg2000 header has invalid parameters")
        if len(payload) < 4 * bands + _LEN.size:
            raise CorruptDataError("the pca_jpeg2000 payload is too short for its band means")
        mean = np.frombuffer(payload, dtype="<f4", count=bands).astype(np.float64)
        pos = 4 * bands
        (nbasis,) = _LEN.unpack_from(payload, pos)
        pos += _LEN.size
        if pos + nbasis > len(payload):
            raise CorruptDataError("the pca_jpeg2000 basis is truncated")
        recon = np.broadcast_to(mean, (rows * cols, bands)).copy()
        if k:
            basis = decode_basis(payload[pos : pos + nbasis], bands, k) / float(1 << bb)
            q = decode_components(payload[pos + nbasis :], k, rows, cols)
            recon += from_int(q.reshape(k, -1).T, offset, scale) @ basis.T
        elif pos + nbasis != len(payload):
            raise CorruptDataError("unexpected bytes after a pca_jpeg2000 stream without components")
        return recon.reshape(rows, cols, bands)


class _Search:
    """Rate fit for one component count, and the search over component counts."""

    def __init__(self, codec: PCAJPEG2000, cube: np.ndarray, centred: np.ndarray, vecs, res, bpppb):
        self.codec, self.cube, self.centred, self.vecs, self.res = codec, cube, centred, vecs, res
        self.rows, self.cols, self.bands = cube.shape
        self.bb = codec.config["basis_bits"]
        self.budget = budget_bytes(bpppb, cube.shape)
        self.total = float(np.einsum("ij,ij->", centred, centred))
        self.cache: dict[int, tuple | None] = {}
        self._basis: dict[int, tuple] = {}
        self.last_level: float | None = None  # warm start of the rate search for the next k

    def basis(self, k: int) -> tuple[np.ndarray, bytes]:
        """Quantised basis (float) and its coded bytes for the first ``k`` eigenvectors."""
        if k not in self._basis:
            q = np.rint(self.vecs[:, :k] * float(1 << self.bb)).astype(np.int64)
            self._basis[k] = (q / float(1 << self.bb), code_basis(q))
        return self._basis[k]

    def params(self, k: int, offset: float = 0.0, scale: float = 1.0) -> dict:
        p: dict[str, Any] = {"k": k, "basis_bits": self.bb}
        if k:
            p.update(offset=offset, scale=scale)
        return p

    def fixed(self, k: int, offset: float = 0.0, scale: float = 1.0) -> int:
        """Container header + means + basis bytes for ``k`` components."""
        header = self.codec._header_size(self.cube, self.params(k, offset, scale))
        return header + 4 * self.bands + _LEN.size + (len(self.basis(k)[1]) if k else 0)

    def best_for(self, k: int):
        """(sse, k, params, body, level) of the best stream with ``k`` components, or None."""
        if k in self.cache:
            return self.cache[k]
        result = None
        if k == 0:
            if self.fixed(0) <= self.budget:
                result = (self.total, 0, self.params(0), _LEN.pack(0), None)
        else:
            basis, coded = self.basis(k)
            if self.fixed(k) < self.budget:
                coeffs = self.centred @ basis @ np.linalg.inv(basis.T @ basis)
                q, offset, scale = to_int16(coeffs)
                imgs = np.ascontiguousarray(q.T.reshape(k, self.rows, self.cols))
                fixed = self.fixed(k, offset, scale)
                try:
                    streams, level = fit_rate(
                        lambda lv: encode_components(imgs, lv, self.res),
                        self.budget - fixed, "pca_jpeg2000", fixed, self.cube.size, start=self.last_level,
                    )
                    self.last_level = level
                except InvalidRateError:
                    streams = None
                if streams is not None:
                    qhat = decode_components(streams, k, self.rows, self.cols)
                    err = self.centred - from_int(qhat.reshape(k, -1).T, offset, scale) @ basis.T
                    body = _LEN.pack(len(coded)) + coded + streams
                    result = (float(np.einsum("ij,ij->", err, err)), k, self.params(k, offset, scale), body, level)
        self.cache[k] = result
        return result

    def _sse(self, k: int) -> float:
        r = self.best_for(k)
        return math.inf if r is None else r[0]

    def best_over_k(self, max_k: int):
        """Coarse geometric grid of ``k``, then a ternary search around the best grid point."""
        grid = sorted({0, *np.unique(np.rint(np.geomspace(1, max(1, max_k), 9)).astype(int)).tolist()})
        grid = [k for k in grid if k <= max_k]
        i = min(range(len(grid)), key=lambda j: self._sse(grid[j]))
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
