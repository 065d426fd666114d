"""The 3-D CDF 9/7 transform: agreement with PyWavelets, perfect reconstruction, layouts, levels."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from hsibench.codecs.wavelet import dwt as W
from hsibench.errors import InvalidParameterError


def _dwt1(x: np.ndarray) -> np.ndarray:
    v = np.array(x, dtype=np.float64)[:, None, None]
    W._lift_fwd0(v)
    return v[:, 0, 0]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9, 33, 64])
def test_lifting_equals_pywavelets_bior44_whole_sample_symmetric(n):
    """The reference is PyWavelets' own bior4.4 filter bank with 'reflect' (whole-sample
    symmetric) extension: its outputs are longer than the input, and our non-expansive
    coefficients are exactly its entries 2 .. 2+ceil(n/2) (low) and 2 .. 2+floor(n/2) (high)."""
    x = np.random.default_rng(n).normal(size=n) * 100
    ours = _dwt1(x)
    ca, cd = pywt.dwt(x, W.WAVELET, mode="reflect")
    ns = (n + 1) // 2
    np.testing.assert_allclose(ours[:ns], ca[2 : 2 + ns], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours[ns:], cd[2 : 2 + n // 2], rtol=0, atol=1e-9)


def test_interior_equals_periodic_filter_bank():
    """Away from the ends the extension does not matter: periodic pywt gives the same numbers."""
    x = np.random.default_rng(3).normal(size=64)
    ours = _dwt1(x)
    ca, cd = pywt.dwt(x, W.WAVELET, mode="periodization")
    np.testing.assert_allclose(ours[4:28], ca[4:28], atol=1e-9)
    np.testing.assert_allclose(ours[36:60], cd[4:28], atol=1e-9)


def test_filters_come_from_pywavelets():
    lo, hi = W.analysis_filters()
    assert lo.sum() == pytest.approx(np.sqrt(2))
    assert hi.sum() == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("kind", W.KINDS)
@pytest.mark.parametrize("shape", [(16, 24, 20), (17, 13, 9), (33, 31, 30), (1, 7, 8), (5, 3, 2), (2, 2, 2), (1, 1, 1)])
def test_perfect_reconstruction(kind, shape):
    x = np.random.default_rng(1).normal(size=shape) * 1000 + 500
    c, layout = W.forward(x, kind)
    assert c.shape == x.shape and c.dtype == np.float64
    np.testing.assert_allclose(W.inverse(c, layout), x, rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", W.KINDS)
@pytest.mark.parametrize("levels", [(0, 0), (1, 0), (0, 2), (3, 1), (4, 3)])
def test_subbands_tile_the_array_once(kind, levels):
    shape = (37, 21, 26)
    layout = W.make_layout(shape, kind, *levels)
    count = np.zeros(shape, dtype=int)
    for z0, z1, y0, y1, x0, x1 in layout.subbands:
        assert z1 > z0 and y1 > y0 and x1 > x0
        count[z0:z1, y0:y1, x0:x1] += 1
    assert (count == 1).all()
    L, S = levels
    if kind == "packet":
        assert layout.n_subbands == (L + 1) * (3 * S + 1)
    x = np.random.default_rng(2).normal(size=shape)
    c, lay2 = W.forward(x, kind, *levels)
    assert lay2 == layout
    np.testing.assert_allclose(W.inverse(c, layout), x, atol=1e-9)


def test_lowest_subband_holds_the_dc():
    x = np.full((16, 16, 16), 7.0)
    c, layout = W.forward(x, "packet", 2, 2)
    z0, z1, y0, y1, x0, x1 = layout.subbands[0]
    energy = (c**2).sum()
    assert (c[z0:z1, y0:y1, x0:x1] ** 2).sum() == pytest.approx(energy)
    # near-orthonormal scaling: energy close to the input's
    assert energy == pytest.approx((x**2).sum(), rel=0.05)


def test_packet_structure_matches_reference_settings():
    layout = W.make_layout((198, 100, 100), "packet", 4, 3)
    assert layout.n_subbands == 5 * 10
    assert layout.subbands[0] == (0, 13, 0, 13, 0, 13)
    assert layout.subbands[-1] == (99, 198, 50, 100, 50, 100)


def test_level_choice_and_errors():
    assert W.max_levels((16, 24, 20), "packet") == (4, 5)
    assert W.choose_levels((198, 100, 100), "packet", 4, 3) == (4, 3)
    sl, tl = W.choose_levels((24, 20, 16)[::-1], "packet")
    assert sl >= 1 and tl >= 1
    with pytest.raises(InvalidParameterError, match=r"spectral_levels=4, spatial_levels=5"):
        W.choose_levels((16, 24, 20), "packet", spectral_levels=5)
    with pytest.raises(InvalidParameterError, match="largest valid"):
        W.forward(np.zeros((4, 4, 4)), "dyadic", 1, 3)
    with pytest.raises(InvalidParameterError):
        W.forward(np.zeros((4, 4, 4)), "haar")
    for bad in (-1, 1.5, "x", True):
        with pytest.raises(InvalidParameterError):
            W.choose_levels((8, 8, 8), "packet", spectral_levels=bad)


@pytest.mark.parametrize("kind,levels", [("packet", (3, 2)), ("dyadic", (2, 3)), ("packet", (1, 0))])
@pytest.mark.parametrize("shape", [(19, 14, 11), (8, 1, 33), (40, 9, 6)])
def test_numba_kernels_equal_numpy_reference(kind, levels, shape):
    x = np.random.default_rng(4).normal(size=shape) * 300
    layout = W.make_layout(shape, kind, *(min(l, m) for l, m in zip(levels, W.max_levels(shape, kind))))
    fast, ref = x.copy(), x.copy()
    W.forward_inplace(fast, layout)
    W.forward_inplace(ref, layout, impl="numpy")
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9)
    W.inverse_inplace(fast, layout)
    W.inverse_inplace(ref, layout, impl="numpy")
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast, x, rtol=0, atol=1e-8)
    serial = x.copy()  # the single-thread kernels run the same arithmetic: equal bits
    W.forward_inplace(serial, layout, impl="serial")
    W.forward_inplace(x, layout)
    assert np.array_equal(serial, x)
    W.inverse_inplace(serial, layout, impl="serial")
    W.inverse_inplace(x, layout)
    assert np.array_equal(serial, x)


def test_in_place_needs_a_float64_c_array():
    layout = W.make_layout((4, 4, 4), "packet", 1, 1)
    with pytest.raises(InvalidParameterError):
        W.forward_inplace(np.zeros((4, 4, 4), np.float32), layout)
    with pytest.raises(InvalidParameterError):
        W.forward_inplace(np.zeros((4, 4, 5)), layout)


@pytest.mark.parametrize("name", ["speck", "spiht"])
@pytest.mark.parametrize("dtype", [">u2", ">f4", "f2", "i1"])
def test_any_byte_order_and_width_codes_the_values(name, dtype):
    """Big-endian and half-float cubes (which numba kernels cannot read directly) give the
    payload of the same values in a native dtype the kernels can read (dwt.band_major)."""
    from hsibench import codecs
    from hsibench.codecs.base import unpack

    from .conftest import make_cube

    cube = make_cube()
    cube = (cube % 100).astype(dtype) if dtype == "i1" else cube.astype(dtype)
    native = cube.astype(np.float32 if dtype == "f2" else cube.dtype.newbyteorder("="))
    codec = codecs.get(name)
    assert unpack(codec.encode(cube, bpppb=2.0))[1] == unpack(codec.encode(native, bpppb=2.0))[1]
