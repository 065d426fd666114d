"""3D-SPIHT: tree structure, exact rate, embedding, odd sizes, bad streams, real-cube quality."""

from __future__ import annotations

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs import truncate
from hsibench.codecs.wavelet import dwt as _wavelet
from hsibench.codecs.wavelet import _spiht_kernels as K
from hsibench.codecs.base import budget_bytes, pack, unpack
from hsibench.codecs.wavelet.spiht import build_tree
from hsibench.errors import CorruptDataError, InvalidParameterError, InvalidRateError

from .conftest import make_cube, shared_cube, psnr_of as _psnr


# ------------------------------------------------------------------------------------------
# The tree
# ------------------------------------------------------------------------------------------

TREE_CASES = [
    ((16, 24, 20), 2, 2),
    ((13, 7, 9), 3, 2),  # odd everywhere: orphan adoption
    ((6, 6, 6), 2, 2),  # 6 -> 3 -> 2: a high band of 3 under a high band of 1
    ((17, 33, 10), 4, 1),  # unequal level counts
    ((5, 9, 9), 1, 3),
    ((1, 5, 3), 0, 1),
    ((4, 1, 1), 2, 0),
    ((1, 1, 1), 0, 0),
]


@pytest.mark.parametrize("kind", ["packet", "dyadic"])
@pytest.mark.parametrize("shape,sl,tl", TREE_CASES)
def test_tree_is_a_spanning_forest_over_the_layout(kind, shape, sl, tl):
    """Boxes equal the transform's subbands; every non-root coefficient has exactly one parent."""
    tree = build_tree(shape, kind, sl, tl)
    layout = _wavelet.make_layout(shape, kind, sl, tl)

    def nonempty(boxes):
        return sorted(b for b in boxes if (b[1] - b[0]) * (b[3] - b[2]) * (b[5] - b[4]) > 0)

    assert nonempty(tree.boxes) == nonempty(layout.subbands)
    zint, yint, xint, boxmap = tree.arrays[:4]
    label = boxmap[zint[:, None, None], yint[None, :, None], xint[None, None, :]]
    for b, (z0, z1, y0, y1, x0, x1) in enumerate(tree.boxes):
        assert (label[z0:z1, y0:y1, x0:x1] == b).all()
    nz, ny, nx = shape
    parents = np.zeros(nz * ny * nx, dtype=np.int64)
    out = np.empty(K.MAX_CHILDREN, dtype=np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                n = K._children(tree.arrays, ny, nx, z, y, x, int(label[z, y, x]), out)
                np.add.at(parents, out[:n], 1)
    roots = (label == tree.root).ravel()
    assert (parents[roots] == 0).all()
    assert (parents[~roots] == 1).all()


@pytest.mark.parametrize("kind", ["packet", "dyadic"])
@pytest.mark.parametrize("shape,sl,tl", TREE_CASES)
def test_structure_pushed_box_by_box_matches_the_tree_walk(kind, shape, sl, tl):
    """``structure`` (children push into their parent, box by box) finds the children and
    grandchildren :func:`_children` (gathered per coefficient) finds, on every tree case."""
    tree = build_tree(shape, kind, sl, tl)
    n = int(np.prod(shape))
    kinds, ccls = np.empty(n, np.int8), np.empty(n, np.uint8)
    dummy = np.zeros(1, np.int8)
    K.structure(tree.arrays, tree.order, *shape, dummy, dummy, dummy, kinds, ccls, False)
    zint, yint, xint, boxmap = tree.arrays[:4]
    out = np.empty(K.MAX_CHILDREN, dtype=np.int64)
    nkids = np.zeros(n, dtype=np.int64)
    kids = {}
    for i in range(n):
        z, y, x = np.unravel_index(i, shape)
        c = K._children(tree.arrays, shape[1], shape[2], z, y, x, int(boxmap[zint[z], yint[y], xint[x]]), out)
        nkids[i] = c
        kids[i] = out[:c].copy()
    want = np.array([0 if nkids[i] == 0 else (2 if (nkids[kids[i]] > 0).any() else 1) for i in range(n)])
    np.testing.assert_array_equal(kinds, want)


def test_set_significance_bits_match_a_direct_computation():
    """``dbits``/``lbits`` (the set maxima SPIHT tests) agree with a walk over the descendants."""
    shape = (9, 10, 7)
    tree = build_tree(shape, "packet", 2, 2)
    rng = np.random.default_rng(3)
    mag = (rng.integers(0, 1 << 12, np.prod(shape)) >> rng.integers(0, 12, np.prod(shape))).astype(np.int32)
    mb = np.frexp(mag)[1].astype(np.int8)
    n = mag.size
    dbits, lbits, kind = (np.empty(n, np.int8) for _ in range(3))
    ccls = np.empty(n, np.uint8)
    K.structure(tree.arrays, tree.order, *shape, mb, dbits, lbits, kind, ccls, True)
    zint, yint, xint, boxmap = tree.arrays[:4]
    out = np.empty(K.MAX_CHILDREN, dtype=np.int64)

    def children(i):
        z, y, x = np.unravel_index(i, shape)
        c = K._children(tree.arrays, shape[1], shape[2], z, y, x, int(boxmap[zint[z], yint[y], xint[x]]), out)
        return list(out[:c])

    for i in range(n):
        kids = children(i)
        desc, stack = [], list(kids)
        while stack:
            k = stack.pop()
            desc.append(k)
            stack += children(k)
        grand = [d for d in desc if d not in kids]
        assert dbits[i] == (int(mag[desc].max()).bit_length() if desc else 0)
        assert lbits[i] == (int(mag[grand].max()).bit_length() if grand else 0)
        assert kind[i] == (0 if not kids else (2 if grand else 1))
        z, y, x = np.unravel_index(i, shape)
        assert ccls[i] == tree.arrays[9][boxmap[zint[z], yint[y], xint[x]]]


# ------------------------------------------------------------------------------------------
# Rate, embedding, round trips
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["spiht", "spiht[ac=false]", "spiht[kind=dyadic]", "spiht[kind=dyadic,ac=false]"])
def test_exact_budget_and_rising_quality(spec):
    cube = make_cube()
    codec = codecs.get(spec)
    psnrs = []
    for rate in (0.25, 0.5, 1.0, 2.0, 4.0):
        data = codec.encode(cube, bpppb=rate)
        assert len(data) == budget_bytes(rate, cube.shape)  # the whole container hits the budget
        psnrs.append(_psnr(cube, codec.decode(data)))
    assert all(b > a for a, b in zip(psnrs, psnrs[1:])), psnrs


