"""ccsds123 (CCSDS 123.0-B-2): bit-exact against a plain-Python oracle, error bounds, rate control.

The oracle (tests/_ccsds123_reference.py) is written from the standard's equations; the
codestreams themselves were also checked byte for byte against the NTNU verification model
(benchmarks/ccsds123_verify.py), whose header parser reads the headers written here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hsibench import codecs, metrics
from hsibench.codecs.base import unpack
from hsibench.codecs.predictive.ccsds123 import codestream, header
from hsibench.codecs.predictive.ccsds123.header import Config
from hsibench.errors import CorruptDataError, InvalidCubeError, InvalidParameterError, InvalidRateError

from . import _ccsds123_reference as ref
from .conftest import make_cube, shared_cube


def _signed_cube(rows=6, cols=7, bands=5, seed=3):
    rng = np.random.default_rng(seed)
    base = np.cumsum(rng.integers(-200, 200, (rows, cols, 1)), axis=1)
    return (base + np.cumsum(rng.integers(-30, 30, (rows, cols, bands)), axis=2)).astype(np.int16)


def _codestream(cube, spec):
    return unpack(codecs.get(spec).encode(cube, bpppb=16))[1]


# --------------------------------------------------------------------------------------------
# The codestream against the standard
# --------------------------------------------------------------------------------------------


def test_header_fields_by_hand():
    """The default lossless header of a 24 x 20 x 16, 11-bit cube, field by field (standard 5.3)."""
    cube = make_cube()  # 24 rows, 20 columns, 16 bands, values < 2048
    expected = bytes.fromhex(
        "00" "0014" "0018" "0010"  # user data; N_X = 20, N_Y = 24, N_Z = 16
        "16"  # unsigned, reserved, small D, D = 11, band-interleaved
        "0010"  # M = N_Z (BIP)
        "08"  # reserved, B = 1, sample-adaptive coder, reserved
        "00"  # lossless, reserved, no supplementary tables
        "0c"  # reserved, no representative subpart, P = 3, full, zero weight offsets
        "00"  # wide neighbour-oriented, R = 64 (coded 0)
        "f2"  # Omega - 4 = 15, log2(t_inc) - 4 = 2
        "59"  # nu_min + 6 = 5, nu_max + 6 = 9
        "00"  # offset table, default weight init, init table, Q = 0
        "92"  # U_max = 18, gamma* - 4 = 2
        "26"  # gamma_0 = 1, K = 3, no accumulator table
    )
    assert _codestream(cube, "ccsds123[max_error=0]")[: len(expected)] == expected


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"fidelity": header.ABSOLUTE, "abs_limits": (3,) * 5, "abs_depth": 2},
        {"fidelity": header.ABSOLUTE, "abs_limits": (0, 1, 2, 3, 7), "abs_depth": 5},
        {"fidelity": header.ABSOLUTE_AND_RELATIVE, "abs_limits": (9,) * 5, "abs_depth": 4, "rel_limits": (100,) * 5, "rel_depth": 7},
        {"fidelity": header.RELATIVE, "rel_limits": (5,) * 5, "rel_depth": 3, "bsq": True, "M": 1},
        {"theta": 4, "phi": 9, "psi": 0, "full": False, "local_sum": header.NARROW_COLUMN, "P": 0, "R": 40, "omega": 4},
        {"u_max": 32, "gamma_0": 8, "gamma_star": 11, "K": 9, "B": 8, "nu_min": -6, "nu_max": 9, "t_inc_exp": 11},
    ],
)
def test_header_round_trip(changes):
    cfg = replace(Config(rows=3, cols=65536, bands=5, signed=True, D=12, M=5), **changes)
    assert header.read(header.write(cfg) + b"rest") == (cfg, len(header.write(cfg)))


SETS = [
    "max_error=0",
    "max_error=1",
    "max_error=4",
    "max_error=0,prediction=reduced",
    "max_error=3,local_sum=column",
    "max_error=2,narrow=true",
    "max_error=2,narrow=true,local_sum=column,prediction=reduced",
    "max_error=5,theta=3,phi=2,psi=6",
    "max_error=0,theta=4,phi=11",
    "relative_error=300",
    "max_error=6,relative_error=200",
    "max_error=1,P=0",
    "max_error=1,P=6",
    "max_error=2,omega=6,R=32,nu_min=-6,nu_max=9,t_inc=16",
    "max_error=2,omega=11,R=33,nu_min=4,nu_max=4",
    "max_error=9,u_max=8,gamma_0=3,gamma_star=4,K=0",
    "max_error=1,order=bil",
    "max_error=1,order=bsq",
]


@pytest.mark.parametrize("params", SETS)
@pytest.mark.parametrize("kind", ["unsigned", "signed"])
def test_codestream_matches_plain_python_reference(params, kind):
    cube = make_cube(6, 7, 5, seed=4) if kind == "unsigned" else _signed_cube()
    payload = _codestream(cube, f"ccsds123[{params},coder=sample]")
    cfg, start = header.read(payload)
    s = [[[int(cube[y, x, z]) for x in range(cube.shape[1])] for y in range(cube.shape[0])] for z in range(cube.shape[2])]
    assert payload[start:] == ref.sample_adaptive_body(ref.mapped_indices(s, cfg), cfg)


def test_register_size_wraps_as_mod_star():
    """R = 32 with 16-bit data and Omega = 14 wraps predictions (mod*_R): the reference's bytes, still lossless."""
    rng = np.random.default_rng(0)
    cube = rng.integers(0, 65536, (5, 6, 4)).astype(np.int32)
    cfg = Config(rows=5, cols=6, bands=4, signed=False, D=16, M=4, omega=14, R=32)
    payload = codestream.encode(cfg, cube)
    assert payload != codestream.encode(replace(cfg, R=64), cube)  # the wrap happened
    s = [[[int(cube[y, x, z]) for x in range(6)] for y in range(5)] for z in range(4)]
    assert payload[len(header.write(cfg)) :] == ref.sample_adaptive_body(ref.mapped_indices(s, cfg), cfg)
    np.testing.assert_array_equal(codestream.decode(payload)[1], cube)


