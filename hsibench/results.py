"""Records of a run: the schema, an atomic JSON-lines store, and a tidy pandas view.

One record per task (dataset x codec x rate x seed), keyed by a hash of the task's resolved
inputs (:func:`task_key`) so a re-run can skip what is done, and never what changed.  Records
are appended, one whole line per ``write`` under an exclusive lock, so several processes (runs
sharded over array jobs, concurrent ``hsibench run`` commands) can share one run directory
without losing or tearing a record; other files (config, streams) are replaced atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import ResultsError

#: version of the record layout; part of every task key (2: keys hash the resolved configuration
#: and the codec's revision; records carry the git commit and the codec's revision)
SCHEMA_VERSION = 2
RECORDS_FILE = "records.jsonl"
ENV_FILE = "env.jsonl"  # one environment entry per invocation into the run directory
LOCK_SUFFIX = ".lock"

#: flat columns of :func:`to_frame`, in display order
COLUMNS = [
    "dataset", "codec", "spec", "seed", "status", "target_bpppb", "bpppb", "bytes", "cr",
    "mse", "psnr", "psnr_native", "snr", "sam_deg", "ssim", "max_abs_error",
    "encode_s", "decode_s", "peak_rss_mb", "peak_rss_delta_mb", "device", "epochs", "schedule", "time_budget_stop",
    "revision", "commit", "error", "scored_voxels",
]


def task_key(*, dataset_sha256: str, dataset_name: str, codec_name: str, codec_revision: int,
             codec_resolved: dict, target_bpppb: float, seed: int, mask_sha256: str | None = None) -> str:
    """Stable hash of everything that determines a task's result.

    ``codec_resolved`` is the configuration as the codec will run it (``Codec.resolved()``:
    ``auto`` decided into a device, a schedule, epochs, threads), so a rerun on another device
    or with another schedule is a new task; ``codec_revision`` and the record schema version make
    records of older code stale.  An identical rerun gives the same key and is skipped.
    ``mask_sha256`` (a scene's mask of valid pixels, which the metrics depend on) enters the
    hash only when there is a mask, so keys of unmasked scenes are those of earlier versions.
    """
    fields = {
        "schema": SCHEMA_VERSION,
        "dataset": [dataset_name, dataset_sha256],
        "codec": [codec_name, int(codec_revision), codec_resolved],
        "rate": round(float(target_bpppb), 12),
        "seed": int(seed),
    }
    if mask_sha256 is not None:
        fields["mask"] = mask_sha256
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats by strings so the file stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, str) and value in {"inf", "-inf", "nan"}:
        return float(value)
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file ordinary permissions
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock (``flock``) on ``path`` + ``.lock`` for the duration of the block.

    Serialises the writers of one run directory, whatever process (or host, on file systems
    whose ``flock`` spans hosts) they run in.
    """
    lock = path.with_name(path.name + LOCK_SUFFIX)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def append_line(path: Path, line: bytes) -> None:
    """Append one complete line to ``path`` under its lock: one ``write`` with O_APPEND, then fsync.

    If an earlier writer was killed in the middle of a line, the new line starts on a fresh
    line, so only that torn line is lost (readers skip it).
    """
    with locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        line = b"\n" + line
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


class RecordStore:
    """The JSON-lines records of one run directory (or a bare ``.jsonl`` file); safe for many writers."""

    def __init__(self, path: str | Path):
        path = Path(path)
        self.path = path / RECORDS_FILE if path.suffix != ".jsonl" else path

    def read(self) -> list[dict]:
        """All records, in the order they were appended; a damaged line is reported and skipped.

        A last line without its newline is a record being written right now by another
        process (or torn by a killed one): it is skipped silently.
        """
        if not self.path.exists():
            return []
        try:
            with locked(self.path, shared=True):
                raw = self.path.read_bytes()
        except OSError as exc:
            raise ResultsError(f"cannot read records {self.path}: {exc}") from None
        return [_from_json(r) for r in _parse_lines(raw, self.path)]

    def append(self, record: dict) -> None:
        """Add one record: one whole line appended under the store's lock (never a rewrite)."""
        line = json.dumps(_jsonable(record), sort_keys=True, allow_nan=False) + "\n"
        try:
            append_line(self.path, line.encode("utf-8"))
        except OSError as exc:
            raise ResultsError(f"cannot write records {self.path}: {exc}") from None

    def done_keys(self) -> set[str]:
        """Keys of the tasks that succeeded (failures are re-run, never cached)."""
        return {r["key"] for r in self.read() if r.get("status") == "ok"}

    def is_done(self, key: str) -> bool:
        """Whether ``key`` succeeded, reading only what was appended since this process last asked
        (another driver may have recorded it since this one listed its tasks)."""
        ino, offset, keys = _DONE_SEEN.get(self.path, (None, 0, set()))
        try:
            with locked(self.path, shared=True), open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_ino != ino or st.st_size < offset:  # another file now: read it from the start
                    ino, offset, keys = st.st_ino, 0, set()
                f.seek(offset)
                new = f.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ResultsError(f"cannot read records {self.path}: {exc}") from None
        whole = new[: new.rfind(b"\n") + 1]  # a line still being written is read next time
        keys.update(r["key"] for r in _parse_lines(whole)
                    if isinstance(r, dict) and r.get("status") == "ok" and isinstance(r.get("key"), str))
        _DONE_SEEN[self.path] = (ino, offset + len(whole), keys)
        return key in keys


def _parse_lines(raw: bytes, path: Path | None = None) -> list:
    """The JSON values of the lines of ``raw``; a damaged line is skipped (with a warning naming
    ``path`` when given), an unterminated last line silently: it is being written right now."""
    out = []
    lines = raw.split(b"\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line.decode("utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError):
            if path is not None and n < len(lines):  # not the unterminated tail
                warnings.warn(f"{path}:{n}: skipping a damaged record line", stacklevel=3)
    return out


_DONE_SEEN: dict[Path, tuple[int | None, int, set[str]]] = {}  # RecordStore.is_done: inode, bytes read, keys seen


def load_records(run: str | Path) -> list[dict]:
    """Records of a run directory or ``.jsonl`` file; an error if there is none."""
    store = RecordStore(run)
    if not store.path.exists():
        raise ResultsError(f"no records at {store.path}; run `hsibench run --out {run}` first")
    return store.read()


def stale(record: dict) -> bool:
    """Whether a record was made by an older revision of a codec registered here (or before revisions existed).

    Its numbers describe bytes the codec no longer writes; reports leave it out and say how many
    they left out.  Records of codecs not registered here (a plugin that is not installed) are
    kept: nothing says they are stale.
    """
    from . import codecs

    name = (record.get("codec") or {}).get("name")
    if name not in codecs.names():
        return False
    return record.get("codec", {}).get("revision") != codecs.codec_class(name).revision


def _same_result(record: dict) -> tuple | None:
    """What makes two successful records one result though their keys differ (a parameter added
    to a codec, with a default that keeps its bytes, changes the resolved configuration and so
    the key): codec, revision, spec as written, scene, seed, target rate, bytes and PSNR (to 1e-9 dB)."""
    c, d = record.get("codec") or {}, record.get("dataset") or {}
    if record.get("status") != "ok" or not c.get("name") or not d.get("sha256") or record.get("bytes") is None:
        return None
    psnr = (record.get("metrics") or {}).get("psnr")
    return (c.get("name"), c.get("revision"), c.get("spec"), d.get("sha256"), record.get("seed"),
            record.get("target_bpppb"), record.get("bytes"),
            round(psnr, 9) if isinstance(psnr, float) else psnr)  # summation order moves the last digits


def latest(records: Iterable[dict], *, current: bool = True) -> list[dict]:
    """One record per task key: the newest (a re-run with --force supersedes the old result);
    and one record per result (:func:`_same_result`): the newest.

    With ``current`` (the default) records of older codec revisions (:func:`stale`) are left
    out, so a table never mixes the bytes of two versions of a codec.
    """
    by_key: dict[str, dict] = {}
    for r in records:
        by_key[r["key"]] = r
    same = {key: _same_result(r) for key, r in by_key.items()}
    newest = {s: r for s, r in zip(same.values(), by_key.values()) if s is not None}
    return [r for key, r in by_key.items()
            if (same[key] is None or newest[same[key]] is r) and not (current and stale(r))]


def stale_count(records: Iterable[dict]) -> int:
    """How many distinct tasks' newest records are of an older codec revision."""
    return sum(stale(r) for r in latest(records, current=False))


def flatten(record: dict) -> dict:
    """One record as a flat row with the :data:`COLUMNS` (missing values as None)."""
    m = record.get("metrics") or {}
    info = record.get("encode_info") or {}
    peak = record.get("peak_rss_bytes")
    row = {
        "dataset": record["dataset"]["name"],
        "codec": record["codec"]["name"],
        "spec": record["codec"]["spec"],
        "seed": record.get("seed"),
        "status": record.get("status"),
        "target_bpppb": record.get("target_bpppb"),
        "bpppb": record.get("bpppb"),
        "bytes": record.get("bytes"),
        "cr": record.get("cr"),
        "encode_s": record.get("encode_s"),
        "decode_s": record.get("decode_s"),
        "peak_rss_mb": peak / 2**20 if peak is not None else None,
        # the growth of the process's resident memory during the task: the codec's own share
        "peak_rss_delta_mb": record["peak_rss_delta_bytes"] / 2**20 if record.get("peak_rss_delta_bytes") is not None else None,
        "device": record.get("device"),
        # trained codecs: main-phase epochs that ran, the schedule policy, whether a time budget cut training
        "epochs": (info.get("epochs_run") or {}).get("main"),
        "schedule": (info.get("schedule") or {}).get("policy"),
        "time_budget_stop": info.get("stopped_by_time_budget"),
        "revision": (record.get("codec") or {}).get("revision"),
        "commit": record.get("hsibench_commit"),
        "error": (record.get("error") or {}).get("message"),
    }
    for name in ("mse", "psnr", "psnr_native", "snr", "sam_deg", "ssim", "max_abs_error"):
        row[name] = m.get(name)
    # voxels the metrics scored: the valid pixels x bands (every voxel without a mask; records made
    # before masks existed scored every voxel of the cube)
    shape = record["dataset"].get("shape")
    row["scored_voxels"] = m.get("scored_voxels", math.prod(shape) if shape and m else None)
    return row


def to_frame(records: Iterable[dict]):
    """A tidy pandas DataFrame, one row per (latest) record, columns as :data:`COLUMNS`."""
    import pandas as pd

    rows = [flatten(r) for r in latest(records)]
    return pd.DataFrame(rows, columns=COLUMNS)
