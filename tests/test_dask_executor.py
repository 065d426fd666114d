"""The Dask executor on a real LocalCluster (worker processes, not threads, not a mock).

One cluster serves the module (starting one costs seconds): two single-threaded worker
processes, the first declaring a GPU (``gpus=1``: ``CUDA_VISIBLE_DEVICES`` and ``GPU=1``; on a
machine without CUDA its codecs still run on the CPU), so GPU routing is exercised anywhere.
The fault test that kills a worker runs last.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sys
import time
from collections import Counter
from dataclasses import replace

import pytest

from hsibench import datasets, executors, results, runner, tasks
from hsibench.cli import main
from hsibench.errors import ClusterError, MissingDependencyError
from hsibench.executors.dask_executor import DaskExecutor, gpu_ids, workers_of

SMALL = "synthetic[rows=24,cols=24,bands=12]"
HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason='needs the dask extra: pip install -e ".[dask]"')

#: every deterministic codec; the GNN is deterministic on the CPU with one thread and a fixed seed
DETERMINISTIC = ["pca", "speck", "spiht", "jpeg2000", "pca_jpeg2000",
                 "gnn[device=cpu,threads=1,epochs=5,progress=false]"]


@pytest.fixture(scope="module")
def dask_ex():

    with DaskExecutor(workers=2, gpus=1) as ex:
        ex.start()
        yield ex


def _streams(out) -> dict[str, bytes]:
    return {r["key"]: (out / r["stream_file"]).read_bytes() for r in results.load_records(out) if r["status"] == "ok"}


def test_missing_dask_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r"hsibench\[dask\]"):
        executors.make("dask")
    # a missing extra is a runtime failure (exit 1), not a usage error
    assert main(["run", "--executor", "dask", "--codecs", "pca", "--dataset", SMALL, "--no-progress"]) == 1
    assert 'pip install "hsibench[dask]"' in capsys.readouterr().err


def test_gpu_workers_keep_the_devices_this_process_may_use(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_ids(2) == ["0", "1"] and gpu_ids(0) == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert gpu_ids(2) == ["2", "3"] and gpu_ids(1) == ["2"]


@needs_dask
def test_dask_gives_the_keys_and_bytes_of_local(dask_ex, tmp_path):
    kw = dict(dataset_specs=[SMALL], codec_specs=DETERMINISTIC, rates=[1.0, 2.0], progress=False)
    local = runner.run(out=tmp_path / "local", **kw)
    dask = runner.run(out=tmp_path / "dask", executor=dask_ex, **kw)
    assert local.failed == [] and dask.failed == [] and dask.ran == local.ran == 12
    a, b = _streams(tmp_path / "local"), _streams(tmp_path / "dask")
    assert len(a) == 12 and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []  # byte-identical streams
    recs = results.load_records(tmp_path / "dask")
    assert {r["worker"]["executor"] for r in recs} == {"dask"} and all(r["worker"]["jobs"] == 2 for r in recs)
    assert {r["codec"]["name"] for r in recs} == {"pca", "speck", "spiht", "jpeg2000", "pca_jpeg2000", "gnn"}


@needs_dask
def test_gpu_capable_tasks_go_to_the_gpu_worker(dask_ex):
    client = dask_ex.client
    env = client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
    resources = {a: w["resources"] for a, w in workers_of(client).items()}
    gpu_worker = [a for a, r in resources.items() if r.get("GPU")]
    assert len(gpu_worker) == 1 and env[gpu_worker[0]] == gpu_ids(1)[0] and len(resources) == 2
    scene = datasets.load(SMALL)
    todo = tasks.expand([scene], ["pca", "pca[components=1]", "speck"], [0.5, 1.0, 1.5, 2.0], 0)
    flagged = {t.key for t in todo[::2]}  # as if these codecs could use a GPU (Task.main_process)
    todo = [replace(t, main_process=t.key in flagged) for t in todo]
    got: dict[str, dict] = {}
    messages: list[str] = []
    dask_ex.run(todo, lambda task, rec, data: got.setdefault(task.key, rec), warmup=False, status=messages.append)
    assert got.keys() == {t.key for t in todo} and all(r["status"] == "ok" for r in got.values())
    assert {got[k]["worker"]["address"] for k in flagged} == set(gpu_worker)
    assert messages and "1 with a GPU" in messages[0]


@needs_dask
def test_cli_runs_on_a_running_scheduler(dask_ex, tmp_path, capsys):
    address = dask_ex.cluster.scheduler_address
    args = ["run", "--executor", "dask", "--scheduler", address, "--codecs", "pca", "--dataset", SMALL,
            "--rates", "1,2", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    assert "2 run, 0 already recorded, 0 failed" in capsys.readouterr().out
    assert main(args) == 0 and "0 run, 2 already recorded" in capsys.readouterr().out
    assert main(args + ["--jobs", "2"]) == 2  # --jobs sizes only a cluster started here
    assert "--jobs" in capsys.readouterr().err
    assert main(["run", "--scheduler", address, "--codecs", "pca", "--dataset", SMALL, "--no-progress"]) == 2
    assert "--scheduler is for --executor dask" in capsys.readouterr().err


@needs_dask
def test_an_unreachable_scheduler_is_a_clear_error():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ex = DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=1)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        ex.start()


@needs_dask
def test_a_worker_killed_mid_sweep_loses_no_record(dask_ex, tmp_path):
    client = dask_ex.client
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(rec: dict) -> None:
        if killed:
            return
        deadline = time.monotonic() + 30
        while True:  # wait for a worker in the middle of a task (tasks are left: this is the first record)
            busy = client.run(lambda dask_worker: len(dask_worker.state.executing))
            target = max(busy, key=busy.get)
            if busy[target] or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        killed.append(busy[target])
        os.kill(pids[target], signal.SIGKILL)

    kw = dict(dataset_specs=[SMALL], codec_specs=["gnn[device=cpu,threads=1,epochs=60,progress=false]"],
              rates=[1.0, 2.0], seeds=[0, 1, 2, 3], progress=False, warmup=False)
    expected = {t.key for t in tasks.expand([datasets.load(SMALL)], kw["codec_specs"], kw["rates"], kw["seeds"])}
    runner.run(out=tmp_path, executor=dask_ex, on_record=kill_a_busy_worker, **kw)
    assert killed == [1]  # the worker killed was running a task
    runner.run(out=tmp_path, executor=dask_ex, **kw)  # at most one rerun: what failed is retried
    recs = results.load_records(tmp_path)
    ok = Counter(r["key"] for r in recs if r["status"] == "ok")
    assert set(ok) == expected and max(ok.values()) == 1  # complete and duplicate-free
    streams = sorted(p.name for p in (tmp_path / "streams").iterdir())
    assert streams == sorted(f"{k}.hsib" for k in expected)  # no partial or orphan stream
    deadline = time.monotonic() + 60
    while len(workers_of(client)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # leave the cluster as found
