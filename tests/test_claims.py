"""Claims: drivers sharing a run folder leave a task to the live process that runs it, and take
over the claim of a dead one; a task recorded meanwhile by another driver is not run again."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from hsibench import claims, results, runner

SMALL = "synthetic[rows=24,cols=24,bands=12]"


@pytest.fixture
def other_process():
    """A live process on this host that is not this one (its pid stands for another driver)."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield p
    p.kill()
    p.wait()


def claim_as(folder, pid, host=None, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / claims.CLAIM).write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid,
                                                   "time": time.time(), **extra}))


def test_a_claim_is_exclusive_while_its_owner_lives(tmp_path, other_process):
    folder = tmp_path / "k"
    claim_as(folder, other_process.pid)
    assert claims.holder(folder)["pid"] == other_process.pid
    assert not claims.acquire(folder)
    other_process.kill()
    other_process.wait()
    assert claims.holder(folder) is None and claims.acquire(folder)  # a dead owner's claim is taken over
    assert json.loads((folder / claims.CLAIM).read_text())["pid"] == os.getpid()
    claims.release(folder)
    assert not folder.exists()


def test_own_claims_are_reentrant_and_released(tmp_path):
    folder = tmp_path / "k"
    with claims.claimed(folder) as mine:
        assert mine and claims.holder(folder) is None and (folder / claims.CLAIM).exists()
    assert not folder.exists()
    with claims.claimed(None) as mine:  # no folder: nothing to claim
        assert mine


def test_a_claim_from_another_host_lives_while_its_folder_is_written(tmp_path):
    folder = tmp_path / "k"
    claim_as(folder, 1, host="elsewhere.example")
    assert not claims.acquire(folder)
    old = time.time() - claims.STALE_S - 60
    os.utime(folder / claims.CLAIM, (old, old))
    assert claims.acquire(folder)


def test_drivers_sharing_a_folder_leave_claimed_tasks_alone(tmp_path, other_process):
    out = tmp_path / "run"
    kw = dict(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, progress=False, warmup=False)
    keys = [t.key for t in runner.plan(**{k: v for k, v in kw.items() if k not in ("progress", "warmup")}).tasks]
    claim_as(out / runner.CHECKPOINTS / keys[0], other_process.pid)  # another driver runs the first task
    s = runner.run(**kw)
    assert (s.ran, s.elsewhere) == (1, 1)
    assert [r["key"] for r in results.load_records(out)] == [keys[1]]
    other_process.kill()
    other_process.wait()
    s = runner.run(**kw)  # the other driver died without recording it: this one runs it now
    assert (s.ran, s.skipped, s.elsewhere) == (1, 1, 0)
    assert not (out / runner.CHECKPOINTS).exists() or not any((out / runner.CHECKPOINTS).iterdir())


def test_a_task_recorded_by_another_driver_after_listing_is_not_run_again(tmp_path, monkeypatch):
    out = tmp_path / "run"
    kw = dict(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0, 2.0], out=out, progress=False, warmup=False)
    keys = [t.key for t in runner.plan(**{k: v for k, v in kw.items() if k not in ("progress", "warmup")}).tasks]
    real = runner.LocalExecutor.run

    def listed_then_recorded_elsewhere(self, tasks, deliver, **k):
        results.RecordStore(out).append({"key": keys[1], "status": "ok"})  # the other driver finishes it
        return real(self, tasks, deliver, **k)

    monkeypatch.setattr(runner.LocalExecutor, "run", listed_then_recorded_elsewhere)
    s = runner.run(**kw)
    assert (s.ran, s.elsewhere) == (1, 1)
    s = runner.run(**kw, force=True)  # --force runs every task, recorded or not
    assert s.ran == 2


def test_dry_run_shows_who_runs_a_claimed_task(tmp_path, other_process, capsys):
    from hsibench import cli

    out = tmp_path / "run"
    p = runner.plan(dataset_specs=[SMALL], codec_specs=["pca"], rates=[1.0], out=out)
    claim_as(out / runner.CHECKPOINTS / p.tasks[0].key, other_process.pid)
    assert cli.main(["run", "--dataset", SMALL, "--codecs", "pca", "--rates", "1", "--out", str(out), "--dry-run"]) == 0
    assert f"running (pid {other_process.pid} on {socket.gethostname()})" in capsys.readouterr().out


def test_a_reused_pid_does_not_keep_a_dead_claim_alive(tmp_path, other_process):
    folder = tmp_path / "k"
    claim_as(folder, other_process.pid)
    assert claims.holder(folder) is not None
    claim_as(folder, other_process.pid, time=time.time() - 3600)  # written before that process started
    assert claims.holder(folder) is None and claims.acquire(folder)
