"""Runs: turn datasets x codecs x rates into tasks, hand them to an executor, record every result.

The driver (this module) is the only writer of a run directory: each successful task's stream
goes to ``streams/<key>.hsib`` (atomically, before its record), then its record is appended to
``records.jsonl``; every invocation appends its environment to ``env.jsonl`` and its command to
``config.json``.  Tasks already recorded as successes are skipped (resume) unless ``force``;
failures are recorded and retried by the next run.  Several drivers may share one run directory
(``--shard I/N`` slices, or the same command started several times): appends are locked, never
rewrites, and the process that runs a task claims it in ``checkpoints/<key>/`` (:mod:`.claims`),
so another driver leaves it alone -- and skips it too if it was recorded after that driver listed
its tasks.  A trained codec checkpoints a long training in the same folder, so a killed run
resumes that task from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from . import codecs, datasets, presets
from .environment import environment
from .errors import InvalidParameterError
from .executors import Executor, LocalExecutor
from .results import ENV_FILE, RecordStore, append_line, atomic_write, latest, locked
from .tasks import (  # noqa: F401  (re-exported: the runner's public vocabulary)
    RUNNING_ELSEWHERE, WITHHELD, Task, configure, cube_sha256, execute, expand, expand_sweep, expand_sweeps, make_task, parse_seeds,
    record_spec, shard, warm_up,
)

DEFAULT_RATES = (0.1, 0.25, 0.5, 1.0, 2.0)
DEFAULT_DATASET = "synthetic"
STREAMS_DIR = "streams"
CHECKPOINTS = "checkpoints"  # <run>/checkpoints/<key>/: a running training's state, removed when it ends
STREAM_SUFFIX = ".hsib"


@dataclass
class RunSummary:
    """What a run did: where its records are, and how many tasks ran, were skipped, failed."""

    out: Path
    ran: int = 0
    skipped: int = 0
    elsewhere: int = 0  # tasks another process sharing the run folder was running (or had just recorded)
    failed: list[dict] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # every task of the command, run or already recorded


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


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/3"`` -> (2, 3): the second of three slices of the task list (``--shard``)."""
    if text is None:
        return None
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise InvalidParameterError(f"--shard takes I/N, e.g. 1/4; got {text!r}") from None
    if not 1 <= i <= n:
        raise InvalidParameterError(f"--shard I/N needs 1 <= I <= N; got {text!r}")
    return i, n


def match_tasks(scenes: Sequence[datasets.Scene], specs: Sequence[str], records: Sequence[dict], codec: str,
                seed: int) -> list[Task]:
    """Tasks that run every spec not of ``codec`` at the exact achieved rate of each ``codec`` record.

    ``bpppb = 8 * bytes / voxels`` of a successful ``codec`` record on one of ``scenes`` becomes
    the target of every other spec, so embedded codecs land on exactly the same bytes and the
    others within their own tolerance below them.  Tasks are ordinary (keyed, resumable); equal
    targets from several records give one task.
    """
    by_sha = {cube_sha256(s.cube): s for s in scenes}
    others = [s for s in expand_sweeps(specs) if codecs.parse_spec(s)[0] != codec]
    out: dict[str, Task] = {}
    for rec in records:
        if rec.get("status") != "ok" or rec["codec"]["name"] != codec:
            continue
        scene = by_sha.get(rec["dataset"]["sha256"])
        if scene is None:
            continue
        rate = 8 * rec["bytes"] / scene.cube.size
        for spec in others:
            task = make_task(scene, rec["dataset"]["sha256"], spec, rate, seed, matched_to=rec["key"])
            out.setdefault(task.key, task)
    return list(out.values())


@dataclass
class Plan:
    """The task list of a run, before anything runs: what :func:`plan` returns (``--dry-run``).

    ``groups`` are (codec specs, rates) pairs (one without a preset); ``tasks`` the main tasks
    in run order (match-rate tasks depend on the records and are only known after them);
    ``done`` the keys of ``out`` already recorded as successes.
    """

    out: Path
    scenes: list
    groups: list
    seeds: list[int]
    tasks: list[Task]
    done: set[str]
    match_rate: str | None = None
    all_keys: set[str] = field(default_factory=set)  # every main task's key, before sharding

    def pending(self) -> list[Task]:
        """The tasks a run would execute now (not yet recorded as successes)."""
        return [t for t in self.tasks if t.key not in self.done]


