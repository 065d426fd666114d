"""Expand datasets x codecs x rates into tasks, run them, and record every result or failure.

A task encodes one cube with one configured codec at one target rate, decodes it from the
bytes alone with a *fresh* codec instance, computes the metrics, and appends one record.
Tasks whose key is already recorded as a success are skipped (resume) unless ``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
import time
import traceback
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


def environment() -> dict[str, Any]:
    """What machine and software produced a run (written beside its records)."""
    env: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": versions(),
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


def configure(spec: str, seed: int) -> codecs.Codec:
    """Build a codec from a spec; a stochastic codec gets the run's seed unless the spec sets one."""
    name, params = codecs.parse_spec(spec)
    cls = codecs.codec_class(name)
    if "seed" in cls.params and "seed" not in params:
        params["seed"] = str(seed)
    return cls(**params)


def expand(scenes: Sequence[datasets.Scene], specs: Sequence[str], rates: Sequence[float], seed: int) -> list[Task]:
    """All tasks of a run, in order dataset -> codec -> rate; specs are validated up front."""
    tasks = []
    for scene in scenes:
        for rate in rates:
            validate_rate(rate, scene.cube.dtype)  # a bad rate is an error now, not a failed task
        digest = cube_sha256(scene.cube)
        for spec in specs:
            codec = configure(spec, seed)  # raises now on unknown codecs or parameters
            for rate in rates:
                key = task_key(
                    dataset_sha256=digest, dataset_name=scene.name, codec_spec=codec.spec,
                    codec_params=codec.config, target_bpppb=rate, seed=seed,
                )
                tasks.append(Task(scene, digest, spec, float(rate), seed, key, dict(codec.config)))
    return tasks


def run_task(task: Task) -> dict:
    """Run one task and return its record (a failure becomes a failed record, not an exception)."""
    scene, cube = task.scene, task.scene.cube
    codec = configure(task.spec, task.seed)
    record: dict[str, Any] = {
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
        "codec": {"name": codec.name, "spec": codec.spec, "params": codec.config},
        "seed": task.seed,
        "target_bpppb": task.rate,
        "versions": versions(),
    }
    try:
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
            cr=metrics.compression_ratio(rate, scene.native_bits),
            metrics=metrics.evaluate(cube, decoded, native_bits=scene.native_bits, with_band_psnr=True),
            encode_s=t1 - t0,
            decode_s=t2 - t1,
            peak_rss_bytes=mem.peak,
            peak_rss_delta_bytes=mem.peak - mem.start,
            device=codec.info.get("device", "cpu"),
            stream=codec.describe_stream(data),
            encode_info=codec.info,
        )
    except Exception as exc:  # recorded as a failure: the run goes on
        record.update(
            status="failed",
            error={
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": None if isinstance(exc, HsibenchError) else traceback.format_exc(limit=8),
            },
        )
    return record


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


def run(
    *,
    dataset_specs: Sequence[str] = (DEFAULT_DATASET,),
    codec_specs: Sequence[str] | None = None,
    rates: Sequence[float] = DEFAULT_RATES,
    out: str | Path | None = None,
    seed: int = 0,
    force: bool = False,
    data_dir: str | Path | None = None,
    download: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> RunSummary:
    """Run every dataset x codec x rate task, appending one record per task to ``out``."""
    if not rates:
        raise InvalidParameterError("no rates given")
    specs = list(codec_specs) if codec_specs else codecs.names()
    out = Path(out) if out is not None else default_out(dataset_specs)
    scenes = [datasets.load(s, data_dir, download=download) for s in dataset_specs]
    tasks = expand(scenes, specs, rates, seed)

    store = RecordStore(out)
    done = set() if force else store.done_keys()
    config = {
        "datasets": list(dataset_specs), "codecs": specs, "rates": [float(r) for r in rates],
        "seed": seed, "data_dir": str(data_dir) if data_dir else None,
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "config.json", json.dumps(config, indent=2).encode())
    atomic_write(out / "env.json", json.dumps(environment(), indent=2).encode())

    summary = RunSummary(out=out)
    todo = [t for t in tasks if t.key not in done]
    summary.skipped = len(tasks) - len(todo)
    from tqdm.auto import tqdm

    bar = tqdm(todo, desc="hsibench", unit="task", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for task in bar:
        bar.set_postfix_str(f"{task.scene.name} {task.spec} @ {task.rate:g} bpppb")
        record = run_task(task)
        store.append(record)
        summary.ran += 1
        if record["status"] != "ok":
            summary.failed.append(record)
        if on_record is not None:
            on_record(record)
    bar.close()
    # the environment again: a GPU codec may have imported torch during the run
    atomic_write(out / "env.json", json.dumps(environment(), indent=2).encode())
    return summary
