"""Expand datasets x codecs x rates into tasks, run them, and record every result or failure.

A task encodes one cube with one configured codec at one target rate, decodes it from the
bytes alone with a *fresh* codec instance, computes the metrics, and appends one record.
Tasks whose key is already recorded as a success are skipped (resume) unless ``force``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import platform
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import __version__, codecs, datasets, metrics
from .codecs.base import validate_rate
from .errors import HsibenchError, InvalidParameterError
from .results import RecordStore, atomic_write, task_key

DEFAULT_RATES = (0.1, 0.25, 0.5, 1.0, 2.0)
DEFAULT_DATASET = "synthetic"
STREAMS_DIR = "streams"
STREAM_SUFFIX = ".hsib"


# --------------------------------------------------------------------------------------------
# Environment and measurement helpers
# --------------------------------------------------------------------------------------------


def versions() -> dict[str, str | None]:
    """Versions of hsibench and the libraries that shape its numbers (no heavy imports)."""
    out: dict[str, str | None] = {"hsibench": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "PyWavelets", "numba", "torch", "imagecodecs", "scikit-image"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    """The git commit of the hsibench source in use (+ "-dirty" if its package files are modified), or None."""
    import subprocess

    pkg = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(pkg), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(pkg), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """What machine and software produced a run (written beside its records)."""
    env: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": versions(),
        "hsibench_commit": _git_commit(),
        "gpu": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def _cuda_sync() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRSS:
    """Context manager sampling the process's resident memory every few ms; keeps the peak."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def cube_sha256(cube: np.ndarray) -> str:
    """Hash of a cube's dtype, shape and bytes: identifies the data a record was made on."""
    h = hashlib.sha256(f"{cube.dtype.str}{cube.shape}".encode())
    h.update(np.ascontiguousarray(cube).data)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Sweeps: "gnn[blocks=2|3,prune=0|0.67]" -> the product of the alternatives
# --------------------------------------------------------------------------------------------


def expand_sweep(spec: str) -> list[str]:
    """Expand one codec spec whose values list alternatives with ``|`` into the product of specs.

    ``gnn[blocks=2|3,prune=0|0.67]`` gives ``gnn[blocks=2,prune=0]``, ``gnn[blocks=2,prune=0.67]``,
    ``gnn[blocks=3,prune=0]``, ``gnn[blocks=3,prune=0.67]`` (first parameter varies slowest).
    A spec without ``|`` is returned unchanged.  Values are validated later, by the codec.
    """
    name, params = codecs.parse_spec(spec)
    if not any("|" in v for v in params.values()):
        return [spec.strip()]
    keys = list(params)
    choices = []
    for key in keys:
        alts = [a.strip() for a in params[key].split("|")]
        if any(not a for a in alts):
            raise InvalidParameterError(f"codec spec {spec!r}: parameter '{key}' has an empty alternative in {params[key]!r}")
        choices.append(alts)
    return [f"{name}[{','.join(f'{k}={v}' for k, v in zip(keys, combo))}]" for combo in itertools.product(*choices)]


def expand_sweeps(specs: Sequence[str]) -> list[str]:
    """:func:`expand_sweep` over a list of specs, dropping exact duplicates (first one kept)."""
    out: list[str] = []
    for spec in specs:
        for s in expand_sweep(spec):
            if s not in out:
                out.append(s)
    return out


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or a range ``"0-4"`` (inclusive) -> a list of distinct non-negative seeds."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                seeds.extend(range(int(lo), int(hi) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise InvalidParameterError(f"seeds are comma-separated integers or ranges, e.g. 0,1,2 or 0-4; got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise InvalidParameterError(f"seeds must be non-negative integers; got {text!r}")
    return list(dict.fromkeys(seeds))


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


@dataclass
class Task:
    """One (scene, codec spec, rate, seed) to run; ``key`` identifies it in the records."""

    scene: datasets.Scene
    scene_sha256: str
    spec: str
    rate: float
    seed: int
    key: str = ""
    codec_params: dict = field(default_factory=dict)
    main_process: bool = False  # run in the main process even with --jobs (GPU codecs)


def configure(spec: str, seed: int) -> codecs.Codec:
    """Build a codec from a spec; a stochastic codec gets the run's seed unless the spec sets one."""
    name, params = codecs.parse_spec(spec)
    cls = codecs.codec_class(name)
    if "seed" in cls.params and "seed" not in params:
        params["seed"] = str(seed)
    return cls(**params)


WITHHELD = "withheld"


