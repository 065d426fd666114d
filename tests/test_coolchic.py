"""coolchic: fixed-point entropy coding (bit-exact, integer-only), rate from below, bad streams, schedule."""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs.base import pack, unpack
from hsibench.codecs.neural.coolchic import entropy as E
from hsibench.codecs.neural.coolchic import schedule as S
from hsibench.codecs.neural.coolchic.structure import Structure, grid_shapes, latent_count, layout, max_levels
from hsibench.errors import CorruptDataError, InvalidParameterError, StreamLimitError

from .conftest import make_cube, psnr_of

torch = pytest.importorskip("torch")
SPEC = "coolchic[epochs=8,progress=false,threads=1]"


def random_arm(rng, width=8):
    return E.FixedArm.from_float(rng.normal(0, 0.3, (width, E.N_CTX)), rng.normal(0, 0.1, width),
                                 rng.normal(0, 0.3, (width, width)), rng.normal(0, 0.1, width),
                                 rng.normal(0, 0.3, (2, width)), np.array([0.0, 1.0]))


def random_grids(rng, channels=3, shapes=((20, 17), (10, 9), (5, 5)), scales=(3.0, 10.0, 60.0)):
    return [np.round(rng.laplace(0, s, (channels, h, w))).astype(np.int64) for (h, w), s in zip(shapes, scales)]


def test_tables_are_exact_integer_constructions_close_to_exp():
    exp_t, invb_t = E.tables()
    assert exp_t.dtype == np.int64 and exp_t[0] == E.ONE
    i = np.arange(0, E.N_EXP, 97)
    np.testing.assert_allclose(exp_t[i], E.ONE * np.exp(-i / 256.0), rtol=1e-6, atol=1)
    q = np.arange(E.LS_MIN_Q, E.LS_MAX_Q + 1, 53)
    np.testing.assert_allclose(invb_t[q - E.LS_MIN_Q], 2.0**24 * np.exp(-q / 256.0), rtol=1e-6, atol=1)
    # built from decimal arithmetic and integer recurrences: these bits are the same on every machine
    digest = hashlib.sha256(exp_t.tobytes() + invb_t.tobytes()).hexdigest()
    E.tables.cache_clear()
    assert hashlib.sha256(b"".join(t.tobytes() for t in E.tables())).hexdigest() == digest


def test_latents_round_trip_bit_exactly():
    rng = np.random.default_rng(0)
    grids, arm = random_grids(rng), random_arm(rng)
    exps = np.array([[2, 2, 1], [3, 4, 3], [6, 5, 6]])
    data = E.encode_latents(grids, exps, arm)
    out = E.decode_latents(data, [g.shape[1:] for g in grids], 3, exps, arm)
    for a, b in zip(grids, out):
        np.testing.assert_array_equal(a, b)
    assert E.encode_latents(grids, exps, arm) == data  # deterministic


def test_extreme_latents_round_trip():
    rng = np.random.default_rng(1)
    grids = [np.zeros((2, 6, 7), np.int64), np.zeros((2, 3, 4), np.int64)]
    grids[0][0, 0, 0], grids[0][1, 5, 6], grids[1][1, 2, 3] = E.MAX_LATENT, -E.MAX_LATENT, 12345
    exps = np.zeros((2, 2), np.int64)
    data = E.encode_latents(grids, exps, random_arm(rng))
    out = E.decode_latents(data, [(6, 7), (3, 4)], 2, exps, random_arm(np.random.default_rng(1)))
    for a, b in zip(grids, out):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        E.encode_latents([np.full((1, 2, 2), E.MAX_LATENT + 1)], np.zeros((1, 1), np.int64), random_arm(rng))