# --------------------------------------------------------------------------------------------
# Error bounds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cube",
    [
        make_cube(),
        make_cube(dtype=np.uint8),
        _signed_cube(9, 8, 6),
        np.arange(5 * 6 * 7, dtype=np.int32).reshape(5, 6, 7) - 100,
        np.full((4, 5, 3), 1234, dtype=np.uint16),
    ],
    ids=["uint16", "uint8", "int16", "int32", "constant"],
)
def test_lossless_and_near_lossless_bounds(cube):
    for e in (0, 1, 4, 16):
        codec = codecs.get(f"ccsds123[max_error={e}]")
        out = codec.decode(codec.encode(cube, bpppb=8 * cube.dtype.itemsize))
        assert np.abs(out.astype(np.float64) - cube).max() <= e
        assert codec.info["fidelity"] == ("lossless" if e == 0 else "absolute")


def test_relative_limit_bound():
    cube = make_cube(16, 16, 8)
    r = 200
    codec = codecs.get(f"ccsds123[relative_error={r}]")
    out = codec.decode(codec.encode(cube, bpppb=16))
    err = np.abs(out.astype(np.float64) - cube)
    # m = floor(r |prediction| / 2^D), and an unsigned prediction is at most 2^D - 1
    D = codec.info["D"]
    assert err.max() <= r * (2**D - 1) // 2**D
    assert err.max() > 0


# --------------------------------------------------------------------------------------------
# Rate control and parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1.5, 2.0, 3.0, 4.0])
def test_rate_search_lands_just_below_the_rate(rate):
    cube = make_cube(32, 32, 16)
    codec = codecs.get("ccsds123")
    data = codec.encode(cube, bpppb=rate)
    # 16 k samples: one band's limit moves the size by about 1 %, so the tiny cube gets 3 %
    # (tests/test_ccsds123.py::test_jasper_ridge_rates holds a real cube to 0.5 %)
    assert 0.97 * rate <= metrics.bpppb(len(data), cube.shape) <= rate
    out = codec.decode(data)
    assert np.abs(out - cube).max() <= codec.info["max_error"]


def test_rate_above_lossless_gives_lossless():
    cube = make_cube()
    codec = codecs.get("ccsds123")
    out = codec.decode(codec.encode(cube, bpppb=15))
    np.testing.assert_array_equal(out, cube)