def record_spec(spec: str, codec: codecs.Codec) -> str:
    """The codec's canonical spec for records: no seed the runner injected, no secret.

    ``gnn`` run with seeds 0 and 1 is one spec, ``gnn``, with two seeds, so tables and figures
    group the seeds of one configuration; a seed written in the spec by the user stays in it.
    A withheld secret (the keyed GNN's ``key``) is written as ``withheld``, never in clear.
    """
    from .codecs.base import _fmt

    secret = set(codec.secrets())
    drop_seed = "seed" in type(codec).params and "seed" not in codecs.parse_spec(spec)[1]
    defaults = type(codec).params
    items = [f"{k}={WITHHELD if k in secret else _fmt(v)}" for k, v in codec.config.items()
             if not (k == "seed" and drop_seed) and v != defaults[k].default]
    return f"{codec.name}[{','.join(items)}]" if items else codec.name


def record_params(codec: codecs.Codec) -> dict[str, Any]:
    """The codec's parameters for records, with any withheld secret replaced by ``withheld``."""
    secret = set(codec.secrets())
    return {k: WITHHELD if k in secret else v for k, v in codec.config.items()}


def needs_main_process(codec: codecs.Codec) -> bool:
    """Codecs that may use a GPU (they have a ``device`` parameter) stay in the main process."""
    return "device" in type(codec).params and codec.config.get("device") != "cpu"


def expand(scenes: Sequence[datasets.Scene], specs: Sequence[str], rates: Sequence[float],
           seed: int | Sequence[int]) -> list[Task]:
    """All tasks of a run, in order dataset -> codec -> seed -> rate; specs are validated up front.

    ``seed`` may be a list: stochastic codecs (``Codec.stochastic``) get one task per seed,
    deterministic codecs one task with the first seed (their results do not depend on it).
    Sweep specs (``a|b`` alternatives) are expanded first.
    """
    seeds = [int(seed)] if isinstance(seed, (int, np.integer)) else [int(s) for s in seed]
    if not seeds:
        raise InvalidParameterError("no seeds given")
    specs = expand_sweeps(specs)
    tasks = []
    for scene in scenes:
        for rate in rates:
            validate_rate(rate, scene.cube.dtype)  # a bad rate is an error now, not a failed task
        digest = cube_sha256(scene.cube)
        for spec in specs:
            codec = configure(spec, seeds[0])  # raises now on unknown codecs or parameters
            for s in seeds if codec.stochastic else seeds[:1]:
                codec = configure(spec, s)
                for rate in rates:
                    key = task_key(
                        dataset_sha256=digest, dataset_name=scene.name, codec_spec=codec.spec,
                        codec_params=codec.config, target_bpppb=rate, seed=s,
                    )
                    tasks.append(Task(scene, digest, spec, float(rate), s, key, dict(codec.config),
                                      needs_main_process(codec)))
    return tasks


def _base_record(task: Task) -> dict[str, Any]:
    """The part of a record known before running: what was asked, on what, with which software."""
    scene, cube = task.scene, task.scene.cube
    name = codecs.parse_spec(task.spec)[0]
    try:
        codec = configure(task.spec, task.seed)
        codec_part = {"name": codec.name, "spec": record_spec(task.spec, codec), "params": record_params(codec)}
    except Exception:  # (validated in expand; kept total for a record of a crashed worker)
        codec_part = {"name": name, "spec": task.spec, "params": {}}
    return {
        "schema": 1,
        "key": task.key,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "name": scene.name,
            "source": scene.source,
            "crop": list(scene.crop) if scene.crop else None,
            "shape": list(cube.shape),
            "dtype": str(cube.dtype),
            "native_bits": scene.native_bits,
            "sha256": task.scene_sha256,
        },
        "codec": codec_part,
        "seed": task.seed,
        "target_bpppb": task.rate,
        "versions": versions(),
    }


def _failure(exc: BaseException) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": {
            "type": type(exc).__name__,
            "message": str(exc) or type(exc).__name__,
            "traceback": None if isinstance(exc, HsibenchError) else traceback.format_exc(limit=8),
        },
    }


_WARM: set[tuple[str, float, str]] = set()  # (spec, rate, cube dtype) already warmed up in this process
WARMUP_PIXELS = 32