def test_coded_size_is_close_to_the_float_models_bits():
    """The fixed-point coder spends what the float mirror of the model predicts (within 2 %)."""
    from hsibench.codecs.neural.coolchic.model import arm_bits

    rng = np.random.default_rng(2)
    st = Structure(3, 3, 0, 8)
    shapes = grid_shapes(20, 17, 3)
    grids = random_grids(rng, shapes=shapes)
    exps = np.array([[2, 2, 1], [3, 4, 3], [6, 5, 6]])
    names = [s.name for s in layout(st, 4)[0] + layout(st, 4)[1] if s.name.startswith("arm")]
    p = {n: torch.from_numpy(rng.normal(0, 0.2, s.shape).astype(np.float32))
         for n, s in ((s.name, s) for s in layout(st, 4)[0] + layout(st, 4)[1]) if n in names}
    arm = E.FixedArm.from_float(*(p[n].numpy() for n in ("arm1", "arm1_b", "arm2", "arm2_b", "arm3", "arm3_b")))
    bits = float(arm_bits([torch.from_numpy(g.astype(np.float32)) for g in grids], torch.from_numpy(exps), p))
    coded = 8 * len(E.encode_latents(grids, exps, arm))
    assert abs(coded - bits) / bits < 0.02, (coded, bits)