@pytest.mark.parametrize("ac", [True, False])
def test_prefixes_decode_like_direct_encodes_and_quality_never_falls(ac):
    """A prefix of a stream is the stream the encoder writes at that budget; PSNR grows with it."""
    cube = make_cube(rows=19, cols=23, bands=11, seed=4)
    codec = codecs.get("spiht", ac=ac)
    full = codec.encode(cube, bpppb=3.0)
    hdr = len(full) - unpack(full)[0].payload_size
    prev = -np.inf
    for nbytes in np.unique(np.linspace(hdr, len(full), 60).astype(int)):
        out = codec.decode(truncate(full, int(nbytes)))
        p = _psnr(cube, out) if np.any(out) else -np.inf
        assert p >= prev - 1e-9, (nbytes, p, prev)
        prev = p
    for rate in (0.3, 1.1):
        direct = codec.encode(cube, bpppb=rate)
        cut = truncate(full, len(direct))  # payloads differ after the stop point, decodes do not
        np.testing.assert_array_equal(codec.decode(cut), codec.decode(direct))


def test_same_bytes_and_decode_from_bytes_alone():
    cube = make_cube(seed=2)
    a = codecs.get("spiht[spectral_levels=3,spatial_levels=2]").encode(cube, bpppb=1.0)
    b = codecs.get("spiht[spectral_levels=3,spatial_levels=2]").encode(cube, bpppb=1.0)
    assert a == b
    described = codecs.get("spiht").describe_stream(a)
    assert described["spectral_levels"] == 3 and described["spatial_levels"] == 2 and described["ac"] is True
    np.testing.assert_array_equal(codecs.get("spiht").decode(a), codecs.get("spiht[ac=false]").decode(a))