def warm_up(task: Task) -> bool:
    """Encode and decode a small crop of the task's cube once per spec, rate and dtype in this process.

    The first call of a codec in a process compiles (or loads) its numba kernels and initialises
    torch: seconds that are not the codec's cost.  A warm-up on a corner of the same cube (same
    dtype, so the same compiled specialisations; same rate, so the same code paths, e.g. a
    predictor used only at high rates) takes them out of the timed task.  Codecs with
    an ``epochs`` parameter (the GNN) warm up with one epoch.  Best effort: a warm-up that fails
    (a rate a tiny crop cannot reach) is ignored; the task itself then reports any real error.
    Returns True when a warm-up ran now.
    """
    cube = task.scene.cube
    mark = (task.spec, task.rate, cube.dtype.str)
    if mark in _WARM:
        return False
    _WARM.add(mark)
    n = min(WARMUP_PIXELS, cube.shape[0], cube.shape[1])
    crop = np.ascontiguousarray(cube[:n, :n, :])
    try:
        codec = configure(task.spec, task.seed)
        if "epochs" in type(codec).params:
            overrides = {"epochs": 1}
            if "progress" in type(codec).params:
                overrides["progress"] = False
            codec = codecs.get(task.spec, **overrides)
        bits = np.dtype(cube.dtype).itemsize * 8
        for rate in (task.rate, min(4 * task.rate, bits), bits / 2):
            try:
                data = codec.encode(crop, bpppb=rate)
            except HsibenchError:
                continue
            configure(codec.name, task.seed).decode(data, **codec.secrets())
            break
    except Exception:  # noqa: BLE001 - best effort, see the docstring
        pass
    return True


def execute(task: Task, *, warmup: bool = True) -> tuple[dict, bytes | None]:
    """Run one task: its record and, on success, the stream bytes (a failure is a record, not an exception).

    With ``warmup`` (default) the codec's first use in this process is a small untimed warm-up
    (:func:`warm_up`); the record says ``warmed_up``.
    """
    cube = task.scene.cube
    record = _base_record(task)
    if warmup:
        warm_up(task)
        record["warmed_up"] = True
    try:
        codec = configure(task.spec, task.seed)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            data = codec.encode(cube, bpppb=task.rate)
            _cuda_sync()
            t1 = time.perf_counter()
            decoder = configure(codec.name, task.seed)  # fresh instance: bytes alone (+ a secret)
            decoded = decoder.decode(data, **codec.secrets())
            _cuda_sync()
            t2 = time.perf_counter()
        rate = metrics.bpppb(len(data), cube.shape)
        record.update(
            status="ok",
            bytes=len(data),
            bpppb=rate,
            cr=metrics.compression_ratio(rate, task.scene.native_bits),
            metrics=metrics.evaluate(cube, decoded, native_bits=task.scene.native_bits, with_band_psnr=True),
            encode_s=t1 - t0,
            decode_s=t2 - t1,
            peak_rss_bytes=mem.peak,
            peak_rss_delta_bytes=mem.peak - mem.start,
            device=codec.info.get("device", "cpu"),
            stream=codec.describe_stream(data),
            encode_info=codec.info,
        )
        return record, data
    except Exception as exc:  # recorded as a failure: the run goes on
        record.update(_failure(exc))
        return record, None


def run_task(task: Task) -> dict:
    """Run one task and return its record (see :func:`execute`; the stream bytes are dropped)."""
    return execute(task)[0]


