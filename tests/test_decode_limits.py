"""Decoders treat every stream as hostile: voxel limit, payload-honesty bounds, validated parameters, finite output.

Streams here are valid encodings edited the way an attacker would (fields changed, then re-packed
with ``pack`` so the CRC matches).  Each test names the rule it checks; the random campaign is
tests/test_fuzz.py.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs import _bits, limits
from hsibench.codecs.base import FLOAT32_MAX, as_output, pack, unpack
from hsibench.codecs.neural import storage
from hsibench.errors import CorruptDataError, InvalidParameterError, StreamLimitError
from hsibench.fuzz import corpus, pack_raw

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bases() -> dict[str, list[tuple[corpus.Base, bytes]]]:
    """Every codec's fuzz corpus (hsibench.fuzz.corpus: 32x32x16 cubes, the gnn 16x16x8)."""
    return {name: corpus.build(name) for name in codecs.names()}


@pytest.fixture(scope="module")
def streams(bases) -> dict[str, tuple[corpus.Base, bytes]]:
    """The first base stream of every codec."""
    return {name: b[0] for name, b in bases.items()}


def _repack(data: bytes, *, shape=None, params=None, payload=None) -> bytes:
    h, p = unpack(data)
    return pack(h.codec, shape or h.shape, h.dtype, h.params if params is None else params,
                p if payload is None else payload)


# --------------------------------------------------------------------------------------------
# the voxel limit
# --------------------------------------------------------------------------------------------


