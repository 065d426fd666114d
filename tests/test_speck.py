"""3D-SPECK: rate control, embedding, options, bad input, and quality against QccPack 0.61."""

from __future__ import annotations


import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs import base
from hsibench.errors import CorruptDataError, InvalidParameterError, InvalidRateError

from .conftest import make_cube, shared_cube, psnr_of as psnr


@pytest.fixture(scope="module")
def cube():
    return make_cube(24, 20, 16, seed=3)


@pytest.mark.parametrize("rate", [0.15, 0.3, 1.0, 3.0])
@pytest.mark.parametrize("ac", [True, False])
def test_hits_the_byte_budget(cube, rate, ac):
    data = codecs.get("speck", ac=ac).encode(cube, bpppb=rate)
    budget = base.budget_bytes(rate, cube.shape)
    assert budget - 32 <= len(data) <= budget


@pytest.mark.parametrize("spec", ["speck", "speck[ac=false,kind=dyadic]"])
def test_every_prefix_decodes_and_quality_never_falls(cube, spec):
    codec = codecs.get(spec)
    full = codec.encode(cube, bpppb=2.0)
    header = base.header_size("speck", cube.shape, cube.dtype, base.unpack(full)[0].params)
    sizes = np.linspace(header, len(full), 25).astype(int)
    psnrs = [psnr(cube, codec.decode(codecs.truncate(full, int(n)))) for n in sizes]
    assert all(b >= a for a, b in zip(psnrs, psnrs[1:])), psnrs
    assert psnrs[-1] == pytest.approx(psnr(cube, codec.decode(full)))
    # a prefix is about as good as encoding at that rate directly
    low = codec.encode(cube, bpppb=0.5)
    cut = codecs.truncate(full, len(low))
    assert abs(psnr(cube, codec.decode(cut)) - psnr(cube, codec.decode(low))) < 0.05


def test_raw_truncation_is_rejected(cube):
    data = codecs.get("speck").encode(cube, bpppb=1.0)
    for n in (len(data) - 1, len(data) // 2):
        with pytest.raises(CorruptDataError, match="truncate"):
            codecs.get("speck").decode(data[:n])


def test_header_only_prefix_gives_the_mean(cube):
    codec = codecs.get("speck")
    data = codec.encode(cube, bpppb=1.0)
    header = base.unpack(data)[0]
    empty = codecs.truncate(data, base.header_size("speck", cube.shape, cube.dtype, header.params))
    out = codec.decode(empty)
    np.testing.assert_allclose(out, cube.mean(), rtol=1e-5)  # the stored mean has 6 digits


@pytest.mark.parametrize("spec", ["speck[ac=false]", "speck[kind=dyadic]", "speck[spectral_levels=0,spatial_levels=0]",
                                  "speck[kind=dyadic,spectral_levels=1,spatial_levels=3]"])
def test_options_round_trip_and_improve_with_rate(cube, spec):
    codec = codecs.get(spec)
    p = [psnr(cube, codec.decode(codec.encode(cube, bpppb=r))) for r in (0.25, 1.0, 4.0)]
    assert p[0] < p[1] < p[2]
    assert p[0] > 12  # (no transform at all is poor at 0.25 bpppb, but must still work)


def test_arithmetic_coding_beats_raw_bits(cube):
    for rate in (0.25, 1.0):
        ac = psnr(cube, codecs.get("speck").decode(codecs.get("speck").encode(cube, bpppb=rate)))
        raw = psnr(cube, codecs.get("speck").decode(codecs.get("speck[ac=false]").encode(cube, bpppb=rate)))
        assert ac > raw


def test_high_rate_is_near_lossless(cube):
    out = codecs.get("speck").decode(codecs.get("speck").encode(cube, bpppb=12.0))
    assert np.abs(out - cube).max() < 0.5


@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 1, 64), (1, 90, 1), (33, 17, 1), (3, 2, 40)])
def test_odd_and_degenerate_shapes(shape):
    x = make_cube(*shape, seed=1, dtype=np.float32) - 900.0
    codec = codecs.get("speck")
    out = codec.decode(codec.encode(x, bpppb=24.0))
    assert out.shape == x.shape
    assert np.abs(out - x).max() <= 0.02 * (float(x.max()) - float(x.min())) + 1e-3


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8, np.uint8, np.int32, np.uint32, np.int64])
def test_any_numeric_dtype(dtype):
    x = make_cube(12, 10, 8, seed=1, dtype=np.float64)
    x = (x / 20).astype(dtype) if np.dtype(dtype).itemsize == 1 else x.astype(dtype)
    codec = codecs.get("speck")
    out = codec.decode(codec.encode(x, bpppb=6.0))
    assert psnr(x, out) > 40


