"""Crafted-stream fuzzing (hsibench.fuzz): the harness itself, then a few hundred streams per codec.

Every codec's crafted streams are decoded in a subprocess with an address-space limit and a
time limit; the test fails on any outcome other than a finite float32 cube of the header's
shape or a CorruptDataError (see hsibench/fuzz/harness.py).  The long run is
``python benchmarks/fuzz_decoders.py --n 10000``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs.base import pack, unpack
from hsibench.errors import CorruptDataError
from hsibench.fuzz import corpus, fuzz_codec, pack_raw, streams
from hsibench.fuzz.harness import GIB, Worker

SEED = 20260411
N_STREAMS = {"gnn": 200}  # gnn decodes run torch; the classical codecs take 300 each
N_DEFAULT = 300


def _bases(name: str, shape=(4, 4, 2)):
    data = pack(name, shape, np.dtype("<u2"), {"a": 1, "kind": "x"}, b"\x01\x02\x03\x04" * 8)
    return [(corpus.Base(name, 1.0), data)]


def test_pack_raw_writes_the_containers_layout():
    params = {"k": "packet", "l": [3, 2], "m": 12.5}
    ref = pack("spiht", (5, 6, 7), np.dtype("<u2"), params, b"payload")
    assert pack_raw(b"spiht", b"<u2", (5, 6, 7), b'{"k":"packet","l":[3,2],"m":12.5}', b"payload") == ref


def test_crafted_streams_are_seeded_and_pass_the_crc():
    bases = corpus.build("speck")[:2]
    a = [c.data for _, _, c in streams("speck", bases, 200, seed=3)]
    b = [c.data for _, _, c in streams("speck", bases, 200, seed=3)]
    c = [c.data for _, _, c in streams("speck", bases, 200, seed=4)]
    assert a == b and a != c
    for data in a:  # a crafted stream may have a bad header, never a bad checksum
        try:
            unpack(data)
        except CorruptDataError as exc:
            assert "checksum" not in str(exc)


_BROKEN = {"fuzzbad_exception": "exception", "fuzzbad_wrong_error": "wrong_error", "fuzzbad_nonfinite": "bad_output",
           "fuzzbad_shape": "bad_output", "fuzzbad_memory": "memory", "fuzzbad_slow": "rejected"}


def test_worker_classifies_what_broken_decoders_do():
    """One worker, the deliberately broken codecs of tests/fuzz_targets.py: each outcome is named."""
    worker = Worker(sorted(_BROKEN), [], GIB // 2, ("tests.fuzz_targets",))  # 1 GiB > the headroom
    try:
        for name, kind in _BROKEN.items():
            data = _bases(name)[0][1]
            res = worker.decode({"codec": name, "data": data, "method": "decode", "secrets": {}, "max_voxels": 2**20}, 30)
            assert res["kind"] == kind, (name, res)
        assert res["cpu"] >= 0.3  # fuzzbad_slow: CPU seconds are measured (the harness's "slow" finding)
    finally:
        worker.close()


# the slow target burns 0.3 CPU s: its wall-clock timeout is generous, so a loaded machine
# (where 0.3 CPU s can take several wall seconds) still sees "slow", not "timeout"
@pytest.mark.parametrize("name, kind, timeout", [("fuzzbad_hang", "timeout", 2.0), ("fuzzbad_crash", "crash", 2.0),
                                                 ("fuzzbad_slow", "slow", 30.0)])
def test_fuzz_codec_reports_hangs_crashes_and_slow_decodes(name, kind, timeout):
    rep = fuzz_codec(name, 1, seed=0, bases=_bases(name), imports=("tests.fuzz_targets",), warm=False,
                     timeout=timeout, slow=0.1)
    assert rep.n == 1 and [f.kind for f in rep.findings] == [kind], rep.findings


def test_crafted_streams_decode_or_are_rejected():
    """Every codec: a few hundred crafted streams, two codecs at a time (one per core), no finding."""
    def run(name):
        return fuzz_codec(name, N_STREAMS.get(name, N_DEFAULT), seed=SEED, max_voxels=2**18, timeout=30.0, slow=2.0)

    names = sorted(codecs.names(), key=lambda n: n != "gnn")  # the longest first
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(run, names))
    lines = [f"{r.codec} {f.kind} #{f.index} ({'+'.join(f.how)} of {f.base}): {f.detail}"
             for r in reports for f in r.findings[:5]]
    assert not lines, "\n".join(lines)
    for rep in reports:
        n = N_STREAMS.get(rep.codec, N_DEFAULT)
        assert rep.n == n
        # the mutations reach past the header checks: some streams decode, some are refused
        assert rep.outcomes["ok"] > n // 20 and rep.outcomes["rejected"] > n // 20, (rep.codec, rep.outcomes)