def test_a_header_of_2_31_rows_fails_at_once_without_allocating(streams, tmp_path):
    """Every codec refuses (2**31 - 1) x cols x bands before allocating: peak RSS of the decoding
    process stays under 200 MB and each refusal takes well under a second."""
    for name, (_, data) in streams.items():
        h, _ = unpack(data)
        (tmp_path / f"{name}.hsib").write_bytes(_repack(data, shape=(2**31 - 1, h.shape[1], h.shape[2])))
    script = textwrap.dedent(f"""
        import json, time
        from pathlib import Path
        from hsibench import codecs
        def rss():  # peak resident set of this process (ru_maxrss would carry the forking parent's over exec)
            line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM:"))
            return int(line.split()[1]) * 1024
        out = {{"before": rss()}}
        for path in sorted(Path({str(tmp_path)!r}).glob("*.hsib")):
            t0 = time.perf_counter()
            try:
                codecs.get(path.stem).decode(path.read_bytes())
                res = "decoded"
            except Exception as exc:
                res = type(exc).__name__ + ": " + str(exc)
            out[path.stem] = [res, time.perf_counter() - t0]
        out["after"] = rss()
        print(json.dumps(out))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**_env(), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in streams:
        res, seconds = out[name]
        assert res.startswith("StreamLimitError") and "max_voxels=" in res and "HSIBENCH_MAX_VOXELS" in res, res
        assert seconds < 1.0, (name, seconds)
    assert out["after"] < 200e6, out  # the whole process, imports included
    assert out["after"] - out["before"] < 20e6, out


def _env() -> dict:
    import os

    env = dict(os.environ)
    env.pop(limits.ENV_MAX_VOXELS, None)
    return env


def test_max_voxels_keyword_environment_and_default(streams, monkeypatch):
    _, data = streams["speck"]
    n = math.prod(unpack(data)[0].shape)
    speck = codecs.get("speck")
    monkeypatch.delenv(limits.ENV_MAX_VOXELS, raising=False)
    assert limits.max_voxels() == limits.DEFAULT_MAX_VOXELS == 2**31
    assert speck.decode(data, max_voxels=n).shape == unpack(data)[0].shape
    with pytest.raises(StreamLimitError, match=rf"{n:,} voxels, above the decoder's limit of {n - 1:,}"):
        speck.decode(data, max_voxels=n - 1)
    monkeypatch.setenv(limits.ENV_MAX_VOXELS, str(n - 1))
    with pytest.raises(StreamLimitError, match="HSIBENCH_MAX_VOXELS"):
        speck.decode(data)
    speck.decode(data, max_voxels=n)  # the keyword beats the environment
    monkeypatch.setenv(limits.ENV_MAX_VOXELS, "1e6")
    speck.decode(data)
    for bad in ("lots", "0", "-5", "1.5"):
        monkeypatch.setenv(limits.ENV_MAX_VOXELS, bad)
        with pytest.raises(InvalidParameterError, match=limits.ENV_MAX_VOXELS):
            speck.decode(data)
    for bad in (0, -1, 1.5, True, "x"):
        with pytest.raises(InvalidParameterError, match="max_voxels"):
            speck.decode(data, max_voxels=bad)
    assert issubclass(StreamLimitError, CorruptDataError)


def test_gnn_limits_count_every_image_and_every_generated_tile(bases):
    gnn = codecs.get("gnn")
    multi = next(d for b, d in bases["gnn"] if b.method == "decode_images")
    tiled = next(d for b, d in bases["gnn"] if "tile=" in b.spec)
    n = math.prod(unpack(multi)[0].shape)
    assert len(gnn.decode_images(multi, max_voxels=2 * n)) == 2
    with pytest.raises(StreamLimitError, match="2 images"):
        gnn.decode_images(multi, max_voxels=2 * n - 1)
    # 16 x 16 pixels in 3 x 3 tiles of 8 x 8: the network generates 9 * 64 * 8 = 4608 voxels for a 2048-voxel cube
    assert gnn.decode(tiled, key=7, max_voxels=10**6).shape == (16, 16, 8)
    with pytest.raises(StreamLimitError, match="9 tiles"):
        gnn.decode(tiled, key=7, max_voxels=4607)


# --------------------------------------------------------------------------------------------
# what the payload can honestly carry
# --------------------------------------------------------------------------------------------


def test_decision_bound_holds_for_the_range_coder():
    """The cheapest possible decisions (one model, always its likely symbol) stay under DECISIONS_PER_BYTE."""
    n = 500_000
    s, buf, models = _bits.enc_new(), np.zeros(4096, np.uint8), _bits.new_models(1)
    for _ in range(n):
        _bits.enc_bit(s, buf, models, 0, 0)
    size = _bits.enc_finish(s, buf)
    assert 0 < size and n / size < limits.DECISIONS_PER_BYTE
    assert n / size > 0.8 * limits.DECISIONS_PER_BYTE  # ... and the bound is not loose
    assert limits.max_decisions(size) >= n
    with pytest.raises(StreamLimitError, match="coded bytes"):
        limits.check_coded(limits.max_decisions(100) + 1, 100, "values")


def test_transform_codecs_refuse_images_their_payload_cannot_hold(streams):
    """A header inflated under the voxel limit still cannot claim more coded values than the bytes hold."""
    for name in ("pca", "pca_jpeg2000"):
        _, data = streams[name]
        rows, cols, bands = unpack(data)[0].shape
        big = (rows, cols, 2**20) if name == "pca_jpeg2000" else (2**20, cols, bands)
        with pytest.raises(StreamLimitError, match="coded bytes"):
            codecs.get(name).decode(_repack(data, shape=big))


def test_gnn_storage_checks_sizes_before_allocating():
    spec = storage.TensorSpec("fc.weight", (10**6, 4096), True, 1)  # 4e9 weights, i.e. 32 GB of int64
    payload = bytes([0]) + struct.pack("<I", 3) + struct.pack("<f", 1.0) + b"\x00\x00\x00"
    with pytest.raises(StreamLimitError, match="integer weights"):
        storage.decode(payload, [spec], "int8")
    with pytest.raises(CorruptDataError, match="truncated"):
        storage.decode(bytes([0]) + b"\x00" * 64, [spec], "float32")


def test_jpeg2000_codestreams_must_match_the_container(streams):
    _, data = streams["jpeg2000"]
    payload = unpack(data)[1]
    for offset, value in ((8 + 4, 1 << 20), (8 + 24, 1), (8 + 36, 17)):  # Xsiz, XTsiz (1-pixel tiles), Csiz
        bad = bytearray(payload)
        size = 2 if offset == 8 + 36 else 4
        bad[offset : offset + size] = value.to_bytes(size, "big")
        with pytest.raises(CorruptDataError, match="jpeg2000"):
            codecs.get("jpeg2000").decode(_repack(data, payload=bytes(bad)))


# --------------------------------------------------------------------------------------------
# parameters and output
# --------------------------------------------------------------------------------------------

_BAD_VALUES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 2**63, -1, 3.5, "3", True, None, [], {"a": 1}]


@pytest.mark.parametrize("name", codecs.names())
def test_every_bad_parameter_value_is_refused_or_decodes_finite(streams, name):
    """Each JSON parameter (and each element of a list parameter) set to NaN, inf, huge, negative,
    fractional, or the wrong type: a CorruptDataError or a finite float32 cube, nothing else.
    (On main before issue 11 these gave NaN cubes, OverflowError and AttributeError.)"""
    base, data = streams[name]
    h, _ = unpack(data)
    codec = codecs.get(name)
    for key, value in h.params.items():
        targets = [(key, None)] + ([(key, i) for i in range(len(value))] if isinstance(value, list) else [])
        for k, i in targets:
            for bad in _BAD_VALUES:
                params = json.loads(json.dumps(h.params))
                if i is None:
                    params[k] = bad
                else:
                    params[k][i] = bad
                try:
                    out = codec.decode(_repack(data, params=params), **base.secrets)
                except CorruptDataError:
                    continue
                assert out.dtype == np.float32 and out.shape == h.shape and np.isfinite(out).all(), (k, i, bad)


def test_headers_that_are_not_cube_headers_are_refused(streams):
    _, data = streams["spiht"]
    h, p = unpack(data)
    meta = json.dumps(h.params).encode()
    for dt in (b"|b1", b"<c8", b"|O", b"f4,f4", b"(2,3)f4", b"<U2", b"\xff"):
        with pytest.raises(CorruptDataError, match="header"):
            codecs.get("spiht").decode(pack_raw(b"spiht", dt, h.shape, meta, p))
    for text in (b"[1, 2]", b"3", b"null", b"[" * 30000 + b"]" * 30000, b'{"a": NaN'):
        with pytest.raises(CorruptDataError):
            codecs.get("spiht").decode(pack_raw(b"spiht", b"<u2", h.shape, text, p))


def test_output_is_float32_and_never_non_finite():
    x = np.array([[[1.5, -2.0]]])
    assert as_output(x, (1, 1, 2)).dtype == np.float32
    big = as_output(np.array([[[1e39, -1e300, 3.0]]]), (1, 1, 3))  # finite beyond float32: the nearest float32
    assert big.tolist() == [[[FLOAT32_MAX, -FLOAT32_MAX, 3.0]]]
    for bad in (np.nan, np.inf):
        with pytest.raises(CorruptDataError, match="NaN or infinite"):
            as_output(np.array([[[1.0, bad]]]), (1, 1, 2))
    with pytest.raises(CorruptDataError, match="shape"):
        as_output(x, (1, 2, 1))


def test_pca_band_means_must_be_finite(streams):
    _, data = streams["pca"]
    payload = bytearray(unpack(data)[1])
    payload[11:15] = struct.pack("<f", math.nan)  # the first band mean, after k, basis bits and step
    with pytest.raises(CorruptDataError, match="means"):
        codecs.get("pca").decode(_repack(data, payload=bytes(payload)))


def test_pca_predictor_flags_must_fit_the_payload(streams):
    """A component count whose predictor flags run past the payload (numpy's ValueError on 6d21f55)."""
    _, data = streams["pca"]
    bands = unpack(data)[0].shape[2]
    short = struct.pack("<HBd", 16, 12, 1.0) + np.ones(bands, "<f4").tobytes() + b"\x00"  # 16 flags need 2 bytes
    with pytest.raises(CorruptDataError, match="flags"):
        codecs.get("pca").decode(_repack(data, payload=short))