def plan(
    *,
    dataset_specs: Sequence[str] = (DEFAULT_DATASET,),
    codec_specs: Sequence[str] | None = None,
    rates: Sequence[float] = DEFAULT_RATES,
    out: str | Path | None = None,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    data_dir: str | Path | None = None,
    download: bool = False,
    preset: str | None = None,
    match_rate: str | None = None,
    shard_of: tuple[int, int] | None = None,
) -> Plan:
    """Load the scenes and list a run's tasks and which are already recorded, writing nothing.

    Every spec, rate and seed is validated here, so a bad command fails before any work.
    """
    if preset is not None:
        if codec_specs:
            raise InvalidParameterError("--preset chooses the codecs and rates itself; leave out --codecs")
        chosen = presets.get(preset)
        groups = [(list(g.codecs), list(g.rates)) for g in chosen.groups]
        match_rate = match_rate or chosen.match_rate
    else:
        if not rates:
            raise InvalidParameterError("no rates given")
        groups = [(expand_sweeps(codec_specs) if codec_specs else codecs.default_names(), list(rates))]
    if match_rate is not None:
        codecs.codec_class(match_rate)  # an unknown codec is an error now
    seed_list = [int(s) for s in seeds] if seeds else [int(seed)]
    out = Path(out) if out is not None else default_out(dataset_specs)
    scenes = [datasets.load(s, data_dir, download=download) for s in dataset_specs]
    tasks: dict[str, Task] = {}
    for specs, group_rates in groups:  # group-major: a preset's cheap groups finish first
        for task in expand(scenes, specs, group_rates, seed_list):
            tasks.setdefault(task.key, task)
    todo_all = list(tasks.values())
    if shard_of is not None:
        todo_all = shard(todo_all, *shard_of)
    done = RecordStore(out).done_keys()
    return Plan(out, scenes, groups, seed_list, todo_all, done, match_rate, set(tasks))


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
    preset: str | None = None,
    match_rate: str | None = None,
    shard_of: tuple[int, int] | None = None,
    executor: Executor | None = None,
) -> RunSummary:
    """Run every dataset x codec x rate (x seed) task, appending one record per task to ``out``.

    ``seeds`` (when given, instead of ``seed``) runs stochastic codecs once per seed.  ``preset``
    names a study (:mod:`hsibench.presets`) that replaces ``codec_specs`` and ``rates``.
    ``match_rate`` (a codec name, e.g. ``gnn``) then runs every other spec at the exact achieved
    rate of each of that codec's records.  ``shard_of=(i, n)`` runs only the i-th of n
    deterministic slices of the task list (array jobs sharing ``out``).  ``executor`` decides
    where tasks run (default: :class:`LocalExecutor` with ``jobs``; the caller closes an executor it
    passes, e.g. a :class:`~hsibench.executors.dask_executor.DaskExecutor`).  ``warmup`` runs each codec
    once, untimed, on a small crop first (:func:`warm_up`).  The summary's ``keys`` are the
    keys of every task of this command (run now or already recorded).
    """
    p = plan(dataset_specs=dataset_specs, codec_specs=codec_specs, rates=rates, out=out, seed=seed, seeds=seeds,
             data_dir=data_dir, download=download, preset=preset, match_rate=match_rate, shard_of=shard_of)
    out, scenes, groups, seed_list, todo_all, match_rate = p.out, p.scenes, p.groups, p.seeds, p.tasks, p.match_rate
    tasks = p.all_keys
    executor = executor or LocalExecutor(jobs)

    store = RecordStore(out)
    config = {
        "datasets": list(dataset_specs), "codecs": [c for g in groups for c in g[0]],
        "rates": sorted({float(r) for g in groups for r in g[1]}), "seed": seed_list[0], "seeds": seed_list,
        "jobs": executor.jobs, "executor": executor.name, "data_dir": str(data_dir) if data_dir else None,
        "preset": preset, "match_rate": match_rate, "shard": list(shard_of) if shard_of else None,
    }
    out.mkdir(parents=True, exist_ok=True)
    with locked(out / "config.json"):
        atomic_write(out / "config.json", json.dumps(_with_history(out / "config.json", config), indent=2).encode())
    entry = dict(time=datetime.now(timezone.utc).isoformat(timespec="seconds"), pid=os.getpid(), argv=sys.argv[1:],
                 config=config, **environment())
    append_line(out / ENV_FILE, (json.dumps(entry, sort_keys=True) + "\n").encode())

    summary = RunSummary(out=out, keys=[t.key for t in todo_all])
    from tqdm.auto import tqdm

    bar = tqdm(total=0, desc="hsibench", unit="task", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def deliver(task: Task, rec: dict, data: bytes | None) -> None:
        if rec.get("status") == RUNNING_ELSEWHERE:  # another driver sharing `out` has it
            summary.elsewhere += 1
            bar.update(1)
            return
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

    def run_phase(phase: list[Task]) -> None:
        done = set() if force else store.done_keys()
        todo = [replace(t, checkpoint_dir=str(out / CHECKPOINTS / t.key), recorded_in=None if force else str(out))
                for t in phase if t.key not in done]
        summary.skipped += len(phase) - len(todo)
        summary.keys.extend(t.key for t in phase if t.key not in tasks)
        bar.total += len(todo)
        bar.refresh()
        executor.run(todo, deliver, warmup=warmup, status=bar.set_postfix_str)

    try:
        run_phase(todo_all)
        if match_rate is not None:
            all_specs = [c for g in groups for c in g[0]]
            matched = match_tasks(scenes, all_specs, latest(store.read()), match_rate, seed_list[0])
            matched = [t for t in matched if t.key not in tasks]  # already in the main list
            if shard_of is not None:
                matched = shard(matched, *shard_of)
            run_phase(matched)
    finally:
        bar.close()
    return summary