def test_truncated_or_wrong_latent_streams_are_rejected():
    rng = np.random.default_rng(3)
    grids, arm = random_grids(rng), random_arm(rng)
    exps = np.ones((3, 3), np.int64)
    data = E.encode_latents(grids, exps, arm)
    with pytest.raises(CorruptDataError):
        E.decode_latents(data[: len(data) // 2], [g.shape[1:] for g in grids], 3, exps, arm)
    junk = np.random.default_rng(4).integers(0, 256, 64, dtype=np.uint8).tobytes()
    try:  # garbage either decodes to in-range latents or is rejected; it never crashes or hangs
        E.decode_latents(junk, [(4, 4)], 1, np.zeros((1, 1), np.int64), arm)
    except CorruptDataError:
        pass


def test_structure_helpers():
    assert max_levels(100, 100) == 5 and max_levels(50, 50) == 4 and max_levels(3, 100) == 1
    assert grid_shapes(5, 7, 3) == [(5, 7), (3, 4), (2, 2)]
    st = Structure(4, 3, 0, 8)
    assert latent_count(5, 7, st) == 4 * (35 + 12 + 4)
    q, f = layout(st, 10)
    assert [s.name for s in q] == ["gain", "basis", "arm1", "arm2", "arm3"] and "mean" in [s.name for s in f]
    assert "mlp1" in [s.name for s in layout(Structure(4, 3, 5, 8), 10)[0]]


@pytest.fixture(scope="module")
def streams():
    cube = make_cube()
    codec = codecs.get(SPEC)
    out = {r: codec.encode(cube, bpppb=r) for r in (2.0, 4.0)}
    return cube, codec, out


def test_rate_is_hit_from_below_and_the_decoder_gets_what_the_encoder_measured(streams):
    cube, codec, out = streams
    for rate, data in out.items():
        assert 8 * len(data) / cube.size <= rate
        assert 8 * len(data) / cube.size > 0.85 * rate  # the budget is filled, not wasted
    info = codec.info  # of the last encode (4 bpppb)
    assert info["psnr_decoded"] == pytest.approx(psnr_of(cube, codec.decode(out[4.0])), abs=1e-6)
    assert set(info["epochs_run"]) == {"warmup", "main", "finetune"} and info["epochs_run"]["main"] == 8
    assert info["schedule"]["policy"] == "quick" and info["stopped_by_time_budget"] is False
    assert psnr_of(cube, codec.decode(out[4.0])) > psnr_of(cube, codec.decode(out[2.0])) > 30


def test_decoding_is_deterministic_and_needs_only_the_bytes(streams):
    cube, codec, out = streams
    a = codecs.get("coolchic").decode(out[2.0])
    b = codecs.get("coolchic").decode(out[2.0])
    np.testing.assert_array_equal(a, b)


def repack(data: bytes, params: dict | None = None, payload: bytes | None = None) -> bytes:
    header, body = unpack(data)
    return pack(header.codec, header.shape, header.dtype, params if params is not None else header.params,
                body if payload is None else payload)


def test_bad_streams_with_valid_checksums_are_rejected(streams):
    cube, codec, out = streams
    data = out[2.0]
    header, body = unpack(data)
    dec = codecs.get("coolchic")
    for bad in ({**header.params, "k": 999}, {**header.params, "levels": 9}, {**header.params, "v": 7},
                {k: v for k, v in header.params.items() if k != "arm"}, {**header.params, "hidden": "x"}):
        with pytest.raises(CorruptDataError):
            dec.decode(repack(data, params=bad))
    with pytest.raises(CorruptDataError):
        dec.decode(repack(data, payload=body[: len(body) - 40]))  # latents cut short
    with pytest.raises(CorruptDataError):
        dec.decode(repack(data, payload=body[:20]))  # inside the weights
    with pytest.raises(CorruptDataError):
        dec.decode(pack("coolchic", header.shape, header.dtype, [1, 2], body))  # parameters not a mapping
    with pytest.raises(CorruptDataError):
        dec.decode(pack("coolchic", (2**16, 2**16, 2**10), header.dtype, header.params, body))  # voxel limit
    n = struct.unpack("<I", body[:4])[0]
    with pytest.raises(CorruptDataError):
        dec.decode(repack(data, payload=struct.pack("<I", n + 10**6) + body[4:]))


def test_the_synthesis_stays_within_the_voxel_limit(streams):
    """Every upsampled grid is held at once: (levels x k + 2 x hidden) maps of rows x cols, bounded by max_voxels."""
    cube, _, out = streams
    data = out[2.0]
    hp = unpack(data)[0].params
    rows, cols, _ = cube.shape
    need = (hp["levels"] * hp["k"] + 2 * hp["hidden"]) * rows * cols
    assert need > cube.size  # so the synthesis check, not the output's, is what refuses it
    with pytest.raises(StreamLimitError, match="upsampled grids"):
        codecs.get("coolchic").decode(data, max_voxels=need - 1)
    assert codecs.get("coolchic").decode(data, max_voxels=max(need, cube.size)).shape == cube.shape


def test_constant_cube_and_parameter_errors():
    cube = np.full((8, 9, 5), 77, np.uint16)
    c = codecs.get(SPEC)
    np.testing.assert_array_equal(c.decode(c.encode(cube, bpppb=4.0)), cube.astype(np.float32))
    with pytest.raises(InvalidParameterError):
        codecs.get("coolchic[levels=9]")
    with pytest.raises(InvalidParameterError):
        codecs.get("coolchic[levels=4,progress=false,epochs=2]").encode(make_cube(rows=12, cols=12), bpppb=4.0)


def test_schedule_policy():
    base = {"schedule": "auto", "lr": None, "epochs": None, "time_budget_s": None, "threads": None}
    cpu, cuda = S.policy(base, "cpu", cores=2), S.policy(base, "cuda")
    assert (cpu.name, cpu.main_epochs, cpu.time_budget_s, cpu.threads) == ("quick", None, S.QUICK_TIME_BUDGET_S, "auto:2")
    assert (cuda.name, cuda.main_epochs, cuda.time_budget_s, cuda.threads) == ("full", S.FULL_EPOCHS, None, None)
    st = Structure(8, 5, 0, 16)
    t = S.resolve({**base, "epochs": 50, "time_budget_s": 9.0, "threads": 3}, 100, 100, 198, st, "cpu")
    assert (t.main_epochs, t.warmup_epochs, t.finetune_epochs, t.time_budget_s, t.threads) == (50, 20, 5, 9.0, 3)
    big = S.resolve(base, 100, 100, 198, st, "cpu", cores=2)
    assert S.QUICK_EPOCHS_RANGE[0] <= big.main_epochs <= S.QUICK_EPOCHS_RANGE[1] and big.threads == 2
    assert S.resolve(base, 8, 8, 4, Structure(1, 1, 0, 4), "cpu", cores=2).threads == 1  # tiny: one thread
    resolved = codecs.get("coolchic[device=cpu]").resolved()
    assert resolved["device"] == "cpu" and resolved["schedule"] == "quick" and "progress" not in resolved
    assert math.isclose(resolved["lr"], S.LR)
