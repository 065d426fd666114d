"""PCA codec: spectral KLT, uniform quantisation of the component images, context-adaptive coding.

Encode: per-band means, eigenvectors of the band covariance, keep the ``k`` leading
components, quantise the basis (``basis_bits`` fractional bits) and the component images
(one uniform step for all components — for an orthonormal transform this is the MSE-optimal
allocation at high rate, and weak components quantise to zero by themselves), and code both
with the range coder (:mod:`._pca_kernels`).  Means, basis and step are in the payload.

Rate control: for each candidate ``k`` a bisection on the step finds the finest quantiser
whose whole container fits the budget; the ``k`` with the lowest MSE wins.  The achieved rate
lands at or below the target and, unless even the finest quantiser is cheaper, within 0.5 %.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from ..._lazy import lazy_module
from ...errors import CorruptDataError, InvalidRateError
from .. import limits
from ..base import Codec, Header, Param, budget_bytes, register

K = lazy_module("hsibench.codecs.transform._pca_kernels")  # numba: loaded when first coding

_FIXED = struct.Struct("<HBd")  # k, basis_bits, step
_STEP_ITERS = 30
_PROXY_RESOLUTION = 0.01  # log2 step resolution of the component-count search (0.7 %)
_TOLERANCE = 0.995  # accept a quantiser once the stream fills this share of the budget (equal bytes need it)
# the step is at most 16 x the largest component's deviation, itself below the range of data within
# the float32 range (2**129): a decoder accepts up to 2**140 (larger steps are crafted)
_MAX_STEP = 2.0**140


def klt(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral KLT of pixels ``x`` (n, bands): means, eigenvalues (descending), eigenvectors."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / max(1, x.shape[0])
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vecs = vecs[:, order]
    # a deterministic sign: the largest-magnitude entry of each eigenvector is positive
    flip = np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])])
    vecs = vecs * np.where(flip == 0, 1.0, flip)
    return mean, np.clip(vals[order], 0.0, None), vecs


@register
class PCA(Codec):
    """Spectral PCA/KLT with uniformly quantised, entropy-coded principal-component images."""

    name = "pca"
    revision = 2  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    summary = "spectral KLT + uniform quantiser + context-adaptive arithmetic coding"
    params = {
        "components": Param(
            int, None, "principal components kept (default: chosen by rate control)", optional=True,
            check=lambda v: v >= 0, check_doc="a count >= 0",
        ),
        "basis_bits": Param(
            int, 12, "fractional bits of the stored basis", check=lambda v: 4 <= v <= 20, check_doc="in 4..20"
        ),
    }

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        rows, cols, bands = cube.shape
        budget = budget_bytes(bpppb, cube.shape)
        fixed = self._header_size(cube, {}) + _FIXED.size + 4 * bands + 1
        pixels = cube.reshape(-1, bands).astype(np.float64)
        mean, vals, vecs = klt(pixels)
        mean = mean.astype(np.float32)
        centred = pixels - mean.astype(np.float64)
        total_energy = float(np.einsum("ij,ij->", centred, centred))
        max_k = bands if self.config["components"] is None else min(self.config["components"], bands)
        if fixed + 8 > budget:
            raise InvalidRateError(
                f"{bpppb:g} bpppb is below the smallest pca stream for this cube "
                f"({8 * (fixed + 8) / cube.size:.4g} bpppb: header and band means)"
            )
        search = _Search(self, cube.shape, centred, total_energy, vecs, vals, budget - fixed)
        k = max_k if self.config["components"] is not None else search.best_over_k(max_k)
        best = search.encode(k)
        if best is None:
            raise InvalidRateError(f"{bpppb:g} bpppb is too low for any pca stream of this cube")
        k, step, coded, flags = best
        payload = b"".join(
            [
                _FIXED.pack(k, self.config["basis_bits"], step),
                mean.astype("<f4").tobytes(),
                np.packbits(flags.astype(np.uint8)).tobytes() if k else b"",
                coded.tobytes(),
            ]
        )
        self.info = {"components": k, "step": step, "predicted_components": int(flags.sum())}
        return self._pack(cube, {}, payload)

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int) -> np.ndarray:
        rows, cols, bands = header.shape
        if len(payload) < _FIXED.size + 4 * bands:
            raise CorruptDataError("pca payload too short for its fixed fields")
        k, basis_bits, step = _FIXED.unpack_from(payload, 0)
        if k > bands or not (4 <= basis_bits <= 20) or not (math.isfinite(step) and 0 < step <= _MAX_STEP):
            raise CorruptDataError("pca payload has invalid fields (components, basis bits or step)")
        pos = _FIXED.size
        mean = np.frombuffer(payload, dtype="<f4", count=bands, offset=pos).astype(np.float64)
        if not np.isfinite(mean).all():
            raise CorruptDataError("pca payload's band means are not finite")
        pos += 4 * bands
        nflag = (k + 7) // 8
        if len(payload) < pos + nflag:
            raise CorruptDataError("pca payload too short for its predictor flags")
        flags = np.unpackbits(np.frombuffer(payload, dtype=np.uint8, count=nflag, offset=pos))[:k].astype(np.bool_)
        pos += nflag
        data = np.frombuffer(payload, dtype=np.uint8, offset=pos)
        # before allocating them: the basis and the component images must fit the limit and the coded bytes
        limits.check_voxels(bands * k, max_voxels, "the stream's basis (bands x components)")
        limits.check_coded(bands * k + k * rows * cols, data.size, "basis entries and component values")
        recon = np.broadcast_to(mean, (rows * cols, bands)).copy()
        if k:
            basis_q, comps, exhausted = K.decode_all(data, bands, k, rows, cols, flags)
            if exhausted:
                raise CorruptDataError("pca payload ends before all components are decoded")
            basis = basis_q / float(1 << basis_bits)
            recon += (comps.reshape(k, -1).T * step) @ basis.T
        return recon.reshape(rows, cols, bands)


class _Search:
    """Rate search of the PCA encoder.

    The component count is chosen with a fast rate model (zeroth-order entropies, see
    :func:`._pca_kernels.estimate`); the step for that count is then found by bisection with the
    real coder, so the budget is honoured by the bytes themselves.
    """

    def __init__(self, codec, shape, centred, total_energy, vecs, vals, capacity):
        self.rows, self.cols, self.bands = shape
        self.centred = centred
        self.centred_t = np.ascontiguousarray(centred.T)  # (bands, pixels): components come out image-major
        self.total = total_energy
        self.vecs = vecs
        self.capacity = capacity  # bytes for the predictor flags + coded data
        self.basis_bits = codec.config["basis_bits"]
        sigma = math.sqrt(max(float(vals[0]), 1e-12))
        self.log_lo, self.log_hi = math.log2(sigma) - 24.0, math.log2(sigma) + 4.0
        self._proxy: dict[int, tuple[float, float]] = {}

    def _project(self, k: int):
        scale = float(1 << self.basis_bits)
        basis_q = np.rint(self.vecs[:, :k] * scale).astype(np.int64)
        basis = basis_q / scale
        # least-squares coefficients for the quantised (not quite orthonormal) basis, (k, pixels)
        coeffs = np.linalg.solve(basis.T @ basis, basis.T @ self.centred_t)
        return basis_q, basis, coeffs

    def _quantise(self, coeffs, step):
        """Quantised components as (k, rows, cols) integers."""
        return np.rint(coeffs * (1.0 / step)).astype(np.int64).reshape(-1, self.rows, self.cols)

    def _sse(self, comps, step, basis) -> float:
        err = self.centred_t - basis @ (comps.reshape(comps.shape[0], -1) * step)
        return float(np.einsum("ij,ij->", err, err))

    def proxy(self, k: int) -> tuple[float, float]:
        """(estimated SSE, log2 step) of the finest step whose *estimated* size fits."""
        if k in self._proxy:
            return self._proxy[k]
        cap_bits = 8.0 * (self.capacity - (k + 7) // 8)
        if k == 0:
            result = (self.total if cap_bits >= 0 else math.inf, self.log_hi)
        else:
            basis_q, basis, coeffs = self._project(k)
            basis_bits = K._h0_bits(basis_q.ravel()) + 64
            lo, hi = self.log_lo, self.log_hi
            while hi - lo > _PROXY_RESOLUTION:
                mid = 0.5 * (lo + hi)
                comps = self._quantise(coeffs, 2.0**mid)
                if basis_bits + K.estimate(comps)[0].sum() <= cap_bits:
                    hi = mid
                else:
                    lo = mid
            comps = self._quantise(coeffs, 2.0**hi)
            fits = basis_bits + K.estimate(comps)[0].sum() <= cap_bits
            result = (self._sse(comps, 2.0**hi, basis) if fits else math.inf, hi)
        self._proxy[k] = result
        return result

    def best_over_k(self, max_k: int) -> int:
        """Component count with the lowest estimated error (ternary search; error ~unimodal in k)."""
        lo, hi = 0, max_k
        while hi - lo > 2:
            m1 = lo + (hi - lo) // 3
            m2 = hi - (hi - lo) // 3
            if self.proxy(m1)[0] <= self.proxy(m2)[0]:
                hi = m2
            else:
                lo = m1
        return min(range(lo, hi + 1), key=lambda k: self.proxy(k)[0])

    def encode(self, k: int):
        """(k, step, coded bytes, flags) of the finest step that fits with the real coder, or None."""
        cap = self.capacity - (k + 7) // 8
        if cap < 0:
            return None
        if k == 0:
            return 0, 1.0, np.zeros(0, np.uint8), np.zeros(0, bool)
        basis_q, basis, coeffs = self._project(k)

        def attempt(log_step):
            comps = self._quantise(coeffs, 2.0**log_step)
            flags = K.estimate(comps)[1]
            coded = K.encode_all(basis_q, comps, flags, cap)
            return (k, 2.0**log_step, coded, flags) if coded.size else None

        guess = self.proxy(k)[1] if k in self._proxy else self.log_hi
        lo, hi = max(self.log_lo, guess - 3.0), min(self.log_hi, guess + 1.0)
        best = attempt(hi)
        if best is None and hi < self.log_hi:
            lo, hi = hi, self.log_hi
            best = attempt(hi)
        if best is None:
            return None
        if attempt(lo) is not None:  # the bracket's fine end fits too: widen it downwards
            lo = self.log_lo
        for _ in range(_STEP_ITERS):
            if best[2].size >= _TOLERANCE * cap:
                break
            mid = 0.5 * (lo + hi)
            trial = attempt(mid)
            if trial is None:
                lo = mid
            else:
                hi, best = mid, trial
        return best
