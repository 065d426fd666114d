"""The executor contract: run tasks somewhere, hand every (record, stream bytes) back to the driver.

Every executor calls ``deliver(task, record, data)`` in the driver's process once per task, as
tasks finish; the driver alone writes records and streams.  A task whose worker died is
delivered as a failed record (:func:`worker_failure`), never lost and never raised, and the
next run retries it (failures are not cached).

An executor may hold resources (a Dask cluster): close it with :meth:`Executor.close`, or use
it as a context manager.  Whoever created an executor closes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

from ..tasks import Task, base_record, failure

Deliver = Callable[[Task, dict, "bytes | None"], None]
Status = Callable[[str], None]


class Executor(ABC):
    """Runs tasks and delivers each task's record and stream bytes to the driver.

    ``jobs`` is how many tasks run at once when the executor knows it (the run's config.json
    shows it); None when a cluster decides.
    """

    name: str = ""
    jobs: int | None = None

    @abstractmethod
    def run(self, tasks: Sequence[Task], deliver: Deliver, *, warmup: bool = True,
            status: Status | None = None) -> None:
        """Run every task; call ``deliver`` in this process for each as it finishes."""

    def close(self) -> None:
        """Release what the executor holds (worker processes, a cluster); running it again restarts them."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def worker_failure(task: Task, exc: BaseException) -> dict:
    """The record of a task whose worker process died (crash, out of memory, killed)."""
    rec = base_record(task)
    rec.update(failure(exc))
    rec["error"]["message"] = f"worker process failed: {rec['error']['message']}"
    return rec


def distinct_scenes(tasks: Sequence[Task]) -> list:
    """The scenes of ``tasks``, each once (by identity), in first-use order: what workers need shipped once."""
    scenes: list = []
    for t in tasks:
        if not any(s is t.scene for s in scenes):
            scenes.append(t.scene)
    return scenes


def label(task: Task) -> str:
    """A task in a few words, for the progress bar."""
    name = task.scene.name if task.scene is not None else task.scene_sha256[:8]
    return f"{name} {task.spec} @ {task.rate:g} bpppb seed {task.seed}"
