"""Bjøntegaard deltas against hand-computed cases (exact relations between curves)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hsibench.bd import bd_psnr, bd_rate
from hsibench.errors import InvalidParameterError

RATES = np.array([0.1, 0.25, 0.5, 1.0, 2.0])


def anchor_psnr(r):
    return 30.0 + 20.0 * np.log10(r) + 1.5 * np.log10(r) ** 2  # a concave-ish smooth RD curve


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_one_db_offset(method):
    q = anchor_psnr(RATES)
    assert bd_psnr(RATES, q, RATES, q + 1.0, method=method) == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(RATES, q, RATES, q, method=method) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_rates_scaled_by_0_9_is_minus_10_percent(method):
    q = anchor_psnr(RATES)
    assert bd_rate(RATES, q, 0.9 * RATES, q, method=method) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(RATES, q, 1.25 * RATES, q, method=method) == pytest.approx(25.0, abs=1e-9)


def test_offset_on_a_straight_line_in_rate():
    # PSNR = 30 + 20 log10 r; +1 dB moves the curve by -1/20 decade: 10**-0.05 - 1 = -10.87 %
    q = 30 + 20 * np.log10(RATES)
    assert bd_rate(RATES, q, RATES, q + 1, method="cubic") == pytest.approx((10 ** -0.05 - 1) * 100, abs=1e-9)


def test_only_the_overlap_counts():
    # anchor 30 + 20x over x in [-1, 1]; test 30 + 25x over x in [0, 2]: overlap x in [0, 1],
    # mean gap = integral of 5x over [0, 1] = 2.5 dB (over the union it would differ)
    ra = np.logspace(-1, 1, 6)
    rt = np.logspace(0, 2, 6)
    got = bd_psnr(ra, 30 + 20 * np.log10(ra), rt, 30 + 25 * np.log10(rt))
    assert got == pytest.approx(2.5, abs=1e-9)


def test_bad_inputs():
    q = anchor_psnr(RATES)
    with pytest.raises(InvalidParameterError, match="at least 4"):
        bd_psnr(RATES[:3], q[:3], RATES, q)
    assert math.isfinite(bd_psnr(RATES[:3], q[:3], RATES, q, method="pchip"))
    with pytest.raises(InvalidParameterError, match="overlap"):
        bd_psnr(RATES, q, RATES * 100, q)
    with pytest.raises(InvalidParameterError, match="method"):
        bd_rate(RATES, q, RATES, q, method="linear")
    # a lossless point (infinite PSNR) is dropped, not integrated
    qi = np.append(q, np.inf)
    assert bd_psnr(np.append(RATES, 8.0), qi, RATES, q + 1) == pytest.approx(1.0)