@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 1, 60), (2, 30, 1), (5, 1, 17), (31, 17, 9), (3, 40, 2)])
@pytest.mark.parametrize("kind", ["packet", "dyadic"])
def test_odd_and_tiny_shapes_round_trip(shape, kind):
    rng = np.random.default_rng(5)
    cube = rng.normal(1000, 50, shape)
    codec = codecs.get("spiht", kind=kind)
    data = codec.encode(cube, bpppb=64.0)  # the most a float64 cube allows: room for many planes
    assert len(data) <= budget_bytes(64.0, shape)
    out = codec.decode(data)
    assert out.shape == shape and np.isfinite(out).all()
    assert np.abs(out - cube).max() < 1.0


def test_a_cube_too_small_for_the_header_is_a_rate_error():
    with pytest.raises(InvalidRateError):
        codecs.get("spiht").encode(np.ones((1, 1, 1)), bpppb=64.0)


@pytest.mark.parametrize("ac", [True, False])
def test_complete_stream_decodes_every_plane(ac):
    """When the budget outlasts all bit planes the decoder gets every decision, to 2^-30 of the peak."""
    rng = np.random.default_rng(9)
    cube = rng.normal(0.0, 100.0, (3, 4, 5))
    codec = codecs.get("spiht", ac=ac)
    data = codec.encode(cube, bpppb=64.0)
    assert codec.info["truncated"] is False
    out = codec.decode(data).astype(np.float64)
    coarse = codec.decode(truncate(data, len(data) - 2)).astype(np.float64)
    assert np.abs(out - cube).max() < 1e-5 * np.abs(cube).max()  # float32 output
    assert np.abs(out - cube).max() <= np.abs(coarse - cube).max()


def test_constant_zero_and_float_cubes():
    codec = codecs.get("spiht")
    zero = np.zeros((9, 8, 7), dtype=np.uint16)
    np.testing.assert_array_equal(codec.decode(codec.encode(zero, bpppb=4.0)), 0.0)
    const = np.full((9, 8, 7), 4321, dtype=np.uint16)
    assert np.abs(codec.decode(codec.encode(const, bpppb=4.0)) - 4321).max() < 0.5
    small = (make_cube(dtype=np.float64) / 1e6).astype(np.float32)  # values around 1e-3
    out = codec.decode(codec.encode(small, bpppb=4.0))
    assert _psnr(small, out) > 40.0


@pytest.mark.parametrize("scale", [1e-305, 1e-310, 1e30])  # outputs are float32: at most ~3e38
def test_extreme_magnitudes(scale):
    """Data far from unit scale (down to float64 subnormals): no overflow, the right magnitude."""
    rng = np.random.default_rng(8)
    cube = rng.normal(0.0, 1.0, (9, 8, 16)) * scale
    codec = codecs.get("spiht")
    out = codec.decode(codec.encode(cube, bpppb=16.0)).astype(np.float64)
    assert np.isfinite(out).all()
    if scale > 1e-300:  # the float32 output flushes the subnormal ones to zero
        assert np.abs(out - cube).max() < 0.01 * np.abs(cube).max()


def test_negative_values():
    cube = make_cube().astype(np.float32) - 1000.0
    codec = codecs.get("spiht")
    assert _psnr(cube, codec.decode(codec.encode(cube, bpppb=2.0))) > 45.0


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


def test_too_many_levels_names_the_largest_valid_counts():
    with pytest.raises(InvalidParameterError, match="largest valid counts"):
        codecs.get("spiht[spectral_levels=9]").encode(make_cube(), bpppb=1.0)
    with pytest.raises(InvalidParameterError):
        codecs.get("spiht[kind=wavelet]")
    with pytest.raises(InvalidParameterError):
        codecs.get("spiht[spatial_levels=-1]")