def test_fixed_limit_over_budget_says_the_rate_it_needs():
    cube = make_cube()
    with pytest.raises(InvalidRateError, match=r"needs 5\.\d+ bpppb"):
        codecs.get("ccsds123[max_error=0]").encode(cube, bpppb=2)


def test_rate_below_the_coders_floor_says_so():
    # the sample-adaptive coder alone spends at least a bit per sample (coder=auto goes lower
    # with the block-adaptive coder: tests/test_ccsds123_block.py)
    with pytest.raises(InvalidRateError, match="smallest ccsds123 stream"):
        codecs.get("ccsds123[coder=sample]").encode(make_cube(), bpppb=0.5)


def test_bad_inputs_and_parameters():
    with pytest.raises(InvalidCubeError, match="integer samples"):
        codecs.get("ccsds123").encode(make_cube(dtype=np.float32), bpppb=4)
    with pytest.raises(InvalidCubeError, match="needs 18 signed bits"):
        codecs.get("ccsds123").encode(np.full((2, 3, 4), 70000, dtype=np.int32), bpppb=4)
    with pytest.raises(InvalidParameterError, match="above 1023"):
        codecs.get("ccsds123[max_error=5000]").encode(make_cube(), bpppb=16)  # 11-bit data
    with pytest.raises(InvalidParameterError, match="2 columns"):
        codecs.get("ccsds123").encode(make_cube(8, 1, 4), bpppb=16)
    with pytest.raises(InvalidParameterError, match="power of two"):
        codecs.get("ccsds123[t_inc=100]")
    with pytest.raises(InvalidParameterError, match="phi"):
        codecs.get("ccsds123[max_error=2,theta=2,phi=5]").encode(make_cube(), bpppb=16)
    one_column = make_cube(64, 1, 8)
    codec = codecs.get("ccsds123[max_error=0,prediction=reduced,local_sum=column]")
    np.testing.assert_array_equal(codec.decode(codec.encode(one_column, bpppb=16)), one_column)


# --------------------------------------------------------------------------------------------
# Hostile codestreams (below the container's CRC)
# --------------------------------------------------------------------------------------------


def test_hostile_codestreams_rejected():
    payload = _codestream(make_cube(), "ccsds123[max_error=2]")
    cfg, start = header.read(payload)
    with pytest.raises(CorruptDataError, match="truncated"):
        codestream.decode(payload[: start + (len(payload) - start) // 2])
    with pytest.raises(CorruptDataError, match="body is"):
        codestream.decode(payload + b"\0\0")
    with pytest.raises(CorruptDataError, match="header"):
        codestream.decode(payload[:10])
    hybrid = bytearray(payload)
    hybrid[10] |= 0x02  # entropy coder type 1
    with pytest.raises(CorruptDataError, match="hybrid"):
        codestream.decode(bytes(hybrid))
    ref.check_hostile_bodies(payload, start, cfg.D, 20)


# --------------------------------------------------------------------------------------------
# The shared real cubes
# --------------------------------------------------------------------------------------------

SHARED = ["jasper_ridge", "indian_pines_sub85x70", "paviaU_sub50x50", "synthetic_128x128x64"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SHARED)
def test_shared_cubes_lossless_and_bounds(name):
    cube = shared_cube(name)
    for e in (0, 1, 4, 16):
        codec = codecs.get(f"ccsds123[max_error={e}]")
        out = codec.decode(codec.encode(cube, bpppb=16))
        assert np.abs(out.astype(np.float64) - cube).max() <= e, e


@pytest.mark.slow
def test_jasper_ridge_rates():
    cube = shared_cube("jasper_ridge")
    codec = codecs.get("ccsds123")
    for rate in (1.0, 1.5, 2.0, 4.0):
        data = codec.encode(cube, bpppb=rate)
        assert 0.995 * rate <= metrics.bpppb(len(data), cube.shape) <= rate, rate
    # the sample-adaptive coder spends at least one bit on every sample: 1 bpppb is out of its
    # reach (coder=auto gets there with the block-adaptive coder)
    with pytest.raises(InvalidRateError, match="smallest ccsds123 stream"):
        codecs.get("ccsds123[coder=sample]").encode(cube, bpppb=1.0)
