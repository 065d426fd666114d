"""Tasks: what one (scene, codec spec, rate, seed) is, its key, and the pure function that runs it.

A task encodes one cube with one configured codec at one target rate, decodes it from the
bytes alone with a *fresh* codec instance, computes the metrics and returns one record (plus
the stream bytes).  :func:`execute` never raises for a codec's failure: a failure is a record.
Executors (:mod:`hsibench.executors`) decide where tasks run; only the driver writes records.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np

from . import claims, codecs, datasets, metrics
from .codecs.base import _fmt, validate_rate
from .codecs.neural.checkpoint import checkpoints
from .environment import PeakRSS, cuda_sync, git_commit, versions
from .errors import HsibenchError, InvalidParameterError, ResolvedElsewhereError
from .results import SCHEMA_VERSION, RecordStore, task_key

WITHHELD = "withheld"


def cube_sha256(cube: np.ndarray) -> str:
    """Hash of a cube's dtype, shape and bytes: identifies the data a record was made on."""
    h = hashlib.sha256(f"{cube.dtype.str}{cube.shape}".encode())
    h.update(np.ascontiguousarray(cube).data)
    return h.hexdigest()


def mask_sha256(mask: np.ndarray | None) -> str | None:
    """Hash of a scene's mask of valid pixels (None without one): the metrics depend on it, so keys do."""
    if mask is None:
        return None
    return hashlib.sha256(f"{mask.shape}".encode() + np.packbits(np.asarray(mask, dtype=bool)).tobytes()).hexdigest()


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
    """One (scene, codec spec, rate, seed) to run; ``key`` identifies it in the records.

    ``resolved`` is the codec's configuration as resolved where the task list was made (the
    key hashes it); ``matched_to`` names the record whose achieved rate this task's target
    copies (``--match-rate``); ``checkpoint_dir``, set by the runner, is where a trained codec
    keeps the checkpoints that let a killed task resume (:mod:`hsibench.codecs.neural.checkpoint`)
    and where the process running the task claims it (:mod:`hsibench.claims`); ``recorded_in``
    (the run folder, unless ``--force``) is checked once more just before the task runs.
    """

    scene: datasets.Scene
    scene_sha256: str
    spec: str
    rate: float
    seed: int
    key: str = ""
    resolved: dict = field(default_factory=dict)
    revision: int = 0
    main_process: bool = False  # run in the main process even with --jobs (GPU codecs)
    matched_to: str | None = None
    checkpoint_dir: str | None = None  # where a long training may checkpoint and the task is claimed (not keyed)
    recorded_in: str | None = None  # a run folder: skip the task if another process recorded it there meanwhile


def configure(spec: str, seed: int) -> codecs.Codec:
    """Build a codec from a spec; a stochastic codec gets the run's seed unless the spec sets one."""
    name, params = codecs.parse_spec(spec)
    cls = codecs.codec_class(name)
    if "seed" in cls.params and "seed" not in params:
        params["seed"] = str(seed)
    return cls(**params)


def record_spec(spec: str, codec: codecs.Codec) -> str:
    """The codec's canonical spec for records: no seed the runner injected, no secret.

    ``gnn`` run with seeds 0 and 1 is one spec, ``gnn``, with two seeds, so tables and figures
    group the seeds of one configuration; a seed written in the spec by the user stays in it.
    A withheld secret (the keyed GNN's ``key``) is written as ``withheld``, never in clear.
    """
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


def make_task(scene: datasets.Scene, digest: str, spec: str, rate: float, seed: int,
              matched_to: str | None = None) -> Task:
    """One task, keyed by the scene, the codec's revision and resolved configuration, the rate, the seed."""
    codec = configure(spec, seed)
    resolved = codec.resolved()
    key = task_key(dataset_sha256=digest, dataset_name=scene.name, codec_name=codec.name,
                   codec_revision=codec.revision, codec_resolved=resolved, target_bpppb=rate, seed=seed,
                   mask_sha256=mask_sha256(scene.mask))
    return Task(scene, digest, spec, float(rate), seed, key, resolved, codec.revision, needs_main_process(codec),
                matched_to)


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
                for rate in rates:
                    tasks.append(make_task(scene, digest, spec, rate, s))
    return tasks


