"""Many writers, one run directory: concurrent `hsibench run` processes, concurrent appends, shards.

Real processes writing at the same time, not simulated interleavings: the store's contract is
that every appended record survives whole and once, whoever else writes (the old store
rewrote the file on every append and kept 156 of 300 records from two writers).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hsibench import codecs, datasets, results, runner, tasks
from hsibench.cli import main

SMALL = "synthetic[rows=24,cols=24,bands=12]"
REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The environment for child processes: this checkout's hsibench first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _expected_keys(codec_specs: list[str], rates: list[float]) -> set[str]:
    scene = datasets.load(SMALL)
    return {t.key for t in tasks.expand([scene], codec_specs, rates, 0)}


def test_four_concurrent_runs_share_one_out(tmp_path):
    out = tmp_path / "run"
    jobs = [("pca", "1,2"), ("pca", "0.5,1.5"), ("speck", "1,2"), ("speck", "0.5,1.5")]
    procs = [
        subprocess.Popen([sys.executable, "-m", "hsibench.cli", "run", "--codecs", codec, "--rates", rates,
                          "--dataset", SMALL, "--out", str(out), "--no-progress", "--no-warmup"],
                         env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for codec, rates in jobs
    ]
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        assert "2 run, 0 already recorded, 0 failed" in stdout
    recs = results.load_records(out)
    expected = set()
    for codec, rates in jobs:
        expected |= _expected_keys([codec], [float(r) for r in rates.split(",")])
    assert len(expected) == 8
    assert Counter(r["key"] for r in recs) == Counter(expected)  # every record, each exactly once
    assert len(results.latest(recs)) == len(recs) == 8
    for r in recs:  # every stream whole, written before its record
        assert (out / r["stream_file"]).stat().st_size == r["bytes"]
    assert not list(out.rglob(".*.tmp"))
    envs = [json.loads(line) for line in (out / "env.jsonl").read_text().splitlines()]
    assert len(envs) == 4 and len({e["pid"] for e in envs}) == 4  # one entry per invocation, none torn
    json.loads((out / "config.json").read_text())  # replaced atomically under its lock: valid JSON


def _append_many(path: str, writer: int, count: int, start) -> None:
    store = results.RecordStore(path)
    start.wait()  # all writers begin together
    for i in range(count):
        store.append({"key": f"w{writer}-{i}", "status": "ok", "writer": writer, "i": i, "pad": "x" * 6000})


def test_four_processes_append_a_hundred_records_each(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w, 100, start)) for w in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    lines = (tmp_path / results.RECORDS_FILE).read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 401  # 400 whole lines, nothing torn or interleaved
    recs = results.RecordStore(tmp_path).read()
    assert sorted((r["writer"], r["i"]) for r in recs) == [(w, i) for w in range(4) for i in range(100)]
    assert len(results.latest(recs)) == 400


def test_latest_keeps_one_record_per_key_the_newest():
    recs = [{"key": "a", "status": "failed"}, {"key": "b", "status": "ok", "n": 1}, {"key": "a", "status": "ok"},
            {"key": "b", "status": "ok", "n": 2}]
    assert results.latest(recs) == [{"key": "a", "status": "ok"}, {"key": "b", "status": "ok", "n": 2}]


def test_latest_keeps_one_record_of_one_result_under_two_keys():
    """A parameter added to a codec changes its records' keys; the re-run's identical result
    supersedes the old record instead of doubling every table row."""
    revision = codecs.codec_class("speck").revision  # records of older revisions are left out

    def rec(key, psnr, spec="speck"):
        return {"key": key, "status": "ok", "codec": {"name": "speck", "revision": revision, "spec": spec},
                "dataset": {"sha256": "x"}, "seed": 0, "target_bpppb": 1.0, "bytes": 100, "metrics": {"psnr": psnr}}

    old, new, other, explicit = rec("a", 40.0), rec("b", 40.0), rec("c", 41.0), rec("d", 40.0, "speck[streams=1]")
    assert results.latest([old, new]) == [new]
    assert results.latest([old, dict(new, metrics={"psnr": 40.0 + 1e-12})]) == [dict(new, metrics={"psnr": 40.0 + 1e-12})]
    assert results.latest([old, other]) == [old, other]  # a different result: both kept
    assert results.latest([old, explicit]) == [old, explicit]  # a different spec as written: both kept
    failed = dict(old, status="failed")
    assert results.latest([failed, dict(failed, key="b")]) == [failed, dict(failed, key="b")]


def test_shards_cover_the_task_list_exactly_once(tmp_path, capsys):
    base = ["run", "--codecs", "pca[components=1|2|3]", "--dataset", SMALL, "--rates", "1,2,3", "--no-progress",
            "--no-warmup"]
    out = tmp_path / "shared"
    for i in (1, 2, 3):
        assert main(base + ["--out", str(out), "--shard", f"{i}/3"]) == 0
        assert "3 run, 0 already recorded" in capsys.readouterr().out
    recs = results.load_records(out)
    expected = _expected_keys(["pca[components=1|2|3]"], [1.0, 2.0, 3.0])
    assert len(expected) == 9 and Counter(r["key"] for r in recs) == Counter(expected)
    assert [e["config"]["shard"] for e in map(json.loads, (out / "env.jsonl").read_text().splitlines())] == \
        [[1, 3], [2, 3], [3, 3]]
    assert main(base + ["--out", str(out)]) == 0  # the unsharded command finds everything done
    assert "0 run, 9 already recorded" in capsys.readouterr().out
    for bad in ("0/3", "4/3", "1", "a/b"):
        assert main(base + ["--out", str(out), "--shard", bad]) == 2
        assert "--shard" in capsys.readouterr().err


def test_shard_slices_are_disjoint_and_complete():
    items = list(range(10))
    slices = [runner.shard(items, i, 3) for i in (1, 2, 3)]
    assert sorted(x for s in slices for x in s) == items and [len(s) for s in slices] == [4, 3, 3]
