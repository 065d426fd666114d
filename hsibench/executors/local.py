"""Executors: where tasks run.  The driver hands them tasks and gets back (record, stream bytes).

Every executor calls ``deliver(task, record, data)`` in the driver's process once per task, as
tasks finish; the driver alone writes records and streams.  A task whose worker died is
delivered as a failed record, never lost and never raised.

* :class:`LocalExecutor` — this process, plus ``jobs - 1`` spawned worker processes for codecs
  that run on the CPU (GPU-capable codecs stay in this process).  The default.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Callable, Sequence

from . import datasets
from .errors import InvalidParameterError
from .tasks import Task, base_record, execute, failure

Deliver = Callable[[Task, dict, "bytes | None"], None]


class Executor(ABC):
    """Runs tasks and delivers each task's record and stream bytes to the driver."""

    name: str = ""

    @abstractmethod
    def run(self, tasks: Sequence[Task], deliver: Deliver, *, warmup: bool = True,
            status: Callable[[str], None] | None = None) -> None:
        """Run every task; call ``deliver`` in this process for each as it finishes."""


def worker_failure(task: Task, exc: BaseException) -> dict:
    """The record of a task whose worker process died (crash, out of memory, killed)."""
    rec = base_record(task)
    rec.update(failure(exc))
    rec["error"]["message"] = f"worker process failed: {rec['error']['message']}"
    return rec


# --------------------------------------------------------------------------------------------
# Local: this process and a pool of spawned worker processes
# --------------------------------------------------------------------------------------------

_WORKER_SCENES: dict[int, datasets.Scene] = {}


def _worker_init(scenes: dict[int, datasets.Scene]) -> None:
    _WORKER_SCENES.clear()
    _WORKER_SCENES.update(scenes)
    os.environ.setdefault("HSIBENCH_NO_PROGRESS", "1")  # codec progress bars would interleave


def _worker_execute(scene_id: int, task: Task, jobs: int, warmup: bool) -> tuple[dict, bytes | None]:
    task.scene = _WORKER_SCENES[scene_id]
    record, data = execute(task, warmup=warmup)
    record["worker"] = {"pid": os.getpid(), "jobs": jobs}
    return record, data


class LocalExecutor(Executor):
    """Tasks in this process; with ``jobs`` > 1, CPU codecs in that many spawned worker processes.

    Scenes are sent once to each worker (its initializer), tasks by index.  Records made in
    workers say so (``worker.jobs``): their timings include contention between workers.
    """

    name = "local"

    def __init__(self, jobs: int = 1):
        if int(jobs) < 1:
            raise InvalidParameterError(f"--jobs must be at least 1; got {jobs}")
        self.jobs = int(jobs)

    def run(self, tasks: Sequence[Task], deliver: Deliver, *, warmup: bool = True,
            status: Callable[[str], None] | None = None) -> None:
        status = status or (lambda _: None)
        pooled = [t for t in tasks if not t.main_process] if self.jobs > 1 else []
        local = [t for t in tasks if t.main_process] if self.jobs > 1 else list(tasks)
        if not pooled:
            for task in local:
                status(label(task))
                deliver(task, *execute(task, warmup=warmup))
            return
        self._run_pooled(pooled, local, deliver, warmup, status)

    def _run_pooled(self, pooled: list[Task], local: list[Task], deliver: Deliver, warmup: bool,
                    status: Callable[[str], None]) -> None:
        scenes: list[datasets.Scene] = []
        for t in pooled:
            if not any(s is t.scene for s in scenes):
                scenes.append(t.scene)
        ids = {id(s): i for i, s in enumerate(scenes)}
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(pooled)), mp_context=ctx,
                                   initializer=_worker_init, initargs=({i: s for i, s in enumerate(scenes)},))
        futures: dict[Future, Task] = {}
        try:
            for task in pooled:
                light = replace(task, scene=None)  # the worker has the scene already
                futures[pool.submit(_worker_execute, ids[id(task.scene)], light, self.jobs, warmup)] = task

            def harvest(block: bool) -> None:
                if not futures:
                    return
                finished, _ = wait(list(futures), timeout=None if block else 0, return_when=FIRST_COMPLETED)
                for fut in finished:
                    task = futures.pop(fut)
                    try:
                        rec, data = fut.result()
                    except Exception as exc:  # the worker died (crash, out of memory): a failure of this task
                        rec, data = worker_failure(task, exc), None
                    deliver(task, rec, data)

            for task in local:
                harvest(block=False)
                status(label(task))
                deliver(task, *execute(task, warmup=warmup))
            status(f"{len(futures)} tasks in {self.jobs} workers")
            while futures:
                harvest(block=True)
        finally:
            for fut in futures:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, task in list(futures.items()):  # interrupted: keep what the workers had finished
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    deliver(task, *fut.result())


def label(task: Task) -> str:
    """A task in a few words, for the progress bar."""
    return f"{task.scene.name} {task.spec} @ {task.rate:g} bpppb seed {task.seed}"


EXECUTORS = {"local": LocalExecutor}


def make(name: str, **options) -> Executor:
    """The executor called ``name`` (``local``), configured with ``options``."""
    try:
        cls = EXECUTORS[name]
    except KeyError:
        raise InvalidParameterError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}") from None
    return cls(**options)
