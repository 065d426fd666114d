"""The local executor: this process, plus ``jobs - 1`` spawned worker processes for CPU codecs.

Codecs that may use a GPU (a ``device`` parameter not set to ``cpu``) stay in this process, so
one machine never trains two networks on one GPU at once.  Scenes are sent once to each worker
(its initializer), tasks without their cube.  The default executor.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Sequence

from .. import datasets
from ..errors import InvalidParameterError
from ..tasks import Task, execute
from .base import Deliver, Executor, Status, distinct_scenes, label, worker_failure

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
            status: Status | None = None) -> None:
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
                    status: Status) -> None:
        scenes = distinct_scenes(pooled)
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
