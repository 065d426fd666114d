"""A GNN training killed mid-way resumes from its checkpoint to the very bytes of an uninterrupted one."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hsibench import codecs, runner  # noqa: E402
from hsibench.codecs.neural import checkpoint  # noqa: E402

from .conftest import make_cube  # noqa: E402

# paper schedule (no time budget), shortened: 30 main + 6 pruning (3 rounds) + 4 fine-tune epochs
SPEC = "gnn[blocks=3,channels=4,prune=0.5,weights=int8,schedule=paper,epochs=30,threads=1,progress=false]"
MAIN, PRUNE, TUNE = 30, 6, 4


class Killed(BaseException):
    """Stands for the process being killed (not an ``Exception``: nothing may catch it)."""


@pytest.fixture(scope="module")
def cube():
    return make_cube(32, 32, 12, seed=5)


@pytest.fixture(scope="module")
def reference(cube):
    codec = codecs.get(SPEC)
    return codec.encode(cube, bpppb=4.0), codec.info


def kill_after_saves(monkeypatch, n: int) -> None:
    """Save after every epoch and kill the training right after the ``n``-th save."""
    monkeypatch.setattr(checkpoint, "EVERY_S", 0.0)
    real = checkpoint.Store.save
    count = {"saves": 0}

    def save(self, state):
        real(self, state)
        count["saves"] += 1
        if count["saves"] == n:
            raise Killed

    monkeypatch.setattr(checkpoint.Store, "save", save)


# with a save after every epoch and one more at the end of every phase: the main phase makes
# MAIN + 1 saves, each of the 3 pruning rounds (2 epochs) 3
@pytest.mark.parametrize("saves, epoch", [
    (12, 12),  # in the main training
    (MAIN + 1 + 1, MAIN + 1),  # in the first pruning round
    (MAIN + 1 + 3 * 3 + 2, MAIN + PRUNE + 2),  # in the fine-tune
])
def test_a_killed_training_resumes_to_the_same_bytes(cube, reference, tmp_path, monkeypatch, saves, epoch):
    with monkeypatch.context() as m:
        kill_after_saves(m, saves)
        with checkpoint.checkpoints(tmp_path / "ck"), pytest.raises(Killed):
            codecs.get(SPEC).encode(cube, bpppb=4.0)
    assert (tmp_path / "ck" / checkpoint.FILE).exists()
    (tmp_path / "ck" / f"{checkpoint.FILE}.tmp999").write_bytes(b"half written")  # a kill while saving
    codec = codecs.get(SPEC)
    with checkpoint.checkpoints(tmp_path / "ck"):
        data = codec.encode(cube, bpppb=4.0)
    ref_data, ref_info = reference
    assert data == ref_data
    assert codec.info["resumed_at_epoch"] == epoch
    assert codec.info["epochs_run"] == ref_info["epochs_run"] == {"main": MAIN, "prune": PRUNE, "finetune": TUNE}
    assert [c[0] for c in codec.info["curve"]] == [c[0] for c in ref_info["curve"]]
    assert codec.info["train_seconds_before_resume"] > 0
    assert not (tmp_path / "ck").exists()  # a finished training removes its checkpoint


def test_a_checkpoint_of_another_training_is_ignored(cube, reference, tmp_path, monkeypatch):
    other = SPEC.replace("epochs=30", "epochs=31")
    with monkeypatch.context() as m:
        kill_after_saves(m, 5)
        with checkpoint.checkpoints(tmp_path), pytest.raises(Killed):
            codecs.get(other).encode(cube, bpppb=4.0)
    codec = codecs.get(SPEC)
    with checkpoint.checkpoints(tmp_path):
        data = codec.encode(cube, bpppb=4.0)
    assert data == reference[0] and codec.info["resumed_at_epoch"] is None


def test_an_unreadable_checkpoint_costs_a_restart_only(cube, reference, tmp_path):
    (tmp_path / checkpoint.FILE).write_bytes(b"not a checkpoint")
    codec = codecs.get(SPEC)
    with checkpoint.checkpoints(tmp_path), pytest.warns(UserWarning, match="unreadable"):
        data = codec.encode(cube, bpppb=4.0)
    assert data == reference[0] and codec.info["resumed_at_epoch"] is None


def test_nothing_is_saved_outside_a_checkpoint_folder_or_with_a_time_budget(cube, tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(checkpoint, "EVERY_S", 0.0)
    monkeypatch.setattr(checkpoint.Store, "save", lambda self, state: saved.append(self.enabled))
    codecs.get(SPEC).encode(cube, bpppb=4.0)
    with checkpoint.checkpoints(tmp_path):
        codecs.get(SPEC.replace("schedule=paper", "schedule=quick,time_budget_s=1000")).encode(cube, bpppb=4.0)
    assert saved == []


def test_an_unwritable_folder_disables_saving_with_a_warning(cube, reference, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setattr(checkpoint, "EVERY_S", 0.0)
    with checkpoint.checkpoints(blocker / "ck"), pytest.warns(UserWarning, match="disabled"):
        data = codecs.get(SPEC).encode(cube, bpppb=4.0)
    assert data == reference[0]


def test_the_runner_resumes_a_killed_task_from_its_checkpoint(cube, reference, tmp_path, monkeypatch):
    import numpy as np

    path = tmp_path / "cube.npy"
    np.save(path, cube)
    out = tmp_path / "run"
    kw = dict(dataset_specs=[str(path)], codec_specs=[SPEC], rates=[4.0], out=out, progress=False, warmup=False)
    with monkeypatch.context() as m:
        kill_after_saves(m, 7)
        with pytest.raises(Killed):
            runner.run(**kw)
    (folder,) = (out / runner.CHECKPOINTS).iterdir()
    assert (folder / checkpoint.FILE).exists()
    summary = runner.run(**kw)
    assert folder.name == summary.keys[0] and not folder.exists()
    rec = [r for r in (runner.RecordStore(out).read()) if r.get("status") == "ok"][0]
    assert rec["encode_info"]["resumed_at_epoch"] == 7 and (out / rec["stream_file"]).read_bytes() == reference[0]
