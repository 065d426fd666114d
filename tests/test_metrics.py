"""Metrics against hand-computed values and against scikit-image where they overlap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import mean_squared_error as sk_mse
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from hsibench import metrics
from hsibench.errors import InvalidCubeError

from .conftest import make_cube


def test_hand_computed_values():
    x = np.zeros((2, 2, 2))
    y = x.copy()
    y[0, 0, 0] = 2.0  # one error of 2 in 8 voxels -> MSE 0.5
    assert metrics.mse(x, y) == 0.5
    assert metrics.psnr(x, y, data_range=2.0) == pytest.approx(10 * math.log10(4 / 0.5))
    assert metrics.max_abs_error(x, y) == 2.0
    # band 0 has MSE 1 (4 pixels, one error 2 -> 4/4), band 1 is exact
    bp = metrics.band_psnr(x, y, data_range=2.0)
    assert bp[0] == pytest.approx(10 * math.log10(4.0)) and bp[1] == math.inf


def test_paper_psnr_on_normalised_data():
    # data in [-1, 1]: the default peak max-min is 2, so PSNR = 10 log10(2^2 / MSE) (Deng et al.)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 8, 4))
    x[0, 0, 0], x[0, 0, 1] = -1.0, 1.0
    y = x + 0.01
    assert metrics.data_range_of(x) == 2.0
    assert metrics.psnr(x, y, data_range=metrics.data_range_of(x)) == pytest.approx(10 * math.log10(4 / 1e-4))


def test_snr_and_sam_hand_computed():
    x = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two pixels, two bands
    y = np.array([[[1.0, 1.0]], [[0.0, 1.0]]])  # first pixel rotated by 45 degrees
    assert metrics.sam(x, y) == pytest.approx(22.5)
    # var(x) = 0.25, MSE = 1/4 -> SNR 0 dB
    assert metrics.snr(x, y) == pytest.approx(0.0)
    assert metrics.sam(np.zeros((1, 1, 3)), np.zeros((1, 1, 3))) == 0.0


def test_against_scikit_image():
    x = make_cube(30, 28, 5).astype(np.float64)
    rng = np.random.default_rng(3)
    y = x + rng.normal(0, 20, x.shape)
    r = float(x.max() - x.min())
    assert metrics.mse(x, y) == pytest.approx(sk_mse(x, y), rel=1e-12)
    assert metrics.psnr(x, y, data_range=r) == pytest.approx(sk_psnr(x, y, data_range=r), rel=1e-12)
    assert metrics.ssim(x, y, data_range=r) == pytest.approx(sk_ssim(x, y, data_range=r, channel_axis=-1), rel=1e-9)


def test_entropy_eq3():
    assert metrics.entropy(np.full((3, 3, 3), 7)) == 0.0
    x = np.zeros((2, 2, 1))
    x[0, 0, 0] = 1.0  # levels: three 0s and one 255
    p = np.array([0.75, 0.25])
    assert metrics.entropy(x) == pytest.approx(-(p * np.log2(p)).sum())
    uniform = np.arange(256, dtype=float).reshape(16, 16, 1)
    assert metrics.entropy(uniform) == pytest.approx(8.0)


def test_rate_and_ratio():
    assert metrics.bpppb(1000, (10, 10, 10)) == 8.0
    assert metrics.compression_ratio(0.5, 16) == 32.0


def test_evaluate_and_shape_mismatch():
    x = make_cube(10, 10, 4)
    out = metrics.evaluate(x, x.astype(np.float32), native_bits=16, with_band_psnr=True)
    assert out["mse"] == 0 and out["psnr"] == math.inf and out["ssim"] == pytest.approx(1.0)
    with pytest.raises(InvalidCubeError):
        metrics.mse(x, x[:5])
