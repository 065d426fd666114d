"""The Dask executor: tasks on a Dask distributed cluster; the driver still writes every record.

``hsibench run --executor dask`` starts a local cluster sized to the machine (one single-threaded
worker process per usable core; on a machine with GPUs the first workers each own one GPU,
through ``CUDA_VISIBLE_DEVICES`` and a ``GPU`` resource) and closes it when the run ends.
``--scheduler ADDRESS`` uses a running cluster instead (``dask scheduler`` + ``dask worker``,
dask-jobqueue on Slurm, ...).  How hsibench maps onto Dask, and why:

* **One writer.**  Workers run the same pure :func:`hsibench.tasks.execute` and return
  (record, stream bytes); the driver delivers them as futures complete, so records and streams
  are written by one process, atomically, exactly as with the local executor.
* **Scenes once per worker.**  Each scene is scattered to every worker once per phase
  (``broadcast=True``); tasks travel without their cube.
* **GPUs as a resource.**  Tasks whose codec may use a GPU (``Task.main_process``: a ``device``
  parameter not ``cpu``) ask for ``resources={"GPU": 1}`` when some worker declares a ``GPU``
  resource, and go first: N GPU workers train N networks at once, never two on one GPU.  CPU
  codecs run on any worker.  On a cluster without a ``GPU`` resource every task runs anywhere.
* **Faults.**  A worker that dies mid-task (crash, OOM killer, ``kill -9``) loses nothing: the
  scheduler runs the task again on another worker (up to ``distributed.scheduler.allowed-failures``
  times, 3 by default); a task that still fails comes back as a failed record (``KilledWorker``)
  that the next run retries.  Workers write no files, so a killed worker leaves no partial stream.
* **Keys.**  A task's key hashes its codec configuration as resolved *in the driver*.  A worker
  that would resolve it differently (``gnn`` with ``device=auto`` on a GPU worker of a CPU-only
  driver, ``threads=auto`` on a machine with other cores, another codec revision) fails the task
  with :class:`~hsibench.errors.ResolvedElsewhereError` rather than file numbers under a key that
  does not describe them.  Rule: pin in the spec whatever depends on the machine, e.g.
  ``gnn[device=cuda]`` for a GPU sweep driven from a login node.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from typing import Any, Sequence

from ..environment import usable_cores
from ..errors import ClusterError, InvalidParameterError, MissingDependencyError
from ..tasks import Task, execute
from .base import Deliver, Executor, Status, distinct_scenes, label, worker_failure

GPU = "GPU"  # the worker resource a GPU-capable task asks for (dask worker --resources GPU=1)
CONNECT_TIMEOUT_S = 30.0


def _distributed():
    """The ``distributed`` package, or an error that names the extra to install."""
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError("distributed", "--executor dask", extra="dask") from None
    return distributed


def gpu_ids(count: int | None = None) -> list[str]:
    """The CUDA devices this process may use, as ``CUDA_VISIBLE_DEVICES`` entries for workers.

    ``count`` None: as many as torch sees (none without torch or CUDA).  Devices already
    restricted by this process's ``CUDA_VISIBLE_DEVICES`` keep their names, so a cluster started
    under ``CUDA_VISIBLE_DEVICES=2,3`` gives its workers ``2`` and ``3``.
    """
    if count is None:
        try:
            import torch
        except ImportError:
            return []
        count = torch.cuda.device_count()
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    names = visible if "CUDA_VISIBLE_DEVICES" in os.environ else [str(i) for i in range(count)]
    return (names + [str(i) for i in range(len(names), count)])[:count]


def local_cluster(workers: int, gpus: int = 0):
    """A ``LocalCluster`` of single-threaded worker processes on 127.0.0.1; ``gpus`` of them own one GPU each.

    ``workers`` processes in all (at least ``gpus``).  A GPU worker sees only its device
    (``CUDA_VISIBLE_DEVICES``) and declares ``GPU=1``; the others declare nothing.  One thread
    per worker: a task's timings are its own, not shared with another task in the same process.
    """
    from distributed import LocalCluster

    devices = gpu_ids(gpus)
    total = max(int(workers), len(devices))
    cluster = LocalCluster(n_workers=total - len(devices), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        for dev in devices:
            spec = cluster.new_spec
            options = dict(spec["options"], resources={GPU: 1}, env={"CUDA_VISIBLE_DEVICES": dev})
            cluster.worker_spec[f"gpu{dev}"] = {"cls": spec["cls"], "options": options}
        if devices:
            cluster.scale(total)  # starts the GPU workers just added to the spec
    except BaseException:
        cluster.close()
        raise
    return cluster


def _worker_states(dask_scheduler) -> dict[str, dict]:
    return {addr: {"nthreads": ws.nthreads, "resources": dict(ws.resources or {}), "name": str(ws.name)}
            for addr, ws in dask_scheduler.workers.items()}


def workers_of(client) -> dict[str, dict]:
    """Every worker the scheduler knows now: address -> threads, declared resources, name.

    Asked of the scheduler itself (``scheduler_info()`` lists only some workers in some versions).
    """
    return client.run_on_scheduler(_worker_states)


def _run_on_worker(scene, task: Task, warmup: bool, jobs: int) -> tuple[dict, bytes | None]:
    """On a worker: the task with its scene (already on this worker), executed; the record says where."""
    from distributed import get_worker

    os.environ.setdefault("HSIBENCH_NO_PROGRESS", "1")  # codec progress bars would interleave in worker logs
    task.scene = scene
    record, data = execute(task, warmup=warmup)
    worker = get_worker()
    record["worker"] = {"executor": "dask", "pid": os.getpid(), "address": worker.address,
                        "name": str(worker.name), "jobs": jobs}
    return record, data


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: a running one (``scheduler`` address) or a local one started here.

    ``workers`` sizes the local cluster (default: the usable cores); ``gpus`` how many of its
    workers own a GPU (default: every GPU torch sees).  The cluster starts at the first
    :meth:`run` and stays up for the next (a run's phases) until :meth:`close`.  See the module
    docstring for resources, faults and keys.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None, gpus: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S):
        self._distributed = _distributed()  # a missing extra is an error now, before any work
        if scheduler is not None and (workers is not None or gpus is not None):
            raise InvalidParameterError(
                "--jobs sizes the local cluster that --executor dask starts; with --scheduler the running "
                "cluster's workers decide (leave out --jobs)")
        if workers is not None and int(workers) < 1:
            raise InvalidParameterError(f"--jobs must be at least 1; got {workers}")
        if gpus is not None and int(gpus) < 0:
            raise InvalidParameterError(f"gpus must be 0 or more; got {gpus}")
        self.scheduler = scheduler
        self.jobs = int(workers) if workers is not None else None
        self.gpus = int(gpus) if gpus is not None else None
        self.connect_timeout = float(connect_timeout)
        self.client: Any = None
        self.cluster: Any = None

    def start(self):
        """Connect to the scheduler, or start the local cluster; returns the ``distributed.Client``."""
        if self.client is not None:
            return self.client
        d = self._distributed
        if self.scheduler is not None:
            try:
                self.client = d.Client(self.scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                why = " ".join(str(exc).split()) or type(exc).__name__
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {self.scheduler!r} ({why}); start one (`dask scheduler`, "
                    "then `dask worker ADDRESS`) or leave out --scheduler to run a local cluster") from None
            return self.client
        workers = self.jobs or usable_cores()
        self.cluster = local_cluster(workers, len(gpu_ids(self.gpus)))
        try:
            self.client = d.Client(self.cluster)
            self.client.wait_for_workers(len(self.cluster.worker_spec), timeout=120)
        except BaseException:
            self.close()
            raise
        return self.client

    def close(self) -> None:
        """Disconnect; a local cluster started here is shut down (its worker processes end)."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def run(self, tasks: Sequence[Task], deliver: Deliver, *, warmup: bool = True,
            status: Status | None = None) -> None:
        if not tasks:
            return
        status = status or (lambda _: None)
        client = self.start()
        if not workers_of(client):
            status(f"waiting for a Dask worker at {client.scheduler.address}")
            client.wait_for_workers(1)
        workers = workers_of(client).values()
        gpus = sum(1 for w in workers if w["resources"].get(GPU))
        jobs = sum(w["nthreads"] for w in workers)
        scattered = {id(s): client.scatter(s, broadcast=True, hash=False) for s in distinct_scenes(tasks)}
        futures: dict[Any, Task] = {}
        try:
            for task in tasks:
                on_gpu = task.main_process and gpus > 0
                light = replace(task, scene=None)  # the workers have the scene already
                fut = client.submit(_run_on_worker, scattered[id(task.scene)], light, warmup, jobs,
                                    key=f"hsibench-{task.key}-{uuid.uuid4().hex[:8]}", pure=False,
                                    resources={GPU: 1} if on_gpu else None, priority=1 if on_gpu else 0)
                futures[fut] = task
            status(f"{len(futures)} tasks on {len(workers)} Dask workers ({gpus} with a GPU)")
            for fut in self._distributed.as_completed(list(futures)):
                task = futures.pop(fut)
                deliver(task, *_outcome(fut, task))
                status(f"{label(task)}; {len(futures)} left")
        finally:
            # interrupted: keep what the workers had finished, cancel the rest
            done = [(f, t) for f, t in futures.items() if f.status == "finished"]
            client.cancel([f for f in futures if f.status != "finished"])
            for fut, task in done:
                deliver(task, *_outcome(fut, task))
            client.cancel(list(scattered.values()))


def _outcome(fut, task: Task) -> tuple[dict, bytes | None]:
    """A finished future's (record, bytes); a worker that died for good gives a failed record."""
    try:
        return fut.result()
    except Exception as exc:  # KilledWorker, a lost dependency, a cancelled future
        return worker_failure(task, exc), None
