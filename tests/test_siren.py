"""siren: the rate search, storage at every precision, rate from below, bad streams, schedules."""

from __future__ import annotations

import numpy as np
import pytest

from hsibench import codecs
from hsibench.codecs.base import pack, unpack
from hsibench.codecs.neural import schedule as shared
from hsibench.codecs.neural.siren import schedule as S
from hsibench.codecs.neural.siren.structure import Structure, candidates, layout, param_count, payload_size, widest
from hsibench.errors import CorruptDataError, InvalidRateError

from .conftest import make_cube, psnr_of

torch = pytest.importorskip("torch")


def test_structure_sizes_and_the_widest_network_that_fits():
    st = Structure(3, 10, "float16")
    assert param_count(st, 16) == (2 + 1) * 10 + 2 * (10 + 1) * 10 + (10 + 1) * 16
    assert payload_size(st, 16) == 1 + 2 * param_count(st, 16)
    w = widest(3, 16, 2000, "float16")
    assert payload_size(Structure(3, w, "float16"), 16) <= 2000 < payload_size(Structure(3, w + 1, "float16"), 16)
    found = candidates(16, 2000, "float16")
    assert [c.depth for c in found] == [2, 3, 4, 5] and all(payload_size(c, 16) <= 2000 for c in found)
    assert candidates(16, 2000, "float16", depth=3) == [Structure(3, w, "float16")]
    assert candidates(16, 10, "float16") == []
    assert [s.name for s in layout(Structure(2, 4, "int8"), 5)] == ["w0", "b0", "w1", "b1", "w2", "b2"]


@pytest.mark.parametrize("weights", ["float16", "int8", "float32"])
def test_every_precision_round_trips_below_the_rate(weights):
    cube = make_cube()
    codec = codecs.get(f"siren[depth=2,weights={weights},epochs=40,progress=false,threads=1]")
    data = codec.encode(cube, bpppb=6.0)
    assert 8 * len(data) / cube.size <= 6.0
    out = codecs.get("siren").decode(data)
    assert out.shape == cube.shape and np.isfinite(out).all()
    assert codec.info["psnr_decoded"] == pytest.approx(psnr_of(cube, out), abs=1e-6)
    assert codec.info["structure"]["weights"] == weights
    assert ("finetune" in codec.info["epochs_run"]) == (weights != "float32")


def test_the_search_probes_every_depth_and_keeps_the_best():
    codec = codecs.get("siren[epochs=20,progress=false,threads=1]")
    codec.encode(make_cube(), bpppb=4.0)
    info = codec.info
    assert len(info["probes"]) == 4 and info["epochs_run"]["probe"] == 4 * 2
    best = min(info["probes"], key=info["probes"].get)
    assert best == f"{info['structure']['depth']}x{info['structure']['width']}"
    assert info["schedule"]["policy"] == "quick" and info["stopped_by_time_budget"] is False


def test_too_low_a_rate_says_what_is_needed():
    with pytest.raises(InvalidRateError, match="smallest network"):
        codecs.get("siren[depth=5,width=200,progress=false]").encode(make_cube(), bpppb=0.5)


def test_bad_streams_with_valid_checksums_are_rejected():
    cube = make_cube()
    data = codecs.get("siren[depth=2,epochs=5,progress=false,threads=1]").encode(cube, bpppb=4.0)
    header, body = unpack(data)
    dec = codecs.get("siren")
    for bad in ({**header.params, "width": 5000}, {**header.params, "weights": "int4"}, {**header.params, "v": 9},
                {**header.params, "omega0": -1}, {k: v for k, v in header.params.items() if k != "depth"}):
        with pytest.raises(CorruptDataError):
            dec.decode(pack("siren", header.shape, header.dtype, bad, body))
    with pytest.raises(CorruptDataError):
        dec.decode(pack("siren", header.shape, header.dtype, header.params, body[:-7]))
    with pytest.raises(CorruptDataError):
        dec.decode(pack("siren", (2**20, 2**10, 16), header.dtype, header.params, body))


def test_schedules_and_the_shared_policy_rules():
    base = {"schedule": "auto", "lr": None, "epochs": None, "time_budget_s": None, "threads": None}
    cpu, cuda = S.policy(base, "cpu", cores=4), S.policy(base, "cuda")
    assert (cpu.name, cpu.lr, cpu.main_epochs, cpu.time_budget_s) == ("quick", S.QUICK_LR, None, S.QUICK_TIME_BUDGET_S)
    assert (cuda.name, cuda.lr, cuda.main_epochs, cuda.time_budget_s) == ("full", S.FULL_LR, S.FULL_EPOCHS, None)
    t = S.resolve({**base, "schedule": "full", "epochs": 100}, 10000, 198, [Structure(3, 50, "float16")], "cpu", cores=2)
    assert (t.policy, t.main_epochs, t.probe_epochs, t.finetune_epochs, t.cosine) == ("full", 100, 0, 10, False)
    two = [Structure(2, 60, "float32"), Structure(3, 40, "float32")]
    q = S.resolve(base, 10000, 198, two, "cpu", cores=2)
    assert q.probe_epochs == round(S.PROBE_SHARE * q.main_epochs) and q.finetune_epochs == 0 and q.cosine
    assert S.QUICK_EPOCHS_RANGE[0] <= q.main_epochs <= S.QUICK_EPOCHS_RANGE[1] and q.threads == 2
    assert shared.budget_epochs(1e9, 1e6, 10, 500) == 500 and shared.budget_epochs(1e9, 1e8, 50, 500) == 50
    resolved = codecs.get("siren[device=cpu,threads=2]").resolved()
    assert (resolved["device"], resolved["schedule"], resolved["threads"]) == ("cpu", "quick", 2)
