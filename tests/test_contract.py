"""The same contract for every registered codec: round trip, rate, quality, bytes alone, bad bytes."""

from __future__ import annotations

import numpy as np
import pytest

from hsibench import codecs, metrics
from hsibench.errors import CorruptDataError, InvalidCubeError, InvalidRateError

from .conftest import make_cube
from .contract_specs import CONTRACT_SPECS


def test_every_codec_has_contract_spec():
    assert sorted(CONTRACT_SPECS) == codecs.names()


@pytest.fixture(scope="module", params=sorted(CONTRACT_SPECS))
def encoded(request):
    """Encode the tiny cube once per codec and rate; share the streams between the checks."""
    entry = CONTRACT_SPECS[request.param]
    cube = make_cube()
    codec = codecs.get(entry["spec"])
    streams = [codec.encode(cube, bpppb=r) for r in entry["rates"]]
    return entry, cube, codec, streams


def test_round_trip_shape_dtype_and_rate(encoded):
    entry, cube, codec, streams = encoded
    for rate, data in zip(entry["rates"], streams):
        assert isinstance(data, bytes)
        assert 8 * len(data) / cube.size <= rate + 1e-12
        out = codec.decode(data, **codec.secrets())
        assert out.shape == cube.shape and out.dtype == np.float32
        assert np.isfinite(out).all()


def test_quality_rises_with_rate(encoded):
    entry, cube, codec, streams = encoded
    r = float(cube.max()) - float(cube.min())
    psnrs = [metrics.psnr(cube, codec.decode(d, **codec.secrets()), data_range=r) for d in streams]
    assert all(b >= a - 0.05 for a, b in zip(psnrs, psnrs[1:])), psnrs
    assert psnrs[-1] > psnrs[0]


def test_decode_from_bytes_alone(encoded):
    entry, cube, codec, streams = encoded
    fresh = codecs.get(codecs.parse_spec(entry["spec"])[0])  # default parameters, no shared state
    for data in streams:
        np.testing.assert_array_equal(fresh.decode(data, **codec.secrets()), codec.decode(data, **codec.secrets()))


def test_same_inputs_same_bytes(encoded):
    entry, cube, codec, streams = encoded
    again = codecs.get(entry["spec"]).encode(cube, bpppb=entry["rates"][0])
    assert again == streams[0]


def test_garbage_bytes_rejected(encoded):
    entry, cube, codec, streams = encoded
    data = streams[-1]
    rng = np.random.default_rng(1)
    with pytest.raises(CorruptDataError):
        codec.decode(rng.integers(0, 256, len(data), dtype=np.uint8).tobytes())
    with pytest.raises(CorruptDataError):
        codec.decode(b"")
    flipped = bytearray(data)
    flipped[len(data) // 2 + 20 if len(data) > 60 else -1] ^= 0x40
    with pytest.raises(CorruptDataError):
        codec.decode(bytes(flipped), **codec.secrets())
    with pytest.raises(CorruptDataError):
        codec.decode(data[: len(data) - 3], **codec.secrets())


def test_bad_cubes_and_rates_rejected(encoded):
    entry, cube, codec, _ = encoded
    bad = cube.astype(np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(InvalidCubeError):
        codec.encode(bad, bpppb=1.0)
    with pytest.raises(InvalidCubeError):
        codec.encode(cube[:, :, 0], bpppb=1.0)
    with pytest.raises(InvalidCubeError):
        codec.encode(cube[:0], bpppb=1.0)
    for rate in (0, -1, float("nan"), 17):
        with pytest.raises(InvalidRateError):
            codec.encode(cube, bpppb=rate)


def test_constant_cube(encoded):
    entry, cube, codec, _ = encoded
    const = np.full(cube.shape, 1234, dtype=cube.dtype)
    data = codec.encode(const, bpppb=entry["rates"][-1])
    out = codec.decode(data, **codec.secrets())
    assert np.abs(out - 1234).max() < 1.0
