"""Several images in one gnn network (``encode_images`` / ``decode_images``) on tiny cubes."""

from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hsibench import codecs  # noqa: E402
from hsibench.codecs.base import pack, unpack  # noqa: E402
from hsibench.errors import (  # noqa: E402
    CorruptDataError,
    InvalidCubeError,
    KeyRequiredError,
    MultiImageStreamError,
)

from .conftest import make_cube, psnr_of as _psnr  # noqa: E402

FAST = "epochs=200,progress=false,time_budget_s=100000"  # no wall-clock cut on a loaded machine


def _own_mean_psnr(a: np.ndarray) -> float:
    """PSNR of the cube's mean value everywhere: what a codec that learnt nothing would give."""
    return _psnr(a, np.full(a.shape, a.astype(np.float64).mean()))


@pytest.fixture(scope="module")
def pair():
    """Two clearly different images: the second is flipped in rows and bands and in another range."""
    a = make_cube(32, 32, 12, seed=3)
    b = make_cube(32, 32, 12, seed=7)[::-1, :, ::-1].astype(np.float64) * 0.4 + 2500
    return a, np.ascontiguousarray(b.astype(np.uint16))


@pytest.fixture(scope="module")
def encoded(pair):
    codec = codecs.get(f"gnn[{FAST}]")
    data = codec.encode_images(list(pair), bpppb=4.0)
    return codec, data


def test_two_images_decode_from_bytes_alone(pair, encoded):
    codec, data = encoded
    a, b = pair
    assert 8 * len(data) / (2 * a.size) == pytest.approx(codec.info["bpppb"]) and codec.info["bpppb"] <= 4.0
    assert codec.info["images"] == 2 and codec.info["tiles"] == 2
    header, _ = unpack(data)  # an ordinary container: one image's shape, the count in the params
    assert header.shape == a.shape and header.params["images"] == 2
    assert header.params["min"] == [float(a.min()), float(b.min())]
    out = codecs.get("gnn").decode_images(data)  # a fresh instance: the bytes alone suffice
    assert len(out) == 2
    for cube, dec, recorded in zip(pair, out, codec.info["psnr_decoded"]):
        assert dec.shape == cube.shape and dec.dtype == np.float32
        p = _psnr(cube, dec)
        assert abs(p - recorded) < 0.05
        assert p > _own_mean_psnr(cube) + 15, (p, _own_mean_psnr(cube))
    # each decoded image is its own image, not the other one nor a blend of both
    assert np.abs(out[0] - a).mean() < 0.1 * np.abs(out[0] - b).mean()
    assert np.abs(out[1] - b).mean() < 0.1 * np.abs(out[1] - a).mean()


def test_decode_of_a_multi_image_stream_points_to_decode_images(encoded):
    _, data = encoded
    with pytest.raises(MultiImageStreamError, match="decode_images"):
        codecs.get("gnn").decode(data)


def test_corrupt_multi_image_bytes_are_rejected(encoded):
    _, data = encoded
    gnn = codecs.get("gnn")
    with pytest.raises(CorruptDataError):
        gnn.decode_images(data[:-1])
    bad = bytearray(data)
    bad[-10] ^= 1
    with pytest.raises(CorruptDataError):
        gnn.decode_images(bytes(bad))
    header, payload = unpack(data)
    for change in ({"images": 3}, {"images": 1}, {"min": 5.0}, {"max": [1.0, float("nan")]}):
        forged = pack("gnn", header.shape, header.dtype, header.params | change, payload)  # valid CRC
        with pytest.raises(CorruptDataError):
            gnn.decode_images(forged)
    with pytest.raises(CorruptDataError, match="written by codec"):
        gnn.decode_images(pack("pca", header.shape, header.dtype, header.params, payload))


def test_mismatched_or_missing_images_are_rejected(pair):
    a, b = pair
    gnn = codecs.get(f"gnn[{FAST}]")
    with pytest.raises(InvalidCubeError, match="same|one shape"):
        gnn.encode_images([a, b[:, :16]], bpppb=4.0)
    with pytest.raises(InvalidCubeError, match="one shape"):
        gnn.encode_images([a, b[:, :, :8]], bpppb=4.0)
    with pytest.raises(InvalidCubeError, match="dtype"):
        gnn.encode_images([a, b.astype(np.float32)], bpppb=4.0)
    with pytest.raises(InvalidCubeError, match="at least one"):
        gnn.encode_images([], bpppb=4.0)
    with pytest.raises(InvalidCubeError, match="list"):
        gnn.encode_images(a, bpppb=4.0)  # one cube is not a list of cubes
    bad = a.astype(np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(InvalidCubeError, match="NaN"):
        gnn.encode_images([bad, bad], bpppb=4.0)


def test_keyed_images_need_the_key(pair):
    key = 424242
    codec = codecs.get(f"gnn[{FAST},key={key},blocks=3,weights=int8]")
    data = codec.encode_images(list(pair), bpppb=6.0)
    assert "seed" not in unpack(data)[0].params
    gnn = codecs.get("gnn")
    with pytest.raises(KeyRequiredError):
        gnn.decode_images(data)
    right = gnn.decode_images(data, key=key)
    wrong = gnn.decode_images(data, key=key + 1)
    for cube, r, w in zip(pair, right, wrong):
        assert _psnr(cube, r) - _psnr(cube, w) >= 15, (_psnr(cube, r), _psnr(cube, w))


def test_tiled_images_and_single_image_streams(pair):
    a, b = pair
    codec = codecs.get("gnn[epochs=150,progress=false,time_budget_s=100000,tile=16,overlap=4,blocks=2,channels=8,weights=float16]")
    data = codec.encode_images([a, b], bpppb=16.0)
    assert codec.info["tiles"] == 2 * 9  # each 32 x 32 image: 3 x 3 tiles of 16 pixels, overlap >= 4
    out = codecs.get("gnn").decode_images(data)
    for cube, dec in zip((a, b), out):
        assert dec.shape == cube.shape
        assert _psnr(cube, dec) > _own_mean_psnr(cube) + 10
    # one cube: exactly encode()'s stream, and decode_images of an ordinary stream is a list of one
    one = codecs.get("gnn[epochs=5,progress=false]")
    assert one.encode_images([a], bpppb=4.0) == codecs.get("gnn[epochs=5,progress=false]").encode(a, bpppb=4.0)
    single = codecs.get("gnn").decode_images(one.encode(a, bpppb=4.0))
    assert len(single) == 1 and single[0].shape == a.shape


def test_constant_images_need_only_the_header():
    cubes = [np.full((8, 8, 4), v, dtype=np.uint16) for v in (7, 300)]
    data = codecs.get("gnn").encode_images(cubes, bpppb=8.0)
    out = codecs.get("gnn").decode_images(data)
    assert [float(o[0, 0, 0]) for o in out] == [7.0, 300.0] and all(o.shape == (8, 8, 4) for o in out)