def test_rate_below_the_header_is_rejected():
    cube = make_cube(rows=4, cols=4, bands=4)
    with pytest.raises(InvalidRateError):
        codecs.get("spiht").encode(cube, bpppb=0.1)


def _repack(data: bytes, **changes) -> bytes:
    header, payload = unpack(data)
    params = dict(header.params, **changes)
    return pack(header.codec, header.shape, header.dtype, params, payload)


@pytest.mark.parametrize(
    "changes",
    [{"t": 31}, {"t": -2}, {"e": 5000}, {"e": -1100}, {"e": -995}, {"l": [40, 3]}, {"l": [2, -1]}, {"l": [2]}, {"k": "wavelet"}, {"ac": 3},
     {"l": ["2", 2]}, {"r": [5, 1]}, {"m": "x"}, {"r": None}],
)
def test_crc_valid_but_impossible_header_is_rejected(changes):
    codec = codecs.get("spiht")
    data = codec.encode(make_cube(), bpppb=1.0)
    with pytest.raises(CorruptDataError):
        codec.decode(_repack(data, **changes))


def test_missing_header_fields_rejected():
    codec = codecs.get("spiht")
    data = codec.encode(make_cube(), bpppb=1.0)
    header, payload = unpack(data)
    params = {k: v for k, v in header.params.items() if k != "t"}
    with pytest.raises(CorruptDataError):
        codec.decode(pack(header.codec, header.shape, header.dtype, params, payload))


@pytest.mark.parametrize("ac", [True, False])
def test_random_payload_with_valid_container_decodes_safely(ac):
    """Garbage that passes the CRC (a foreign writer) must not crash or read out of bounds."""
    codec = codecs.get("spiht", ac=ac)
    data = codec.encode(make_cube(), bpppb=2.0)
    header, payload = unpack(data)
    rng = np.random.default_rng(7)
    for trial in range(5):
        junk = rng.integers(0, 256, len(payload), dtype=np.uint8).tobytes()
        out = codec.decode(pack(header.codec, header.shape, header.dtype, header.params, junk))
        assert out.shape == header.shape and np.isfinite(out).all()
    out = codec.decode(pack(header.codec, header.shape, header.dtype, dict(header.params, t=29), b"\xff" * 9))
    assert np.isfinite(out).all()


# ------------------------------------------------------------------------------------------
# Real cubes (skipped without ../shared/data): the quality bar against QccPack 3D-SPECK
# ------------------------------------------------------------------------------------------

# QccPack 0.61 3D-SPECK, packet 4 spectral + 3 spatial levels (../shared/data/README.md)
_REFERENCE = {
    "paviaU_sub50x50": {0.1: 34.28, 0.25: 41.66, 0.5: 46.50, 1.0: 51.03, 2.0: 57.47},
    "jasper_ridge": {0.1: 37.22, 1.0: 52.48},
}


@pytest.mark.parametrize("name", sorted(_REFERENCE))
def test_quality_against_qccpack_speck(name):
    cube = shared_cube(name)
    codec = codecs.get("spiht[spectral_levels=4,spatial_levels=3]")
    for rate, ref in _REFERENCE[name].items():
        data = codec.encode(cube, bpppb=rate)
        budget = budget_bytes(rate, cube.shape)
        assert budget - 32 <= len(data) <= budget
        assert _psnr(cube, codec.decode(data)) >= ref - 0.6, (name, rate)


def test_prefixes_of_a_real_stream_never_lose_quality():
    cube = shared_cube("paviaU_sub50x50")
    codec = codecs.get("spiht[spectral_levels=4,spatial_levels=3]")
    full = codec.encode(cube, bpppb=2.0)
    psnrs = [_psnr(cube, codec.decode(truncate(full, budget_bytes(r, cube.shape)))) for r in np.linspace(0.05, 2.0, 25)]
    assert all(b >= a for a, b in zip(psnrs, psnrs[1:])), psnrs
