"""Claims: a task being run by one process is not started again by another sharing the run folder.

Before a task runs, the process that runs it creates ``claim.json`` (host, pid, time) in the
task's folder ``<run>/checkpoints/<key>/`` (the folder a training checkpoints into) with an
exclusive create.  Another driver that reaches the same task while the claim is *live* leaves it
to its owner; a claim is live while its process runs (same host: the pid exists and its process
started before the claim was written, so a reused pid does not keep it alive) or, for a process
on another host, while the folder was written in the last :data:`STALE_S` seconds (a training's
checkpoints refresh it).  A dead owner's claim is taken over, and the training resumes
from the owner's last checkpoint.  So several plain ``hsibench run`` commands into one folder
share the work without ``--shard``, and a killed one costs nothing but its unsaved epochs.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CLAIM = "claim.json"
STALE_S = 900.0  # a claim from another host whose folder was not written for this long is dead


def _owner(folder: Path) -> dict | None:
    try:
        return json.loads((folder / CLAIM).read_text())
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (Linux ``/proc``), or None where
    unknown.  A claim's owner started before it wrote the claim; a process that started later
    only reuses the pid of a dead owner."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None


def _newest_write(folder: Path) -> float:
    try:
        return max((p.stat().st_mtime for p in folder.iterdir()), default=0.0)
    except OSError:
        return 0.0


def holder(folder: str | os.PathLike) -> dict | None:
    """The live claim on ``folder`` of *another* process (its host, pid, time), or None."""
    folder = Path(folder)
    owner = _owner(folder)
    if not isinstance(owner, dict):
        return None
    host, pid = owner.get("host"), owner.get("pid")
    if host == socket.gethostname() and isinstance(pid, int):
        if pid == os.getpid() or not _pid_alive(pid):
            return None
        started, claimed_at = _started_at(pid), owner.get("time")
        reused = started is not None and isinstance(claimed_at, (int, float)) and started > claimed_at + 2.0
        return None if reused else owner
    return owner if time.time() - _newest_write(folder) < STALE_S else None


def acquire(folder: str | os.PathLike) -> bool:
    """Claim ``folder`` for this process; False when another process holds a live claim on it."""
    folder = Path(folder)
    mine = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if holder(folder) is not None:
            return False
        tmp = folder / f"{CLAIM}.{os.getpid()}"  # a dead owner's claim: take it over
        tmp.write_text(mine)
        os.replace(tmp, folder / CLAIM)
        owner = _owner(folder)  # two takers at once: the last writer wins, the other backs off
        return isinstance(owner, dict) and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname()
    except OSError:  # an unwritable run folder (a remote worker): run without a claim
        return True
    with os.fdopen(fd, "w") as f:
        f.write(mine)
    return True


def release(folder: str | os.PathLike) -> None:
    """Drop this process's claim on ``folder`` (and the folder when nothing else is left in it)."""
    folder = Path(folder)
    owner = _owner(folder)
    if isinstance(owner, dict) and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        try:
            (folder / CLAIM).unlink()
            folder.rmdir()
        except OSError:
            pass


@contextmanager
def claimed(folder: str | os.PathLike | None) -> Iterator[bool]:
    """``with claimed(folder) as mine:`` -- ``mine`` is False when another process runs the task
    (no folder: always True, nothing written); the claim is released when the block ends."""
    if folder is None:
        yield True
        return
    mine = acquire(folder)
    try:
        yield mine
    finally:
        if mine:
            release(folder)