def base_record(task: Task) -> dict[str, Any]:
    """The part of a record known before running: what was asked, on what, with which code."""
    scene, cube = task.scene, task.scene.cube
    name = codecs.parse_spec(task.spec)[0]
    try:
        codec = configure(task.spec, task.seed)
        codec_part = {"name": codec.name, "spec": record_spec(task.spec, codec), "params": record_params(codec)}
    except Exception:  # (validated in expand; kept total for a record of a crashed worker)
        codec_part = {"name": name, "spec": task.spec, "params": {}}
    codec_part.update(revision=task.revision, resolved=task.resolved)
    rec = {
        "schema": SCHEMA_VERSION,
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
    }
    if scene.mask is not None:  # only then: records of unmasked scenes keep their old layout
        rec["dataset"].update(mask_sha256=mask_sha256(scene.mask), valid_pixels=scene.valid_pixels)
    if scene.wavelengths is not None:
        rec["dataset"]["wavelengths_nm"] = [round(float(w), 4) for w in scene.wavelengths]
    rec.update({
        "codec": codec_part,
        "seed": task.seed,
        "target_bpppb": task.rate,
        "versions": versions(),
        "hsibench_commit": git_commit(),
    })
    if task.matched_to:
        rec["matched_to"] = task.matched_to
    return rec


def failure(exc: BaseException) -> dict[str, Any]:
    """The fields of a failed record: the error's type and message (and traceback if unexpected)."""
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


def check_resolved_here(task: Task, codec: codecs.Codec) -> None:
    """Refuse a task this process would run differently from where it was keyed.

    The key hashes the codec's revision and its configuration as resolved where the task list
    was made (the driver).  A worker elsewhere (a GPU node for ``device=auto``, a machine with
    other cores for ``threads=auto``, older or newer code) must not record its numbers under it.
    """
    here = codec.resolved()
    if task.key and codec.revision != task.revision:
        raise ResolvedElsewhereError(
            f"this process has {codec.name} revision {codec.revision}, the task was keyed with revision "
            f"{task.revision}; run the same hsibench version where the tasks are listed and where they run")
    if task.resolved and here != task.resolved:
        diff = sorted(k for k in set(here) | set(task.resolved) if here.get(k) != task.resolved.get(k))
        raise ResolvedElsewhereError(
            "this process would run the codec differently from where the task was keyed ("
            + ", ".join(f"{k}: {task.resolved.get(k)!r} there, {here.get(k)!r} here" for k in diff)
            + "); fix it in the spec (e.g. device=, threads=) or run the task where it was listed"
        )


RUNNING_ELSEWHERE = "running_elsewhere"  # the status of a task another process runs or has just recorded


def execute(task: Task, *, warmup: bool = True) -> tuple[dict, bytes | None]:
    """Run one task: its record and, on success, the stream bytes (a failure is a record, not an exception).

    With ``warmup`` (default) the codec's first use in this process is a small untimed warm-up
    (:func:`warm_up`); the record says ``warmed_up``.  A process that would resolve the codec
    differently from the task's key (another device, other cores, another codec revision)
    fails the task, before any warm-up, instead of recording numbers under a key that does not
    describe them (:func:`check_resolved_here`).  With a ``checkpoint_dir`` (the runner's), the
    task is first claimed (:mod:`hsibench.claims`): when another process sharing the run folder
    holds it, or has recorded it since this one listed its tasks, the record's status is
    ``running_elsewhere`` and the runner stores nothing.
    """
    with claims.claimed(task.checkpoint_dir) as mine:
        if not mine or (task.recorded_in and RecordStore(task.recorded_in).is_done(task.key)):
            record = base_record(task)
            record["status"] = RUNNING_ELSEWHERE
            return record, None
        return _run(task, warmup)


def _run(task: Task, warmup: bool) -> tuple[dict, bytes | None]:
    """:func:`execute` of a task this process holds."""
    cube = task.scene.cube
    record = base_record(task)
    try:
        codec = configure(task.spec, task.seed)
        check_resolved_here(task, codec)
        if warmup:
            warm_up(task)
            record["warmed_up"] = True
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            with checkpoints(task.checkpoint_dir):
                data = codec.encode(cube, bpppb=task.rate)
            cuda_sync()
            t1 = time.perf_counter()
            decoder = configure(codec.name, task.seed)  # fresh instance: bytes alone (+ a secret)
            decoded = decoder.decode(data, **codec.secrets())
            cuda_sync()
            t2 = time.perf_counter()
        rate = metrics.bpppb(len(data), cube.shape)
        record.update(
            status="ok",
            bytes=len(data),
            bpppb=rate,
            cr=metrics.compression_ratio(rate, task.scene.native_bits),
            metrics=metrics.evaluate(cube, decoded, native_bits=task.scene.native_bits, with_band_psnr=True,
                                     mask=task.scene.mask),
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
        record.update(failure(exc))
        return record, None


def shard(tasks: Sequence[Task], index: int, count: int) -> list[Task]:
    """The ``index``-th (1-based) of ``count`` deterministic round-robin slices of a task list.

    Slices of the same list are disjoint and together cover it exactly once, whatever is
    already recorded, so array jobs (``--shard I/N``) need no coordination.
    """
    if not (isinstance(count, int) and isinstance(index, int) and 1 <= index <= count):
        raise InvalidParameterError(f"a shard is I/N with 1 <= I <= N; got {index}/{count}")
    return list(tasks[index - 1 :: count])