def test_non_contiguous_input(cube):
    x = cube[::-1, :, ::2]
    codec = codecs.get("speck")
    np.testing.assert_array_equal(codec.decode(codec.encode(x, bpppb=1.0)),
                                  codec.decode(codec.encode(np.ascontiguousarray(x), bpppb=1.0)))


def test_constant_zero_and_constant_band_cubes(cube):
    codec = codecs.get("speck")
    zero = np.zeros((10, 12, 8), np.uint16)
    assert np.all(codec.decode(codec.encode(zero, bpppb=2.0)) == 0)
    const = np.full((10, 12, 8), -3.25, np.float64)
    assert np.all(codec.decode(codec.encode(const, bpppb=2.0)) == np.float32(-3.25))
    banded = cube.copy()
    banded[:, :, 5] = 0
    banded[:, :, 6] = 4000
    out = codec.decode(codec.encode(banded, bpppb=2.0))
    assert psnr(banded, out) > 40


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_extreme_magnitudes(scale):
    x = (make_cube(12, 10, 8, seed=2).astype(np.float64) - 1000.0) * scale
    codec = codecs.get("speck")
    assert psnr(x, codec.decode(codec.encode(x, bpppb=4.0))) > 30


def test_scale_beyond_float64_exponent_range():
    """Subnormal-scale data: the quantiser scale 2**(30 - exp) is above the float64 range."""
    x = (make_cube(12, 10, 8, seed=2).astype(np.float64) - 1000.0) * 1e-305
    codec = codecs.get("speck")
    data = codec.encode(x, bpppb=4.0)
    assert base.unpack(data)[0].params["exp"] < -1000
    out = codec.decode(data)  # float32 output flushes these to zero, but nothing overflows
    assert np.isfinite(out).all()


def test_same_bytes_and_decoder_needs_only_bytes(cube):
    a = codecs.get("speck[kind=dyadic,ac=false]").encode(cube, bpppb=0.7)
    b = codecs.get("speck[kind=dyadic,ac=false]").encode(cube, bpppb=0.7)
    assert a == b
    np.testing.assert_array_equal(codecs.get("speck").decode(a), codecs.get("speck[kind=dyadic]").decode(b))


def test_too_many_levels_names_the_largest(cube):
    with pytest.raises(InvalidParameterError, match=r"spectral_levels=4, spatial_levels=5"):
        codecs.get("speck[spectral_levels=9]").encode(cube, bpppb=1.0)
    with pytest.raises(InvalidParameterError):
        codecs.get("speck[kind=wavelet]")
    with pytest.raises(InvalidRateError, match="header"):
        codecs.get("speck").encode(cube, bpppb=0.001)


def _repack(data, **changes):
    header, payload = base.unpack(data)
    params = dict(header.params, **changes)
    return base.pack("speck", header.shape, header.dtype, params, payload)


@pytest.mark.parametrize(
    "changes",
    [dict(exp=5000), dict(exp="x"), dict(sl=40), dict(tl=-1), dict(kind="haar"), dict(ac=3), dict(mean=None),
     dict(lo=5, hi=1)],
)
def test_bad_header_parameters_are_rejected(cube, changes):
    data = codecs.get("speck").encode(cube, bpppb=0.5)
    with pytest.raises(CorruptDataError):
        codecs.get("speck").decode(_repack(data, **changes))


@pytest.mark.parametrize("ac", [True, False])
def test_random_payload_with_valid_container_cannot_crash(cube, ac):
    data = codecs.get("speck", ac=ac).encode(cube, bpppb=0.5)
    header, payload = base.unpack(data)
    rng = np.random.default_rng(5)
    for n in (len(payload), 3 * len(payload)):
        junk = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        out = codecs.get("speck").decode(base.pack("speck", header.shape, header.dtype, header.params, junk))
        assert out.shape == cube.shape and np.isfinite(out).all()


# Published reference: QccPack 0.61 3D-SPECK, packet 4 spectral + 3 spatial levels, CDF 9/7,
# PSNR with data_range = max - min (../shared/data/README.md).  Bar: at most 0.3 dB below.
QCC = {
    ("paviaU_sub50x50", 0.25): 41.66,
    ("paviaU_sub50x50", 1.0): 51.03,
    ("indian_pines_sub85x70", 0.1): 38.26,
    ("indian_pines_sub85x70", 0.5): 45.27,
}


@pytest.mark.parametrize("name,rate", sorted(QCC))
def test_quality_matches_qccpack_reference(name, rate):
    x = shared_cube(name)
    codec = codecs.get("speck[spectral_levels=4,spatial_levels=3]")
    data = codec.encode(x, bpppb=rate)
    assert len(data) <= base.budget_bytes(rate, x.shape)
    assert psnr(x, codec.decode(data)) >= QCC[(name, rate)] - 0.3