# --------------------------------------------------------------------------------------------
# Worker processes (--jobs N): scenes are sent once per worker, tasks by index
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


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run did: where its records are, and how many tasks ran, were skipped, failed."""

    out: Path
    ran: int = 0
    skipped: int = 0
    failed: list[dict] = field(default_factory=list)


def default_out(dataset_specs: Sequence[str]) -> Path:
    """A stable run directory derived from the datasets, so re-running the same command resumes."""
    slug = "+".join(Path(s).stem if os.sep in s else s for s in dataset_specs)
    slug = "".join(ch if ch.isalnum() or ch in "+-_=." else "_" for ch in slug)[:120]
    return Path("results") / slug


def _with_history(path: Path, config: dict) -> dict:
    """``config`` plus, under ``history``, the different configurations of earlier runs into this directory.

    Several commands may add records to one run directory (a sweep after the main run); the
    directory's config.json must describe all of them, not only the last.
    """
    config = dict(config, time=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return config
    history = list(old.pop("history", []))
    same = {k: v for k, v in old.items() if k != "time"} == {k: v for k, v in config.items() if k != "time"}
    if not same:
        history.append(old)
    if history:
        config["history"] = history
    return config


def stream_path(out: str | Path, key: str) -> Path:
    """Where the stream bytes of the task ``key`` are kept in a run directory."""
    return Path(out) / STREAMS_DIR / f"{key}{STREAM_SUFFIX}"


def run(
    *,
    dataset_specs: Sequence[str] = (DEFAULT_DATASET,),
    codec_specs: Sequence[str] | None = None,
    rates: Sequence[float] = DEFAULT_RATES,
    out: str | Path | None = None,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    force: bool = False,
    data_dir: str | Path | None = None,
    download: bool = False,
    progress: bool = True,
    keep_streams: bool = True,
    warmup: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> RunSummary:
    """Run every dataset x codec x rate (x seed) task, appending one record per task to ``out``.

    ``seeds`` (when given, instead of ``seed``) runs stochastic codecs once per seed.  ``jobs``
    > 1 runs CPU codecs in that many spawned worker processes; codecs that may use a GPU stay in
    this process.  Only this process writes: each successful task's stream goes to
    ``out/streams/<key>.hsib`` (atomically, before its record), then the record is appended.
    ``warmup`` runs each codec once, untimed, on a small crop first (:func:`warm_up`).
    """
    if not rates:
        raise InvalidParameterError("no rates given")
    if int(jobs) < 1:
        raise InvalidParameterError(f"--jobs must be at least 1; got {jobs}")
    jobs = int(jobs)
    seed_list = [int(s) for s in seeds] if seeds else [int(seed)]
    specs = expand_sweeps(codec_specs) if codec_specs else codecs.names()
    out = Path(out) if out is not None else default_out(dataset_specs)
    scenes = [datasets.load(s, data_dir, download=download) for s in dataset_specs]
    tasks = expand(scenes, specs, rates, seed_list)

    store = RecordStore(out)
    done = set() if force else store.done_keys()
    config = {
        "datasets": list(dataset_specs), "codecs": specs, "rates": [float(r) for r in rates],
        "seed": seed_list[0], "seeds": seed_list, "jobs": jobs, "data_dir": str(data_dir) if data_dir else None,
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "config.json", json.dumps(_with_history(out / "config.json", config), indent=2).encode())
    atomic_write(out / "env.json", json.dumps(environment(), indent=2).encode())

    summary = RunSummary(out=out)
    todo = [t for t in tasks if t.key not in done]
    summary.skipped = len(tasks) - len(todo)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="hsibench", unit="task", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def record(rec: dict, data: bytes | None) -> None:
        if rec.get("status") == "ok" and data is not None and keep_streams:
            try:
                path = stream_path(out, rec["key"])
                atomic_write(path, data)
                rec["stream_file"] = path.relative_to(out).as_posix()
            except OSError as exc:  # the result stands; only the figures that decode it will lack it
                rec["stream_file"] = None
                rec["stream_error"] = str(exc)
        store.append(rec)
        summary.ran += 1
        if rec["status"] != "ok":
            summary.failed.append(rec)
        if on_record is not None:
            on_record(rec)
        bar.update(1)

    def label(task: Task) -> str:
        return f"{task.scene.name} {task.spec} @ {task.rate:g} bpppb" + (f" seed {task.seed}" if len(seed_list) > 1 else "")

    pooled = [t for t in todo if not t.main_process] if jobs > 1 else []
    local = [t for t in todo if t.main_process] if jobs > 1 else todo
    try:
        if not pooled:
            for task in local:
                bar.set_postfix_str(label(task))
                record(*execute(task, warmup=warmup))
        else:
            _run_pooled(pooled, local, scenes, jobs, record, bar, label, warmup)
    finally:
        bar.close()
        # the environment again: a GPU codec may have imported torch during the run
        atomic_write(out / "env.json", json.dumps(environment(), indent=2).encode())
    return summary


def _run_pooled(pooled: list[Task], local: list[Task], scenes: list[datasets.Scene], jobs: int,
                record: Callable[[dict, bytes | None], None], bar, label: Callable[[Task], str],
                warmup: bool = True) -> None:
    """Run ``pooled`` in spawned workers and ``local`` here, recording results as they arrive."""
    ids = {id(s): i for i, s in enumerate(scenes)}
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(pooled)), mp_context=ctx,
                               initializer=_worker_init, initargs=({i: s for i, s in enumerate(scenes)},))
    futures: dict[Future, Task] = {}
    try:
        for task in pooled:
            light = Task(None, task.scene_sha256, task.spec, task.rate, task.seed, task.key,  # type: ignore[arg-type]
                         task.codec_params, task.main_process)
            futures[pool.submit(_worker_execute, ids[id(task.scene)], light, jobs, warmup)] = task

        def harvest(block: bool) -> None:
            if not futures:
                return
            finished, _ = wait(list(futures), timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = futures.pop(fut)
                try:
                    rec, data = fut.result()
                except Exception as exc:  # the worker died (crash, out of memory): a failure of this task
                    rec, data = _base_record(task), None
                    rec.update(_failure(exc))
                    rec["error"]["message"] = f"worker process failed: {rec['error']['message']}"
                record(rec, data)

        for task in local:
            harvest(block=False)
            bar.set_postfix_str(label(task))
            record(*execute(task, warmup=warmup))
        bar.set_postfix_str(f"{len(futures)} tasks in {jobs} workers")
        while futures:
            harvest(block=True)
    finally:
        for fut in futures:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, task in list(futures.items()):  # interrupted: keep what the workers had finished
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                record(*fut.result())
