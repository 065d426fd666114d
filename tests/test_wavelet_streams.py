"""speck[streams=N] and spiht[streams=N]: slabs of rows as independent streams, coded and decoded on several threads."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs import base
from hsibench.codecs.wavelet import tiles as T
from hsibench.errors import CorruptDataError, InvalidParameterError, InvalidRateError

from .conftest import make_cube, psnr_of as psnr


CODECS = ["speck", "spiht"]
FIELD = {"speck": "streams", "spiht": "s"}  # the header field that says how many streams


@pytest.fixture(scope="module")
def cube():
    return make_cube(64, 24, 16, seed=7)


# -- the pure parts: split, byte shares, framing -------------------------------------------------

def test_row_slabs_cut_into_near_equal_slabs():
    assert T.row_slabs(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert T.row_slabs(4, 4) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    with pytest.raises(ValueError):
        T.row_slabs(3, 4)


def _hist(values) -> np.ndarray:
    h = np.zeros(33, dtype=np.int64)
    for v in values:
        h[v + 1] += 1
    return h


def test_share_bytes_follows_the_common_stopping_plane():
    busy = _hist([20, 18, 18, 15, 15, 15, 12, 12, 12, 12] * 50)
    quiet = _hist([12] * 10 + [-1] * 490)
    for total in (10, 300, 5000):
        shares = T.share_bytes([busy, busy], total)
        assert sum(shares) == total and abs(shares[0] - shares[1]) <= 1
        shares = T.share_bytes([busy, quiet], total)
        assert sum(shares) == total
        assert shares[0] > shares[1]
    # above plane 12 the quiet slab has nothing to code: a small budget goes to the busy one
    assert T.share_bytes([busy, quiet], 300)[1] == 0
    assert T.share_bytes([_hist([-1] * 5), _hist([-1] * 5)], 7) in ([4, 3], [3, 4])  # all zero: even split


def test_frame_round_trips_and_bad_lengths_are_corrupt():
    parts = [b"abc", b"", b"defgh"]
    payload = T.frame(parts)
    assert len(payload) == 8 + 8 and T.unframe(payload, 3) == parts
    with pytest.raises(CorruptDataError, match="lengths"):
        T.unframe(payload[:5], 3)
    with pytest.raises(CorruptDataError, match="exceed"):
        T.unframe(struct.pack(">II", 9, 0) + b"12345678", 3)


def test_truncate_parts_cuts_every_stream_to_the_same_fraction():
    parts = [b"a" * 100, b"b" * 300]
    cut = T.truncate_parts(parts, 4 + 200)
    assert [len(p) for p in cut] == [50, 150]
    assert T.truncate_parts(parts, 1000) == parts
    assert T.truncate_parts(parts, 3) == [b"", b""]


# -- the codec ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("streams", [2, 3])
@pytest.mark.parametrize("rate", [0.25, 1.0, 3.0])
def test_hits_the_byte_budget(cube, name, streams, rate):
    many = codecs.get(f"{name}[streams={streams}]")
    data = many.encode(cube, bpppb=rate)
    budget = base.budget_bytes(rate, cube.shape)
    assert budget - 32 <= len(data) <= budget
    assert base.unpack(data)[0].params[FIELD[name]] == streams
    assert many.info["streams"] == streams and len(many.info["stream_bytes"]) == streams
    assert many.decode(data).shape == cube.shape


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("streams", [2, 3])
@pytest.mark.parametrize("rate", [1.0, 3.0])
def test_costs_little_quality(cube, name, streams, rate):
    one = codecs.get(name)
    many = codecs.get(f"{name}[streams={streams}]")
    loss = psnr(cube, one.decode(one.encode(cube, bpppb=rate))) - psnr(cube, many.decode(many.encode(cube, bpppb=rate)))
    # slabs of 21-32 rows take fewer spatial levels and add edges (0.3-1.7 dB here, more at 0.25
    # bpppb where each slab has a few hundred bytes; 0.005 dB at 1 bpppb with 2 slabs of 738
    # rows); a wrong byte split costs several dB
    assert loss < 0.6 * streams, loss


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("rate", [0.25, 2.0])
def test_the_byte_split_is_where_quality_peaks(cube, name, rate, monkeypatch):
    """Moving 10 % of the bytes from one stream to the other never gains more than 0.05 dB."""
    model = T.share_bytes

    def shifted(hists, total, f=1.0):
        first = int(model(hists, total)[0] * f)
        return [first, total - first]

    results = {}
    for f in (0.9, 1.0, 1.1):
        monkeypatch.setattr(T, "share_bytes", lambda h, t, f=f: shifted(h, t, f))
        codec = codecs.get(f"{name}[streams=2]")
        results[f] = psnr(cube, codec.decode(codec.encode(cube, bpppb=rate)))
    assert max(results.values()) < results[1.0] + 0.05, results


@pytest.mark.parametrize("name", CODECS)
def test_bytes_and_cube_do_not_depend_on_the_thread_count(cube, name):
    import numba

    codec = codecs.get(f"{name}[streams=3]")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = codec.encode(cube, bpppb=1.0)
        out_one = codec.decode(one)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = codec.encode(cube, bpppb=1.0)
        out_many = codec.decode(one)
    finally:
        numba.set_num_threads(before)
    assert one == many
    np.testing.assert_array_equal(out_one, out_many)


@pytest.mark.parametrize("name", CODECS)
def test_one_stream_writes_no_streams_field(cube, name):
    assert FIELD[name] not in base.unpack(codecs.get(f"{name}[streams=1]").encode(cube, bpppb=0.5))[0].params


@pytest.mark.parametrize("name", CODECS)
def test_more_streams_than_rows_are_capped(name):
    small = make_cube(3, 16, 16, seed=1)
    data = codecs.get(f"{name}[streams=16]").encode(small, bpppb=4.0)
    assert base.unpack(data)[0].params[FIELD[name]] == 3
    assert codecs.get(name).decode(data).shape == small.shape


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("value", [0, 257, "two"])
def test_bad_streams_parameter_is_rejected(name, value):
    with pytest.raises(InvalidParameterError, match="streams"):
        codecs.get(name, streams=value)


@pytest.mark.parametrize("name", CODECS)
def test_every_truncation_decodes_and_quality_never_falls(cube, name):
    full = codecs.get(f"{name}[streams=3]").encode(cube, bpppb=2.0)
    header = base.header_size(name, cube.shape, cube.dtype, base.unpack(full)[0].params) + 2 * T.LENGTH_BYTES
    with pytest.raises(InvalidRateError, match="lengths"):
        codecs.truncate(full, header - 1)
    sizes = np.linspace(header, len(full), 15).astype(int)
    psnrs = [psnr(cube, codecs.get(name).decode(codecs.truncate(full, int(n)))) for n in sizes]
    assert all(b >= a - 1e-9 for a, b in zip(psnrs, psnrs[1:])), psnrs
    for n in sizes:
        assert len(codecs.truncate(full, int(n))) <= n
    # a cut is close to encoding at that size directly (both split the bytes by the embedded order)
    low = codecs.get(f"{name}[streams=3]").encode(cube, bpppb=0.5)
    cut = codecs.truncate(full, len(low))
    assert abs(psnr(cube, codecs.get(name).decode(cut)) - psnr(cube, codecs.get(name).decode(low))) < 0.5


def _repack(data: bytes, payload: bytes | None = None, **changes) -> bytes:
    header, body = base.unpack(data)
    params = dict(header.params, **changes)
    return base.pack(header.codec, header.shape, header.dtype, params, body if payload is None else payload)


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("streams", [1, 0, 65, 257, "x", None])
def test_bad_streams_in_the_header_are_corrupt(cube, name, streams):
    data = codecs.get(f"{name}[streams=2]").encode(cube, bpppb=0.5)
    with pytest.raises(CorruptDataError):
        codecs.get(name).decode(_repack(data, **{FIELD[name]: streams}))


@pytest.mark.parametrize("name", CODECS)
def test_lengths_beyond_the_payload_are_corrupt(cube, name):
    data = codecs.get(f"{name}[streams=2]").encode(cube, bpppb=0.5)
    body = base.unpack(data)[1]
    with pytest.raises(CorruptDataError, match="exceed"):
        codecs.get(name).decode(_repack(data, struct.pack(">I", len(body)) + body[4:]))


@pytest.mark.parametrize("name", CODECS)
def test_random_streams_with_valid_lengths_cannot_crash(cube, name):
    codec = codecs.get(f"{name}[streams=3]")
    data = codec.encode(cube, bpppb=0.5)
    rng = np.random.default_rng(11)
    for sizes in ([0, 0, 50], [300, 1, 900], [1, 1, 1]):
        junk = b"".join(rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes)
        out = codecs.get(name).decode(_repack(data, T.frame([junk[:sizes[0]], junk[sizes[0]:sizes[0] + sizes[1]],
                                                              junk[sizes[0] + sizes[1]:]])))
        assert out.shape == cube.shape and np.isfinite(out).all()
    json.dumps(codec.info)  # what the encoder measured is recordable
