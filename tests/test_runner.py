"""Runner and records: one record per task, resume, --force, failures recorded, atomic store."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from hsibench import executors, results, runner, tasks
from hsibench.errors import InvalidParameterError, InvalidRateError, UnknownCodecError

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
    assert (out / "config.json").exists()
    envs = [json.loads(line) for line in (out / "env.jsonl").read_text().splitlines()]
    assert len(envs) == 1 and envs[0]["cpu_count"] and envs[0]["versions"]["numpy"]
    from hsibench import codecs

    assert r["codec"]["revision"] == codecs.codec_class("pca").revision and r["codec"]["resolved"]["components"] is None
    assert "hsibench_commit" in r and r["schema"] == results.SCHEMA_VERSION

    s2 = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, progress=False)
    assert (s2.ran, s2.skipped) == (0, 2)
    s3 = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, force=True, progress=False)
    assert s3.ran == 2
    assert len(results.load_records(out)) == 4 and len(results.to_frame(results.load_records(out))) == 2
    assert len((out / "env.jsonl").read_text().splitlines()) == 3  # one environment entry per invocation


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
        fh.write('{"key": "b", "sta')  # a record being written, or torn by a killed writer
    assert store.read() == [{"key": "a", "status": "ok", "x": float("inf")}]  # an unfinished tail: no warning
    store.append({"key": "c", "status": "failed"})  # starts on a fresh line: the torn one is lost alone
    with pytest.warns(UserWarning):
        assert [r["key"] for r in store.read()] == ["a", "c"]
        assert store.done_keys() == {"a"}


def test_task_keys_depend_on_every_input():
    base = dict(dataset_sha256="x", dataset_name="d", codec_name="pca", codec_revision=1, codec_resolved={"a": 1},
                target_bpppb=1.0, seed=0)
    keys = {results.task_key(**base)}
    changes = [{"dataset_sha256": "y"}, {"codec_resolved": {"a": 2}}, {"target_bpppb": 0.5}, {"seed": 1},
               {"codec_revision": 2}, {"codec_name": "speck"}]
    for change in changes:
        keys.add(results.task_key(**{**base, **change}))
    assert len(keys) == 1 + len(changes)


# --------------------------------------------------------------------------------------------
# Streams, sweeps, seeds, worker processes
# --------------------------------------------------------------------------------------------


def test_streams_are_kept_and_decode_to_the_recorded_metrics(tmp_path):
    from hsibench import codecs, datasets, metrics

    out = tmp_path / "run"
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=out, progress=False)
    rec = results.load_records(out)[0]
    path = out / rec["stream_file"]
    assert path == runner.stream_path(out, rec["key"]) and path.stat().st_size == rec["bytes"]
    cube = datasets.load(SMALL).cube
    decoded = codecs.get(rec["codec"]["spec"]).decode(path.read_bytes())
    assert metrics.mse(cube, decoded) == pytest.approx(rec["metrics"]["mse"])
    assert not list((out / "streams").glob(".*.tmp"))  # atomic writes leave no temporaries

    none = tmp_path / "nostreams"
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=none, progress=False, keep_streams=False)
    assert not (none / "streams").exists() and "stream_file" not in results.load_records(none)[0]


def test_failed_tasks_keep_no_stream(tmp_path):
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[0.02], out=tmp_path, progress=False)
    assert not (tmp_path / "streams").exists()


def test_sweep_expansion():
    assert runner.expand_sweep("pca") == ["pca"]
    assert runner.expand_sweep("pca[components=2]") == ["pca[components=2]"]
    assert runner.expand_sweep("gnn[blocks=2|3,prune=0|0.67,p=2]") == [
        "gnn[blocks=2,prune=0,p=2]", "gnn[blocks=2,prune=0.67,p=2]",
        "gnn[blocks=3,prune=0,p=2]", "gnn[blocks=3,prune=0.67,p=2]",
    ]
    assert runner.expand_sweeps(["pca[components=1|2]", "pca[components=2]"]) == ["pca[components=1]", "pca[components=2]"]
    with pytest.raises(InvalidParameterError):
        runner.expand_sweep("pca[components=1||2]")


def test_sweep_runs_the_product(tmp_path):
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca[components=1|2,basis_bits=8|12]"], rates=[2.0],
                   out=tmp_path, progress=False)
    assert s.ran == 4 and not s.failed
    specs = sorted(r["codec"]["spec"] for r in results.load_records(tmp_path))
    assert specs == ["pca[components=1,basis_bits=8]", "pca[components=1]",
                     "pca[components=2,basis_bits=8]", "pca[components=2]"]
    with pytest.raises(InvalidParameterError):  # each alternative is validated before anything runs
        runner.run(dataset_specs=[SMALL], codec_specs=["pca[components=1|x]"], rates=[2.0], out=tmp_path, progress=False)


def test_parse_seeds():
    assert runner.parse_seeds("0,1,2") == [0, 1, 2]
    assert runner.parse_seeds("3-5,1,3") == [3, 4, 5, 1]
    for bad in ("", "a", "-1", "1,,x"):
        with pytest.raises(InvalidParameterError):
            runner.parse_seeds(bad)


def test_seeds_multiply_only_stochastic_codecs(tmp_path, monkeypatch):
    from hsibench import codecs

    PCACodec = codecs.codec_class("pca")
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[2.0], seeds=[3, 4], out=tmp_path / "a", progress=False)
    assert s.ran == 1 and results.load_records(tmp_path / "a")[0]["seed"] == 3
    monkeypatch.setattr(PCACodec, "stochastic", True)
    out = tmp_path / "b"
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], seeds=[0, 1, 2], out=out, progress=False)
    assert s.ran == 6
    recs = results.load_records(out)
    assert sorted({r["seed"] for r in recs}) == [0, 1, 2] and len({r["key"] for r in recs}) == 6
    assert json.loads((out / "config.json").read_text())["seeds"] == [0, 1, 2]
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], seeds=[0, 1, 2, 3], out=out, progress=False)
    assert (s.ran, s.skipped) == (2, 6)  # resume: only the new seed runs


def test_jobs_run_in_workers_with_resume_and_failures(tmp_path):
    out = tmp_path / "run"
    kw = dict(dataset_specs=[SMALL, "synthetic[rows=16,cols=16,bands=8,seed=1]"],
              codec_specs=["pca", "pca[components=1]"], rates=[0.02, 1.0, 2.0], out=out, progress=False, jobs=2)
    s = runner.run(**kw)
    assert s.ran == 12 and len(s.failed) == 4  # 0.02 bpppb cannot hold a pca stream
    recs = results.load_records(out)
    ok = [r for r in recs if r["status"] == "ok"]
    assert len(ok) == 8 and all(r["worker"]["jobs"] == 2 for r in recs)
    assert all((out / r["stream_file"]).stat().st_size == r["bytes"] for r in ok)
    assert {r["error"]["type"] for r in recs if r["status"] == "failed"} == {"InvalidRateError"}
    serial = runner.run(**{**kw, "out": tmp_path / "serial", "jobs": 1})
    by_key = {r["key"]: r for r in results.load_records(tmp_path / "serial")}
    for r in ok:  # same bytes whichever process encoded them
        assert by_key[r["key"]]["metrics"]["mse"] == r["metrics"]["mse"]
    assert serial.ran == 12
    again = runner.run(**kw)
    assert (again.ran, again.skipped) == (4, 8)  # failures retried, successes resumed


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(InvalidParameterError):
        runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=tmp_path, progress=False, jobs=0)


def test_warm_up_runs_once_per_spec_and_rate(tmp_path, monkeypatch):
    calls = []
    real = tasks.warm_up
    monkeypatch.setattr(tasks, "_WARM", set())
    monkeypatch.setattr(tasks, "warm_up", lambda task: calls.append((task.spec, task.rate)) or real(task))
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=tmp_path / "a", progress=False)
    assert calls == [("pca", 1.0), ("pca", 2.0)] and len(tasks._WARM) == 2
    assert all(r["warmed_up"] for r in results.load_records(tmp_path / "a"))
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=tmp_path / "b", progress=False,
               warmup=False)
    assert len(calls) == 2 and "warmed_up" not in results.load_records(tmp_path / "b")[0]
    # a warm-up that cannot encode is ignored: the task reports its own failure
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[0.02], out=tmp_path / "c", progress=False)
    assert s.failed[0]["error"]["type"] == "InvalidRateError"


def test_config_keeps_the_history_of_a_run_directory(tmp_path):
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[2.0], out=tmp_path, progress=False)
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[2.0], out=tmp_path, progress=False)
    assert "history" not in json.loads((tmp_path / "config.json").read_text())  # same command: nothing new
    runner.run(dataset_specs=[SMALL], codec_specs=["pca[components=1]"], rates=[1.0], out=tmp_path, progress=False)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["codecs"] == ["pca[components=1]"] and [h["codecs"] for h in cfg["history"]] == [["pca"]]


def test_a_dead_worker_is_a_failed_task_not_a_crash(tmp_path, monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    class DeadPool:  # every task's worker "dies", as a segfault or the OOM killer would make it
        def __init__(self, *a, **k):
            pass

        def submit(self, fn, *args):
            fut = Future()
            fut.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return fut

        def shutdown(self, **k):
            pass

    monkeypatch.setattr(executors.local, "ProcessPoolExecutor", DeadPool)
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=tmp_path, progress=False, jobs=2)
    assert s.ran == 2 and len(s.failed) == 2
    rec = results.load_records(tmp_path)[0]
    assert rec["status"] == "failed" and rec["error"]["type"] == "BrokenProcessPool"
    assert rec["error"]["message"].startswith("worker process failed") and rec["codec"]["spec"] == "pca"


def test_a_task_keyed_elsewhere_fails_before_its_warm_up(monkeypatch):
    from hsibench import datasets

    task = tasks.expand([datasets.load(SMALL)], ["pca"], [1.0], 0)[0]
    warmed = []
    monkeypatch.setattr(tasks, "warm_up", warmed.append)
    rec, data = tasks.execute(replace(task, resolved={**task.resolved, "components": 3}))
    assert rec["status"] == "failed" and rec["error"]["type"] == "ResolvedElsewhereError" and data is None
    assert "components: 3 there, None here" in rec["error"]["message"] and warmed == []
    rec, data = tasks.execute(replace(task, revision=task.revision + 1))  # keyed by other code
    assert rec["error"]["type"] == "ResolvedElsewhereError" and "revision" in rec["error"]["message"]
    rec, data = tasks.execute(task)
    assert rec["status"] == "ok" and len(data) == rec["bytes"] and warmed == [task]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os

    results.atomic_write(tmp_path / "f.txt", b"x")
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~results._UMASK
    assert os.access(tmp_path / "f.txt", os.R_OK)


def test_withheld_key_is_not_recorded(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "run"
    s = runner.run(dataset_specs=[SMALL], codec_specs=["gnn[key=987654321,epochs=20,progress=false]"], rates=[2.0],
                   out=out, progress=False, warmup=False)
    assert s.failed == []
    rec = results.load_records(out)[0]
    assert rec["codec"]["params"]["key"] == runner.WITHHELD and "key=withheld" in rec["codec"]["spec"]
    assert "987654321" not in (out / "records.jsonl").read_text()


# --------------------------------------------------------------------------------------------
# Provenance: keys hash what the codec will do; records say which code did it
# --------------------------------------------------------------------------------------------


def _gnn_key(spec: str) -> str:
    from hsibench import datasets

    scene = datasets.load(SMALL)
    return tasks.make_task(scene, tasks.cube_sha256(scene.cube), spec, 2.0, 0).key


def test_key_follows_the_resolved_device_epochs_and_revision(monkeypatch):
    torch = pytest.importorskip("torch")
    from hsibench import codecs

    if torch.cuda.is_available():
        pytest.skip("this test models a CPU-only machine")
    auto = _gnn_key("gnn[progress=false]")
    assert _gnn_key("gnn[device=cpu]") == auto  # auto resolves to the CPU here: the same task
    assert _gnn_key("gnn[schedule=quick]") == auto  # ... and to the quick schedule
    assert _gnn_key("gnn[schedule=paper]") != auto  # 15000 main epochs at lr 5e-4
    assert _gnn_key("gnn[epochs=15000]") != auto
    assert _gnn_key("gnn[threads=1]") != auto  # CPU threads change the bytes
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the same spec on a GPU machine
    assert _gnn_key("gnn[progress=false]") != auto
    monkeypatch.undo()
    monkeypatch.setattr(codecs.codec_class("gnn"), "revision", codecs.codec_class("gnn").revision + 1)
    assert _gnn_key("gnn[progress=false]") != auto


def test_identical_rerun_skips_and_a_revision_bump_reruns(tmp_path, monkeypatch):
    from hsibench import codecs

    kw = dict(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=tmp_path, progress=False, warmup=False)
    rev = codecs.codec_class("pca").revision
    assert runner.run(**kw).ran == 1
    assert (runner.run(**kw).ran, runner.run(**kw).skipped) == (0, 1)
    monkeypatch.setattr(codecs.codec_class("pca"), "revision", codecs.codec_class("pca").revision + 1)
    s = runner.run(**kw)
    assert (s.ran, s.skipped) == (1, 0)
    recs = results.load_records(tmp_path)
    assert [r["codec"]["revision"] for r in recs] == [rev, rev + 1]
    # reports show the current revision only, and say how many older records they left out
    assert [r["codec"]["revision"] for r in results.latest(recs)] == [rev + 1] and results.stale_count(recs) == 1
    from hsibench import report

    assert "1 records made by an older revision" in report.render(recs)


def test_a_worker_that_resolves_differently_fails_the_task(monkeypatch):
    torch = pytest.importorskip("torch")
    from hsibench import datasets

    scene = datasets.load(SMALL)
    task = tasks.make_task(scene, tasks.cube_sha256(scene.cube), "gnn[epochs=2,progress=false]", 2.0, 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the executing process sees a GPU
    rec, data = tasks.execute(task, warmup=False)
    assert rec["status"] == "failed" and rec["error"]["type"] == "ResolvedElsewhereError" and data is None
    assert "device: 'cpu' there, 'cuda' here" in rec["error"]["message"]


def test_shards_cover_the_task_list_exactly_once(tmp_path):
    kw = dict(dataset_specs=[SMALL], codec_specs=["pca", "pca[components=1]", "speck"], rates=[0.5, 1.0, 2.0],
              progress=False, warmup=False)
    full = [t.key for t in tasks.expand([__import__("hsibench").datasets.load(SMALL)], kw["codec_specs"],
                                        kw["rates"], [0])]
    keys = []
    for i in (1, 2, 3):
        runner.run(**kw, out=tmp_path, shard_of=(i, 3))
        keys = [r["key"] for r in results.load_records(tmp_path)]
    assert sorted(keys) == sorted(full) and len(set(keys)) == len(full) == 9
    with pytest.raises(InvalidParameterError):
        runner.parse_shard("4/3")


def test_match_rate_runs_other_codecs_at_the_exact_achieved_rate(tmp_path):
    s = runner.run(dataset_specs=[SMALL], codec_specs=["pca", "speck"], rates=[0.7], out=tmp_path, progress=False,
                   warmup=False, match_rate="pca")
    recs = [r for r in results.load_records(tmp_path) if r["status"] == "ok"]
    pca = next(r for r in recs if r["codec"]["name"] == "pca")
    matched = [r for r in recs if r.get("matched_to") == pca["key"]]
    assert s.ran == 3 and len(matched) == 1 and matched[0]["codec"]["name"] == "speck"
    # an embedded codec lands on the same size (its range coder may end a byte or two short)
    assert pca["bytes"] - 2 <= matched[0]["bytes"] <= pca["bytes"]
    again = runner.run(dataset_specs=[SMALL], codec_specs=["pca", "speck"], rates=[0.7], out=tmp_path,
                       progress=False, warmup=False, match_rate="pca")
    assert (again.ran, again.skipped) == (0, 3)
