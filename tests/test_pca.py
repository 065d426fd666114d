"""PCA codec: KLT properties, rate control within 3 %, fixed component counts, real-cube behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from hsibench import codecs, metrics
from hsibench.codecs.transform.pca import klt
from hsibench.errors import InvalidParameterError, InvalidRateError

from .conftest import make_cube, shared_cube


def test_klt_diagonalises_covariance():
    x = make_cube(16, 16, 8).reshape(-1, 8).astype(float)
    mean, vals, vecs = klt(x)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(8), atol=1e-10)
    y = (x - mean) @ vecs
    cov = y.T @ y / len(y)
    np.testing.assert_allclose(cov, np.diag(vals), atol=1e-6 * vals[0])
    assert np.all(np.diff(vals) <= 0)


@pytest.mark.parametrize("rate", [0.5, 1.0, 2.0, 4.0])
def test_rate_within_three_percent(rate):
    cube = make_cube(32, 32, 16)
    data = codecs.get("pca").encode(cube, bpppb=rate)
    achieved = metrics.bpppb(len(data), cube.shape)
    assert 0.995 * rate <= achieved <= rate


def test_fixed_components_and_parameter_errors():
    cube = make_cube(32, 32, 16)
    codec = codecs.get("pca[components=2]")
    codec.encode(cube, bpppb=1.0)
    assert codec.info["components"] == 2
    with pytest.raises(InvalidParameterError):
        codecs.get("pca[components=-1]")
    with pytest.raises(InvalidParameterError):
        codecs.get("pca[blocks=3]")


def test_rate_below_minimum_says_so():
    with pytest.raises(InvalidRateError, match="smallest pca stream"):
        codecs.get("pca").encode(make_cube(8, 8, 16), bpppb=0.05)


def test_float_cube_round_trip():
    cube = make_cube(20, 20, 10, dtype=np.float32) / 1000.0
    codec = codecs.get("pca")
    out = codec.decode(codec.encode(cube, bpppb=4.0))
    assert metrics.psnr(cube, out, data_range=metrics.data_range_of(cube)) > 40


def test_jasper_ridge_rates_and_monotone_quality():
    cube = shared_cube("jasper_ridge")
    codec = codecs.get("pca")
    fresh = codecs.get("pca")
    r = metrics.data_range_of(cube)
    psnrs = []
    for rate in (0.25, 0.5, 1.0, 2.0):
        data = codec.encode(cube, bpppb=rate)
        assert 0.995 * rate <= metrics.bpppb(len(data), cube.shape) <= rate
        psnrs.append(metrics.psnr(cube, fresh.decode(data), data_range=r))
    assert all(b > a for a, b in zip(psnrs, psnrs[1:])), psnrs
