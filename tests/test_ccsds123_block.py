"""ccsds123's block-adaptive entropy coder (CCSDS 123.0-B-2 5.4.3.4) and the coder choice.

The bodies are checked against the plain-Python oracle (tests/_ccsds123_reference.py), written
from the standards' text; the same codestreams were checked byte for byte against the NTNU
verification model (benchmarks/ccsds123_verify.py --match coder=block).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hsibench import codecs, metrics
from hsibench.codecs.base import unpack
from hsibench.codecs.predictive.ccsds123 import block_adaptive, codestream, header
from hsibench.codecs.predictive.ccsds123.header import BLOCK_ADAPTIVE, Config
from hsibench.errors import CorruptDataError, InvalidParameterError, InvalidRateError, StreamLimitError

from . import _ccsds123_reference as ref
from .conftest import make_cube, shared_cube


def _signed_cube(rows=6, cols=7, bands=5, seed=3):
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.integers(-200, 200, (rows, cols, 1)), axis=1)
    return (base + np.cumsum(rng.integers(-30, 30, (rows, cols, bands)), axis=2)).astype(np.int16)


def _flat_cube(rows=9, cols=11, bands=7):
    """Constant but for a few spikes: long zero-block runs, runs cut by segments, ROS codewords."""
    cube = np.full((rows, cols, bands), 700, dtype=np.uint16)
    cube.reshape(-1)[[137, 139, 400, 650]] = (900, 20, 1000, 3)
    return cube


def _low_d_cube(top, rows=8, cols=9, bands=6):
    rng = np.random.default_rng(top)
    smooth = np.arange(rows)[:, None, None] // 3 + np.arange(cols)[None, :, None] // 4 + np.arange(bands) // 3
    return np.clip(smooth * top // smooth.max() + rng.integers(-1, 2, (rows, cols, bands)), 0, top).astype(np.uint16)


def _codestream(cube, spec):
    return unpack(codecs.get(spec).encode(cube, bpppb=16))[1]


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


def test_block_adaptive_header_fields_by_hand():
    """The entropy-coder type in the image metadata and the 2-byte block-adaptive part (standard 5.3.4)."""
    cube = make_cube()
    payload = _codestream(cube, "ccsds123[max_error=0,coder=block,J=16,ref_interval=70]")
    assert payload[10] == 0x08 | 0x04  # reserved, B = 1, entropy coder type 2 (block-adaptive), reserved
    # lossless, no representative part: the coder part follows 12 image and 5 predictor bytes
    assert payload[17:19] == bytes.fromhex("2046")  # reserved 0, J = 16 (01), unrestricted, r = 70
    cfg = header.read(payload)[0]
    assert (cfg.coder, cfg.J, cfg.r, cfg.restricted) == (BLOCK_ADAPTIVE, 16, 70, False)
    full = _codestream(cube, "ccsds123[max_error=0,coder=block,J=64]")
    assert full[17:19] == bytes.fromhex("6000")  # J = 64 (11), r = 4096 coded as 0


@pytest.mark.parametrize(
    "changes",
    [
        {"coder": BLOCK_ADAPTIVE, "J": 8, "r": 1},
        {"coder": BLOCK_ADAPTIVE, "J": 64, "r": 4096, "fidelity": header.ABSOLUTE, "abs_limits": (3,) * 5, "abs_depth": 2},
        {"coder": BLOCK_ADAPTIVE, "J": 32, "r": 4095, "bsq": True, "M": 1, "theta": 2, "phi": 1},
        {"coder": BLOCK_ADAPTIVE, "J": 16, "r": 64, "restricted": True, "D": 4},
        {"coder": BLOCK_ADAPTIVE, "J": 16, "r": 9, "restricted": True, "D": 2},
    ],
)
def test_block_adaptive_header_round_trip(changes):
    cfg = replace(Config(rows=3, cols=65536, bands=5, signed=True, D=12, M=5), **changes)
    assert header.read(header.write(cfg) + b"rest") == (cfg, len(header.write(cfg)))


def test_bad_block_adaptive_headers_rejected():
    cfg = Config(rows=3, cols=4, bands=5, signed=False, D=12, M=5, coder=BLOCK_ADAPTIVE, J=8)
    data = bytearray(header.write(cfg))
    data[-2] |= 0x80  # the reserved bit
    with pytest.raises(CorruptDataError, match="reserved"):
        header.read(bytes(data))
    data = bytearray(header.write(cfg))
    data[-2] |= 0x10  # restricted code options with D = 12
    with pytest.raises(CorruptDataError, match="restricted"):
        header.read(bytes(data))


# --------------------------------------------------------------------------------------------
# The body against the oracle
# --------------------------------------------------------------------------------------------

SETS = [
    "max_error=0,coder=block,J=8",
    "max_error=0,coder=block,J=16",
    "max_error=0,coder=block,J=32",
    "max_error=0,coder=block,J=64",
    "max_error=2,coder=block,J=16",
    "max_error=40,coder=block,J=8",
    "max_error=300,coder=block,J=8,ref_interval=5",
    "max_error=100,coder=block,J=8,ref_interval=70",
    "max_error=30,coder=block,J=16,ref_interval=1",
    "max_error=20,coder=block,J=16,order=bsq",
    "max_error=8,coder=block,J=8,order=bil",
    "max_error=4,coder=block,J=16,theta=3,phi=3,psi=5",
    "relative_error=300,coder=block,J=32",
]


def _mapped(cube, cfg):
    s = [[[int(cube[y, x, z]) for x in range(cube.shape[1])] for y in range(cube.shape[0])] for z in range(cube.shape[2])]
    return ref.mapped_indices(s, cfg)


@pytest.mark.parametrize("params", SETS)
@pytest.mark.parametrize("kind", ["unsigned", "signed", "flat"])
def test_block_adaptive_body_matches_plain_python_reference(params, kind):
    cube = {"unsigned": lambda: make_cube(6, 7, 5, seed=4), "signed": _signed_cube, "flat": _flat_cube}[kind]()
    payload = _codestream(cube, f"ccsds123[{params}]")
    cfg, start = header.read(payload)
    assert cfg.block_adaptive
    assert payload[start:] == ref.block_adaptive_body(_mapped(cube, cfg), cfg)


@pytest.mark.parametrize("top", [3, 7, 15])
@pytest.mark.parametrize("params", ["max_error=0,coder=block,J=8", "max_error=1,coder=block,J=16"])
def test_restricted_code_options(top, params):
    """D = 2, 3, 4: the restricted set (1- or 2-bit IDs) matches the oracle and decodes."""
    cube = _low_d_cube(top)
    codec = codecs.get(f"ccsds123[{params},restricted=true]")
    data = codec.encode(cube, bpppb=16)
    cfg, start = header.read(unpack(data)[1])
    assert cfg.restricted and cfg.D == top.bit_length()
    assert unpack(data)[1][start:] == ref.block_adaptive_body(_mapped(cube, cfg), cfg)
    assert np.abs(codec.decode(data) - cube).max() <= (0 if "max_error=0" in params else 1)


def test_zero_blocks_cost_a_few_bits():
    """A constant cube: whole segments of zero blocks, a ROS codeword each (ID + 0 + 00001)."""
    sizes = []
    for rows in (16, 32):  # 64 and 128 blocks of 64 samples: one more segment, all zero
        cube = np.full((rows, 16, 16), 1234, dtype=np.uint16)
        payload = _codestream(cube, "ccsds123[max_error=0,coder=block,J=64]")
        np.testing.assert_array_equal(codestream.decode(payload)[1], cube)
        sizes.append(len(payload))
    assert sizes[1] - sizes[0] <= 2  # 4096 more samples for a 9-bit codeword


# --------------------------------------------------------------------------------------------
# Round trips and error bounds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cube",
    [make_cube(), make_cube(dtype=np.uint8), _signed_cube(9, 8, 6), _flat_cube(), np.full((4, 5, 3), 1234, dtype=np.uint16),
     make_cube(3, 5, 7)],
    ids=["uint16", "uint8", "int16", "flat", "constant", "odd-size"],
)
@pytest.mark.parametrize("J", [8, 64])
def test_block_adaptive_lossless_and_near_lossless_bounds(cube, J):
    for e in (0, 1, 4, 16):
        codec = codecs.get(f"ccsds123[max_error={e},coder=block,J={J}]")
        out = codec.decode(codec.encode(cube, bpppb=8 * cube.dtype.itemsize))
        assert np.abs(out.astype(np.float64) - cube).max() <= e
        assert codec.info["coder"] == "block-adaptive" and codec.info["J"] == J


def test_auto_writes_the_smaller_stream():
    """coder=auto (the default) at a fixed limit: the smallest of the sample-adaptive and four block-adaptive streams."""
    cube = make_cube(16, 16, 8)
    for e in (0, 3, 60):
        sizes = {spec: len(codecs.get(f"ccsds123[max_error={e},{spec}]").encode(cube, bpppb=16))
                 for spec in ("coder=sample", "coder=block,J=8", "coder=block,J=16", "coder=block,J=32", "coder=block,J=64")}
        auto = codecs.get(f"ccsds123[max_error={e}]")
        assert len(auto.encode(cube, bpppb=16)) == min(sizes.values())
        assert len(codecs.get(f"ccsds123[max_error={e},coder=block]").encode(cube, bpppb=16)) == min(
            v for k, v in sizes.items() if "block" in k)
    assert auto.info["coder"] == "block-adaptive"  # at E = 60 most blocks are zero


def test_coder_parameters_checked():
    with pytest.raises(InvalidParameterError, match="8, 16, 32 or 64"):
        codecs.get("ccsds123[J=12]")
    with pytest.raises(InvalidParameterError, match="block-adaptive"):
        codecs.get("ccsds123[coder=sample,J=8]").encode(make_cube(), bpppb=16)
    with pytest.raises(InvalidParameterError, match="D <= 4"):
        codecs.get("ccsds123[coder=block,restricted=true]").encode(make_cube(), bpppb=16)
    with pytest.raises(InvalidParameterError, match="ref_interval"):
        codecs.get("ccsds123[ref_interval=5000]")


# --------------------------------------------------------------------------------------------
# Rate control below one bit per sample
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.25, 0.5, 1.0])
def test_rates_below_one_bit_per_sample(rate):
    cube = make_cube(32, 32, 16)
    codec = codecs.get("ccsds123")
    data = codec.encode(cube, bpppb=rate)
    assert 0.97 * rate <= metrics.bpppb(len(data), cube.shape) <= rate
    assert codec.info["coder"] == "block-adaptive"
    assert np.abs(codec.decode(data) - cube).max() <= codec.info["max_error"]


def test_sample_adaptive_alone_still_stops_near_one_bit():
    with pytest.raises(InvalidRateError, match="smallest ccsds123 stream"):
        codecs.get("ccsds123[coder=sample]").encode(make_cube(), bpppb=0.5)


@pytest.mark.slow
def test_jasper_ridge_low_rates():
    cube = shared_cube("jasper_ridge")
    codec = codecs.get("ccsds123")
    for rate in (0.25, 0.5):
        data = codec.encode(cube, bpppb=rate)
        assert 0.995 * rate <= metrics.bpppb(len(data), cube.shape) <= rate, rate
        assert np.abs(codec.decode(data) - cube).max() <= codec.info["max_error"]


# --------------------------------------------------------------------------------------------
# Hostile block-adaptive bodies
# --------------------------------------------------------------------------------------------


def test_hostile_block_adaptive_bodies_rejected():
    cube = _flat_cube()
    payload = _codestream(cube, "ccsds123[max_error=0,coder=block,J=8,ref_interval=70]")
    cfg, start = header.read(payload)
    with pytest.raises(CorruptDataError, match="truncated"):
        codestream.decode(payload[: start + (len(payload) - start) // 2])
    with pytest.raises(CorruptDataError, match="body is"):
        codestream.decode(payload + b"\0")
    assert cfg.D == 10  # 4-bit option IDs

    def body_of(bits):
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")

    # 87 blocks in segments of 64 and 6 (r = 70), then 17: a run of 64 zero blocks (ID 0000, 0,
    # 64 zeros and a one) fits the first segment, a second one from block 64 overruns the second
    run = "0000" + "0" + "0" * 64 + "1"
    with pytest.raises(CorruptDataError, match="segment"):
        codestream.decode(payload[:start] + body_of(run + run))
    # split-sample k = 0 (ID 0001) with an FS codeword longer than any 10-bit value allows
    body = body_of("0001" + "0" * 1100 + "1")
    with pytest.raises(CorruptDataError, match="value above"):
        codestream.decode(payload[:start] + body)
    # a header announcing far more samples than the body's ROS codewords could cover
    ref.check_hostile_bodies(payload, start, cfg.D, 50, too_big=StreamLimitError)


def test_max_samples_bounds_allocation():
    cfg = Config(rows=1, cols=1, bands=1, signed=False, D=16, coder=BLOCK_ADAPTIVE, J=64)
    # 9 bits (ID 0000, 0, ROS 00001) describe at most one segment of 64 blocks of 64 samples
    assert block_adaptive.max_samples(cfg, 9) >= 64 * 64
    assert block_adaptive.max_samples(cfg, 8000) < 8000 * 64 * 64 // 9 + 2 * 64 * 64
