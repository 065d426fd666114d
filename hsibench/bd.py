"""Bjøntegaard delta metrics: average rate saving (BD-rate) and quality gain (BD-PSNR) of a codec.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", ITU-T SG16 Q.6
VCEG-M33, Austin, 2001.  Both curves are fitted, over the *overlapping* range only, then the
area between them is averaged over that range:

* BD-PSNR: PSNR as a function of ``log10(rate)``; the mean vertical gap in dB
  (positive: the test codec gives more dB at equal rate).
* BD-rate: ``log10(rate)`` as a function of PSNR; the mean horizontal gap ``d`` turned into a
  percentage ``(10**d - 1) * 100`` (negative: the test codec needs fewer bits at equal PSNR).

Two interpolation methods:

* ``"cubic"`` (default): the original VCEG-M33 least-squares cubic polynomial; needs at least
  4 distinct points per curve.
* ``"pchip"``: piecewise cubic Hermite interpolation (monotone; the variant of VCEG-AL22 and of
  later common test conditions); needs at least 2 points.

Curves that do not overlap, non-finite values (a lossless point has infinite PSNR) and too
few points give an :class:`~hsibench.errors.InvalidParameterError` with the reason.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import InvalidParameterError

METHODS = {
    "cubic": "Bjøntegaard (VCEG-M33): cubic polynomial fit of PSNR vs log10 rate (and log10 rate vs PSNR), "
             "integrated over the overlapping range",
    "pchip": "Bjøntegaard with piecewise cubic Hermite (PCHIP) interpolation of PSNR vs log10 rate "
             "(and log10 rate vs PSNR), integrated over the overlapping range",
}
MIN_POINTS = {"cubic": 4, "pchip": 2}


def _curve(rate: Sequence[float], psnr: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(psnr, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise InvalidParameterError(f"{what}: rates and PSNRs must be two 1-D sequences of one length")
    keep = np.isfinite(r) & np.isfinite(q) & (r > 0)
    return np.log10(r[keep]), q[keep]


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Integral over [lo, hi] of the curve y(x) interpolated by ``method``."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if method == "cubic":
        poly = np.polyfit(x, y, 3)
        anti = np.polyint(poly)
        return float(np.polyval(anti, hi) - np.polyval(anti, lo))
    from scipy.interpolate import PchipInterpolator

    # equal x values (two rates giving one PSNR) would make the interpolant undefined: average them
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    return float(PchipInterpolator(ux, uy, extrapolate=False).integrate(lo, hi))


def _check(x: np.ndarray, what: str, method: str) -> None:
    need = MIN_POINTS[method]
    if np.unique(x).size < need:
        raise InvalidParameterError(
            f"{what}: the {method} method needs at least {need} distinct finite points; got {np.unique(x).size}"
        )


def _overlap(a: np.ndarray, b: np.ndarray, what: str) -> tuple[float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    if not hi > lo:
        raise InvalidParameterError(f"{what}: the two curves do not overlap")
    return float(lo), float(hi)


def _method(method: str) -> str:
    if method not in METHODS:
        raise InvalidParameterError(f"unknown BD method {method!r}; use one of: {', '.join(METHODS)}")
    return method


def bd_psnr(rate_anchor, psnr_anchor, rate_test, psnr_test, *, method: str = "cubic") -> float:
    """Mean PSNR gain (dB) of the test curve over the anchor at equal rate (overlap only)."""
    method = _method(method)
    xa, ya = _curve(rate_anchor, psnr_anchor, "anchor")
    xt, yt = _curve(rate_test, psnr_test, "test")
    _check(xa, "anchor", method)
    _check(xt, "test", method)
    lo, hi = _overlap(xa, xt, "rates")
    return (_integral(xt, yt, lo, hi, method) - _integral(xa, ya, lo, hi, method)) / (hi - lo)


def bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test, *, method: str = "cubic") -> float:
    """Mean rate change (%) of the test curve against the anchor at equal PSNR (overlap only)."""
    method = _method(method)
    xa, ya = _curve(rate_anchor, psnr_anchor, "anchor")
    xt, yt = _curve(rate_test, psnr_test, "test")
    _check(ya, "anchor", method)
    _check(yt, "test", method)
    lo, hi = _overlap(ya, yt, "PSNRs")
    d = (_integral(yt, xt, lo, hi, method) - _integral(ya, xa, lo, hi, method)) / (hi - lo)
    return (math.pow(10.0, d) - 1.0) * 100.0
