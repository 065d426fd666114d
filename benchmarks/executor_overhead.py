"""What the Dask executor costs on one machine: a sweep's wall time, and the overhead per task.

    python benchmarks/executor_overhead.py [--workers 2] [--tasks 200] [--out DIR]

1. **Sweep**: the same ``hsibench run`` command (the classical codecs on the default synthetic
   scene, five rates: 25 tasks) as ``--executor local --jobs W`` and as ``--executor dask --jobs W``,
   each a fresh process into a fresh run directory, timed end to end (interpreter start, cluster
   start and shutdown included).
2. **Per task**: N trivial tasks (speck at 1 bpppb on a 24 x 24 x 12 cube, no warm-up) through
   ``LocalExecutor(1)`` in this process and through a ``DaskExecutor`` of W workers that is
   already up and has run them once (imports and caches warm), and N no-op Dask tasks
   (``client.map`` of the identity): milliseconds per task.

Standalone (asv never imports it); needs the dask extra.  Numbers depend on what else the
machine runs: say so when quoting them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["--codecs", "pca,speck,spiht,jpeg2000,pca_jpeg2000", "--rates", "0.1,0.25,0.5,1,2", "--no-progress"]
TRIVIAL = "synthetic[rows=24,cols=24,bands=12]"


def time_sweep(executor: str, workers: int, out: Path) -> float:
    """Seconds for one ``hsibench run`` of the sweep with ``executor`` and ``--jobs workers``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hsibench.cli", "run", *SWEEP, "--executor", executor,
                    "--jobs", str(workers), "--out", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def time_tasks(executor, todo) -> float:
    """Seconds for ``executor`` to run and deliver every task of ``todo`` (records checked, not written)."""
    done = []
    t0 = time.perf_counter()
    executor.run(todo, lambda task, rec, data: done.append(rec["status"]), warmup=False)
    elapsed = time.perf_counter() - t0
    assert done.count("ok") == len(todo), done
    return elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--out", default=None, help="keep the two sweeps' run directories here (default: a temporary folder)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from hsibench import datasets, tasks
    from hsibench.executors import LocalExecutor
    from hsibench.executors.dask_executor import DaskExecutor

    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="hsibench-exec-"))
    for name in ("local", "dask"):
        shutil.rmtree(base / name, ignore_errors=True)
    local_s = time_sweep("local", args.workers, base / "local")
    dask_s = time_sweep("dask", args.workers, base / "dask")

    scene = datasets.load(TRIVIAL)
    one = tasks.expand([scene], ["speck"], [1.0], 0)[0]
    todo = [one] * args.tasks
    serial = time_tasks(LocalExecutor(1), todo)
    with DaskExecutor(workers=args.workers) as ex:
        time_tasks(ex, todo)  # warm: imports, numba caches, the scene on every worker
        on_dask = time_tasks(ex, todo)
        client = ex.client
        t0 = time.perf_counter()
        client.gather(client.map(lambda x: x, range(args.tasks), pure=False))
        noop = time.perf_counter() - t0
    ms = 1000 / args.tasks
    print(f"| what | {args.workers} workers |\n|---|---:|")
    print(f"| sweep (25 tasks, classical codecs, 128x128x64), local --jobs {args.workers} | {local_s:.1f} s |")
    print(f"| the same sweep, dask --jobs {args.workers} (cluster start and stop included) | {dask_s:.1f} s |")
    print(f"| trivial task, local executor in process (1 job) | {serial * ms:.1f} ms/task |")
    print(f"| trivial task, dask (warm cluster) | {on_dask * ms:.1f} ms/task |")
    print(f"| no-op dask task (client.map) | {noop * ms:.1f} ms/task |")
    if not args.out:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
