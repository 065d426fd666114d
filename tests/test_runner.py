"""Runner and records: one record per task, resume, --force, failures recorded, atomic store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hsibench import results, runner
from hsibench.errors import InvalidRateError, UnknownCodecError

SMALL = "synthetic[rows=24,cols=24,bands=12]"


def test_run_records_and_resumes(tmp_path):
    out = tmp_path / "run"
    s1 = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, progress=False)
    assert (s1.ran, s1.skipped, s1.failed) == (2, 0, [])
    recs = results.load_records(out)
    assert [r["status"] for r in recs] == ["ok", "ok"]
    r = recs[0]
    assert r["bytes"] * 8 / np.prod(r["dataset"]["shape"]) == pytest.approx(r["bpppb"])
    assert r["bpppb"] <= r["target_bpppb"] and r["cr"] == pytest.approx(16 / r["bpppb"])
    assert r["metrics"]["psnr"] > 30 and len(r["metrics"]["band_psnr"]) == 12
    assert r["dataset"]["sha256"] and r["versions"]["numpy"] and r["encode_s"] > 0
    assert (out / "config.json").exists() and json.loads((out / "env.json").read_text())["cpu_count"]

    s2 = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, progress=False)
    assert (s2.ran, s2.skipped) == (0, 2)
    s3 = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, force=True, progress=False)
    assert s3.ran == 2
    assert len(results.load_records(out)) == 4 and len(results.to_frame(results.load_records(out))) == 2


def test_failures_are_recorded_and_retried(tmp_path):
    out = tmp_path / "run"
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[0.02], out=out, progress=False)
    assert len(s.failed) == 1
    rec = results.load_records(out)[0]
    assert rec["status"] == "failed" and rec["error"]["type"] == "InvalidRateError" and "metrics" not in rec
    again = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[0.02], out=out, progress=False)
    assert again.ran == 1  # failures are not cached


def test_bad_inputs_fail_before_running(tmp_path):
    with pytest.raises(InvalidRateError):
        runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[-1], out=tmp_path, progress=False)
    with pytest.raises(UnknownCodecError):
        runner.run(dataset_specs=[SMALL], codec_specs=["nope"], rates=[1], out=tmp_path, progress=False)
    assert not (tmp_path / "records.jsonl").exists()


def test_store_survives_a_damaged_line(tmp_path):
    store = results.RecordStore(tmp_path)
    store.append({"key": "a", "status": "ok", "x": float("inf")})
    with open(store.path, "a") as fh:
        fh.write('{"key": "b", "sta')  # an interrupted foreign write
    with pytest.warns(UserWarning, match="damaged"):
        recs = store.read()
    assert recs == [{"key": "a", "status": "ok", "x": float("inf")}]
    store.append({"key": "c", "status": "failed"})
    with pytest.warns(UserWarning):
        assert [r["key"] for r in store.read()] == ["a", "c"]
        assert store.done_keys() == {"a"}


def test_task_keys_depend_on_every_input():
    base = dict(dataset_sha256="x", dataset_name="d", codec_spec="pca", codec_params={"a": 1}, target_bpppb=1.0, seed=0)
    keys = {results.task_key(**base)}
    for change in [{"dataset_sha256": "y"}, {"codec_params": {"a": 2}}, {"target_bpppb": 0.5}, {"seed": 1}]:
        keys.add(results.task_key(**{**base, **change}))
    assert len(keys) == 5
